// frugal's own LSTM, GRU and RNN kernel (own_rnn_kernel.cpp, loops in rnn_loops.h).
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/recurrent.h"

namespace frugal::kernels::cpu {

// The own kernel for an LSTM, GRU or RNN node, or null where it does not run here (no
// AVX-512, or FRUGAL_NO_OWN_RNN=1: oneDNN's recurrent primitive then, rnn_kernels.cpp).
std::unique_ptr<kernels::Kernel> make_own_recurrent(const Build& b, ops::recurrent::Cell cell);

}  // namespace frugal::kernels::cpu
