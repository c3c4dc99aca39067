// `frugal hw verify`: the generated RTL simulated by Verilator against frugal's emulation.
// The testbench is a small C++ main around the Verilated model that reads input vectors from
// a file and writes the outputs; frugal writes the vectors, runs it, and compares every
// output with reference_output. Exhaustive when the data inputs span at most 2^24 codes,
// otherwise random vectors plus edge cases (zeros, subnormal and normal extremes, one, max,
// inf, NaN and their neighbours; for from-fp32 the ties between neighbouring values).
#pragma once

#include <cstdint>
#include <string>

#include "frugal/hw/operator.h"

namespace frugal::hw {

struct VerifyOptions {
  uint64_t random_vectors = 10'000'000;  // when not exhaustive
  uint64_t edge_vectors = 100'000;       // when not exhaustive
  uint64_t seed = 1;
  int64_t inject_fault_at = -1;  // flips bit 0 of the RTL's output for that vector (tests)
  bool keep_dir = false;         // keep the testbench directory (its path is reported)
};

struct VerifyResult {
  bool passed = false;
  bool exhaustive = false;
  uint64_t vectors = 0;  // compared
  uint64_t random = 0, edge = 0;
  std::string mismatch;  // first failing inputs with RTL and emulator outputs in hex
  double compile_seconds = 0, simulate_seconds = 0;
  std::string dir;  // testbench directory when kept
};

// Throws UserError when verilator is missing or the testbench does not build or run.
VerifyResult verify(const OperatorSpec& spec, const VerifyOptions& options = {});

// The testbench main for the Verilated top (exposed for tests).
std::string testbench_source(const OperatorSpec& spec, int64_t inject_fault_at);

}  // namespace frugal::hw
