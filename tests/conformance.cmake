# ONNX's own operator test cases, on every backend that claims them.
add_test(NAME conformance_ref COMMAND frugal-conformance --backend ref)
set_tests_properties(conformance_ref PROPERTIES LABELS conformance TIMEOUT 900)
# The cpu backend first, ref for what it declines: every attempted case must pass.
add_test(NAME conformance_cpu COMMAND frugal-conformance --backend cpu,ref)
set_tests_properties(conformance_cpu PROPERTIES LABELS conformance TIMEOUT 900)
