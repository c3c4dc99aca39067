# ONNX's own operator test cases, on every backend that claims them.
add_test(NAME conformance_ref COMMAND frugal-conformance --backend ref)
set_tests_properties(conformance_ref PROPERTIES LABELS conformance TIMEOUT 900)
