// The emulator's answer for one input vector of an operator: numeric::round_value of the
// exact result (exact sums via round-to-odd in double, exact dot products on 128-bit
// integers), encoded in the output format. This is what `frugal hw verify` holds the RTL to.
#pragma once

#include <cstdint>
#include <span>

#include "frugal/hw/operator.h"

namespace frugal::hw {

// A port value of up to 128 bits.
__extension__ typedef unsigned __int128 Word;

// inputs: data ports in port order (without rnd); counter: the vector's index, which selects
// the stochastic rounding's random word (see random_input).
Word reference_output(const OperatorSpec& spec, std::span<const Word> inputs, uint64_t counter);

// The value of the rnd port for vector `counter`: the R-bit word numeric's stochastic
// rounding draws (Philox(seed) at that counter).
uint32_t random_input(const OperatorSpec& spec, uint64_t counter);

// RTL output equals the reference (any NaN code equals any NaN code).
bool outputs_match(const OperatorSpec& spec, Word rtl, Word ref);

}  // namespace frugal::hw
