// Low-rank factorization: each Gemm/MatMul/Conv weight, seen as the rows x cols matrix of
// compress/prune.h (outputs x reduction), is replaced by its truncated SVD W ~ L * R with
// L = U_r sqrt(S_r) (rows x r) and R = sqrt(S_r) V_r^T (r x cols), i.e. two layers:
//   Gemm/MatMul: x -> [K -> r] -> [r -> N]                  (Denton et al., NIPS 2014, sec. 3.2)
//   Conv:        x -> KxK conv with r filters -> 1x1 conv   ("channel decomposition": Zhang,
//                Zou, He and Sun, "Accelerating Very Deep Convolutional Networks for
//                Classification and Detection", TPAMI 2016, the SVD of the [O, C*k*k] filter
//                matrix; the first layer keeps the original strides, pads and dilations)
// By Eckart-Young the Frobenius error of the factored weight is sqrt(sum of the discarded
// sigma_i^2), the least any rank-r matrix reaches. The bias (and any fused post-op) moves to
// the second layer; at full rank the factored graph computes what the original computes.
// With conv=tucker, KxK convolutions are split by Tucker-2 instead (compress/tucker.h): a
// 1x1 / KxK / 1x1 chain. Grouped convolutions are left alone. docs/compression.md
// ("Low-rank factorization").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/ir/graph.h"

namespace frugal::compress {

// --lowrank SPEC:  RANK[:conv=svd|tucker][:hooi=N]
//   RANK: RATIO (0 < RATIO <= 1: rank = round(RATIO * min(rows, cols)), at least 1)
//       | rank=R (at most min(rows, cols)) | energy=E (the smallest rank keeping the
//         fraction E of sum sigma_i^2, 0 < E <= 1)
//   conv=tucker: KxK convolutions by Tucker-2, RANK applied to each of the two modes (output
//     and input channels, the singular values of each mode's unfolding); hooi=N refines the
//     HOSVD factors by N HOOI iterations (0 to 100, default 0).
struct LowRankSpec {
  enum class Kind { kRatio, kRank, kEnergy };
  enum class Conv { kSvd, kTucker };
  Kind kind = Kind::kRatio;
  Conv conv = Conv::kSvd;
  int hooi = 0;
  double value = 1;                  // ratio or energy
  int64_t rank = 0;                  // rank=R
  std::vector<std::string> exclude;  // names, globs, first, last (compress/prune.h)
  // Leave a layer dense when its factors would hold as many weights as it does.
  bool only_if_smaller = true;

  int64_t rank_for(const std::vector<double>& singular) const;
  std::string str() const;
};
// UserError "--lowrank 'TEXT': reason".
LowRankSpec parse_lowrank_spec(const std::string& text, const std::string& origin = "--lowrank");

// Thin SVD of a row-major rows x cols matrix (Eigen's BDCSVD, in double): k = min(rows,
// cols) singular values, descending; u rows x k and v cols x k, both row-major.
struct ThinSvd {
  std::vector<double> singular, u, v;
  int64_t k = 0;
};
ThinSvd thin_svd(const std::vector<double>& matrix, int64_t rows, int64_t cols);

// Truncated SVD of a row-major rows x cols matrix (computed in double).
struct TruncatedSvd {
  std::vector<double> singular;  // all min(rows, cols), descending
  int64_t rank = 0;
  std::vector<float> left;   // rows x rank, U_r sqrt(S_r)
  std::vector<float> right;  // rank x cols, sqrt(S_r) V_r^T
};
TruncatedSvd truncated_svd(const std::vector<float>& matrix, int64_t rows, int64_t cols,
                           const LowRankSpec& spec);

struct LayerLowRank {
  std::string name, op_type;
  std::string method = "svd";  // "svd" or "tucker2"
  // Tucker-2: rank and full_rank are the output-channel mode's, these the input channels'.
  int64_t rank_in = 0, full_rank_in = 0;
  double hosvd_rel_error = 0;  // Tucker-2 before the HOOI iterations
  Shape shape;                 // the original weight
  int64_t rows = 0, cols = 0;
  int64_t rank = 0, full_rank = 0;
  bool factored = false;
  double kept_energy = 1;  // sum of the kept sigma^2 / sum of all
  double rel_error = 0;    // ||W - L R||_F / ||W||_F (SVD: from the discarded singular values)
  int64_t params_before = 0, params_after = 0;  // weights (bias excluded)
  int64_t macs_before = 0, macs_after = 0;      // batch 1
  std::vector<std::string> nodes;               // the nodes that replace it, in order
};

struct LowRankResult {
  ir::Graph graph;
  std::vector<LayerLowRank> layers;  // every candidate layer, factored or not
  std::vector<std::string> notes;    // layers left alone and why
  int64_t params_before = 0, params_after = 0, macs_before = 0, macs_after = 0;
};

// Factors the layers of `graph` (not modified) as `spec` says. Appends {"lowrank": SPEC,
// "layers": {NAME: RANK}} to the "frugal.compress" metadata.
LowRankResult lowrank(const ir::Graph& graph, const LowRankSpec& spec);

nlohmann::json to_json(const LowRankResult& result);

}  // namespace frugal::compress
