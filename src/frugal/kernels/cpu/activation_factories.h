// Factories of the unary activations and PRelu on oneDNN's eltwise and prelu primitives
// (activation_kernels.cpp), and the eltwise builder they share with eltwise_kernels.cpp.
// A header of its own so that adding operators does not recompile every cpu kernel.
#pragma once

#include <memory>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

// oneDNN's eltwise `alg`(alpha, beta) over input 0, in its producer's layout when it has
// one; the result multiplied by `scale` (Selu's gamma) unless it is 1.
std::unique_ptr<kernels::Kernel> eltwise(const Build& b, dnnl::algorithm alg, float alpha,
                                         float beta, float scale = 1.0f);

std::unique_ptr<kernels::Kernel> make_tanh(const Build& b);
std::unique_ptr<kernels::Kernel> make_leaky_relu(const Build& b);
std::unique_ptr<kernels::Kernel> make_elu(const Build& b);
std::unique_ptr<kernels::Kernel> make_selu(const Build& b);
std::unique_ptr<kernels::Kernel> make_softplus(const Build& b);
std::unique_ptr<kernels::Kernel> make_mish(const Build& b);
std::unique_ptr<kernels::Kernel> make_exp(const Build& b);
std::unique_ptr<kernels::Kernel> make_sqrt(const Build& b);
std::unique_ptr<kernels::Kernel> make_abs(const Build& b);
std::unique_ptr<kernels::Kernel> make_neg(const Build& b);
std::unique_ptr<kernels::Kernel> make_pow(const Build& b);
std::unique_ptr<kernels::Kernel> make_reciprocal(const Build& b);
std::unique_ptr<kernels::Kernel> make_prelu(const Build& b);

}  // namespace frugal::kernels::cpu
