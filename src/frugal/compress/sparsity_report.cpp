#include "frugal/compress/sparsity_report.h"

#include <algorithm>
#include <map>

#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/kernels/cpu/sparse_format.h"
#include "frugal/ops/infer.h"

namespace frugal::compress {
namespace {

// Output positions per weight row: numel(output) / rows, at batch 1.
int64_t positions_of(const ir::Graph& g, const ops::GraphInfo& info, const PrunableLayer& l) {
  const ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  auto it = info.values.find(n.outputs.at(0));
  if (it == info.values.end() || !it->second.shape || l.rows == 0) return 0;
  return shape_numel(*it->second.shape) / l.rows;
}

int64_t float_elements(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : g.initializers)
    if (t.dtype() == DType::kF32) n += t.numel();
  return n;
}

int64_t initializer_bytes(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [name, t] : g.initializers) n += static_cast<int64_t>(t.nbytes());
  return n;
}

}  // namespace

SparsityReport sparsity_report(const ir::Graph& before, const ir::Graph& after) {
  namespace kc = kernels::cpu;
  const auto lb = prunable_layers(before), la = prunable_layers(after);
  std::map<std::string, const PrunableLayer*> by_name;
  for (const auto& l : la) by_name[l.name] = &l;
  const ops::GraphInfo ib = ops::infer_graph(before), ia = ops::infer_graph(after);
  SparsityReport r;
  int64_t saved = 0;  // dense bytes - best bytes over the layers
  for (const PrunableLayer& b : lb) {
    auto it = by_name.find(b.name);
    if (it == by_name.end())
      throw InternalError("sparsity_report: layer '" + b.name + "' missing after pruning");
    const PrunableLayer& a = *it->second;
    const Tensor& w = *after.initializer(a.weight);
    LayerSparsity s;
    s.name = b.name;
    s.op_type = b.op_type;
    s.shape_before = b.shape;
    s.shape_after = a.shape;
    s.params_before = b.numel();
    s.params = a.numel();
    const std::vector<float> m = matrix_of(a, w);
    s.nonzeros = kc::count_nonzeros(m.data(), a.rows, a.cols);
    s.sparsity =
        s.params ? 1.0 - static_cast<double>(s.nonzeros) / static_cast<double>(s.params) : 0;
    s.dense_bytes = s.params * 4;
    s.sparse_bytes = -1;
    for (kc::SparseFormat f : {kc::SparseFormat::kCsr, kc::SparseFormat::kBcsr1x16,
                               kc::SparseFormat::kBcsr4x16, kc::SparseFormat::kBitmap}) {
      const int64_t bytes = kc::sparse_bytes(f, m.data(), a.rows, a.cols);
      if (s.sparse_bytes < 0 || bytes < s.sparse_bytes) {
        s.sparse_bytes = bytes;
        s.sparse_format = kc::sparse_format_name(f);
      }
    }
    s.best_bytes = std::min(s.dense_bytes, s.sparse_bytes);
    s.positions = positions_of(after, ia, a);
    s.macs_before = s.params_before * positions_of(before, ib, b);
    s.macs_after = s.nonzeros * s.positions;
    r.params_before += s.params_before;
    r.params += s.params;
    r.nonzeros += s.nonzeros;
    r.dense_bytes += s.dense_bytes;
    r.best_bytes += s.best_bytes;
    r.macs_before += s.macs_before;
    r.macs_after += s.macs_after;
    saved += s.dense_bytes - s.best_bytes;
    r.layers.push_back(std::move(s));
  }
  r.model_params_before = float_elements(before);
  r.model_params = float_elements(after);
  r.model_bytes_before = initializer_bytes(before);
  r.model_bytes_after = initializer_bytes(after) - saved;
  return r;
}

std::vector<float> matrix_of(const PrunableLayer& l, const Tensor& w) {
  const float* d = w.data<float>();
  if (!l.transposed) return {d, d + w.numel()};
  std::vector<float> m(static_cast<size_t>(l.numel()));
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < l.cols; ++c) m[static_cast<size_t>(r * l.cols + c)] = d[l.offset(r, c)];
  return m;
}

std::vector<int64_t> output_positions(const ir::Graph& graph,
                                      const std::vector<PrunableLayer>& layers) {
  const ops::GraphInfo info = ops::infer_graph(graph);
  std::vector<int64_t> out;
  for (const PrunableLayer& l : layers) out.push_back(positions_of(graph, info, l));
  return out;
}

nlohmann::json to_json(const SparsityReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& s : r.layers)
    layers.push_back({{"layer", s.name},
                      {"op", s.op_type},
                      {"shape_before", s.shape_before},
                      {"shape_after", s.shape_after},
                      {"params_before", s.params_before},
                      {"params", s.params},
                      {"nonzeros", s.nonzeros},
                      {"sparsity", s.sparsity},
                      {"dense_bytes", s.dense_bytes},
                      {"sparse_bytes", s.sparse_bytes},
                      {"sparse_format", s.sparse_format},
                      {"best_bytes", s.best_bytes},
                      {"positions", s.positions},
                      {"macs_before", s.macs_before},
                      {"macs_after", s.macs_after}});
  return {{"layers", layers},
          {"totals",
           {{"params_before", r.params_before},
            {"params", r.params},
            {"nonzeros", r.nonzeros},
            {"sparsity", r.sparsity()},
            {"dense_bytes", r.dense_bytes},
            {"best_bytes", r.best_bytes},
            {"macs_before", r.macs_before},
            {"macs_after", r.macs_after},
            {"model_params_before", r.model_params_before},
            {"model_params", r.model_params},
            {"model_bytes_before", r.model_bytes_before},
            {"model_bytes_after", r.model_bytes_after}}}};
}

}  // namespace frugal::compress
