// Tucker-2 decomposition of a convolution kernel W[O, C, k...] over its two channel modes
// (Tucker, "Some mathematical notes on three-mode factor analysis", Psychometrika 1966; for
// CNNs Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and Low Power
// Mobile Applications", ICLR 2016):
//   W ~ G x_O U_out x_C U_in,  U_out O x r_out, U_in C x r_in (orthonormal columns),
//   core G[r_out, r_in, k...],
// i.e. a 1x1 conv C -> r_in (U_in^T), the KxK core conv r_in -> r_out, a 1x1 conv
// r_out -> O (U_out). The factors come from the HOSVD (leading left singular vectors of the
// mode-O and mode-C unfoldings), optionally refined by HOOI (alternating: each factor the
// leading left singular vectors of W projected on the other). With orthonormal factors the
// core is the projection of W and ||W - W~||^2 = ||W||^2 - ||G||^2.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/compress/lowrank.h"
#include "frugal/core/tensor.h"

namespace frugal::compress {

struct Tucker2 {
  int64_t out = 0, in = 0, positions = 0;  // O, C, the product of the kernel sizes
  int64_t rank_out = 0, rank_in = 0;
  std::vector<double> singular_out, singular_in;  // of the mode-O and mode-C unfoldings
  std::vector<double> u_out;                      // O x rank_out, row-major
  std::vector<double> u_in;                       // C x rank_in, row-major
  std::vector<double> core;                       // [rank_out, rank_in, positions]
  double hosvd_rel_error = 0;                     // ||W - W~||_F / ||W||_F of the HOSVD factors
  double rel_error = 0;                           // the same after the HOOI iterations
};

// `weight` holds W[O, C, k...] row-major (`shape`). The ranks of each mode follow `spec`
// (its RANK part applied to each unfolding's singular values); spec.hooi iterations.
Tucker2 tucker2(const std::vector<float>& weight, const Shape& shape, const LowRankSpec& spec);

// W~ = G x_O U_out x_C U_in as [O, C, positions] row-major (tests, error checks).
std::vector<double> reconstruct(const Tucker2& t);

}  // namespace frugal::compress
