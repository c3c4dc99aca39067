# frugal hw: formats the generator cannot express, missing tools, a testbench mismatch.
# Sourced by ../cli_errors.sh (expect, $frugal, $tmp).
expect 1 "unknown operator 'div'" -- "$frugal" hw gen div --format e4m3
expect 1 "--format: bad number format 'e9m9'" -- "$frugal" hw gen mul --format e9m9
expect 1 "binary and ternary values are sign logic" -- "$frugal" hw gen mul --format binary
expect 1 "the Kulisch accumulator port needs" -- "$frugal" hw gen mac --format bf16 --acc kulisch
expect 1 "stochastic rounding is generated for from-fp32 only" -- "$frugal" hw gen add --format e4m3 --round stochastic
expect 1 "--acc: applies to mac and dot only" -- "$frugal" hw gen mul --format e4m3 --acc fp32
expect 1 "install the Debian package verilator" -- env PATH=/nonexistent "$frugal" hw verify mul --format e2m1
expect 1 "--fpga-only: needs --fpga xilinx or ice40" -- "$frugal" hw size mul --format e2m1 --fpga none --fpga-only
expect 1 "install the Debian package yosys" -- env PATH=/nonexistent "$frugal" hw size mul --format e2m1
if command -v verilator >/dev/null; then
  expect 1 "emulator y=0x" -- "$frugal" hw verify mul --format e2m1 --inject-fault 5
fi
