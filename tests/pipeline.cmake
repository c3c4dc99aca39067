# Segments in ONNX Runtime: resnet18 (residuals crossing cuts, BatchNorm folded) cut in 4 by
# frugal partition, each segment run alone in onnxruntime-node and chained, against the whole model within 1e-5 relative. Skipped (77)
# where node or bench/peers/node_modules is absent.
add_test(NAME pipeline_ort_chain
         COMMAND ${CMAKE_SOURCE_DIR}/bench/pipeline/ort_chain_check.sh $<TARGET_FILE:frugal_cli>
                 ${CMAKE_BINARY_DIR}/pipeline-ort-chain resnet18 4 1e-5)
set_tests_properties(pipeline_ort_chain PROPERTIES LABELS pipeline TIMEOUT 300 SKIP_RETURN_CODE 77)
