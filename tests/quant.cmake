# Quantization interchange: frugal's QDQ export runs in ONNX Runtime (onnxruntime-node) with
# the same top-1 on Fashion-MNIST within 0.1 point (a quickly trained LeNet-5, 2000 test
# samples). Skipped (77) where node or bench/peers/node_modules is absent, as in CI.
add_test(NAME quant_ort_qdq
         COMMAND ${CMAKE_SOURCE_DIR}/bench/quant/ort_qdq_check.sh $<TARGET_FILE:frugal_cli> lenet5
                 ${CMAKE_BINARY_DIR}/quant-ort-check int8 2000 0.1)
set_tests_properties(quant_ort_qdq PROPERTIES LABELS quant TIMEOUT 600 SKIP_RETURN_CODE 77)
