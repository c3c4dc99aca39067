# Sourced by ../cli_errors.sh (expect, $frugal, $tmp, $tmp/lenet5.onnx).
# frugal power and the testbed's --power options (docs/power.md, Testbed). Paths with a
# live sensor (no data within the timeout, a silent PowerSensor3, a calibration file for
# other channels, a marker that never arrives) are tested on pseudo-terminals in
# tests/measure/testbed_test.cpp.
printf 'not json' >"$tmp/bad_cal.json"
printf '{"channels": {"0": {"amps_offset": 0.01}}}' >"$tmp/cal.json"
: >"$tmp/plain_file"
expect 1 "serial: cannot open /nonexistent/ttyACM9" -- "$frugal" power monitor serial:/nonexistent/ttyACM9
expect 1 "is not a terminal device" -- "$frugal" power record "powersensor3:$tmp/plain_file" -o "$tmp/trace.csv"
expect 1 "a sensor is serial:PATH[@BAUD] or powersensor3:PATH" -- "$frugal" power monitor rapl
expect 1 "give exactly one of --zero and --known-load W" -- "$frugal" power calibrate serial:/dev/null --channel 0
expect 1 "--power-map 0:gpu: expected CHANNEL=DEVICE items" -- "$frugal" power monitor serial:/dev/null --power-map 0:gpu
expect 1 "bad_cal.json: not JSON" -- "$frugal" power record serial:/dev/null -o "$tmp/trace.csv" --calibration "$tmp/bad_cal.json"
expect 1 "--power powersensor3:: PowerSensor3 device path missing" -- "$frugal" bench "$tmp/lenet5.onnx" --power powersensor3:
expect 1 "--power-map x: expected CHANNEL=DEVICE items" -- "$frugal" bench "$tmp/lenet5.onnx" --power serial:/dev/null --power-map x
[ ! -e "$tmp/trace.csv" ] || { echo "FAIL: power record left a partial trace.csv"; fails=$((fails+1)); }
