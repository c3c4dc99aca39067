#include "frugal/compress/lowrank.h"

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "frugal/compress/prune.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/core/error.h"

namespace frugal::compress {
namespace {

double parse_fraction(const std::string& text, const std::string& what, const std::string& origin) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !(v > 0 && v <= 1))
    throw UserError(origin + " '" + what + "': '" + text + "' must be a number in (0, 1]");
  return v;
}

std::string number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

// Attributes of a factored node that belong to its second layer: the post-ops and anything
// else frugal added (they act on the layer's output).
bool is_output_attr(const std::string& key) {
  return key.rfind("frugal.", 0) == 0;
}

struct Factors {
  Tensor first, second;  // stored weights of the two new nodes
};

// The two weights in the layout of the layer's op: Gemm keeps transB=1 ([r, K] then [N, r]),
// MatMul [K, r] then [r, N], Conv [r, C, k...] then [N, r, 1...].
Factors stored_factors(const PrunableLayer& l, const TruncatedSvd& svd) {
  const int64_t r = svd.rank;
  if (l.op_type == "MatMul") {
    Tensor a(DType::kF32, {l.cols, r}), b(DType::kF32, {r, l.rows});
    for (int64_t i = 0; i < r; ++i) {
      for (int64_t c = 0; c < l.cols; ++c)
        a.data<float>()[c * r + i] = svd.right[static_cast<size_t>(i * l.cols + c)];
      for (int64_t o = 0; o < l.rows; ++o)
        b.data<float>()[i * l.rows + o] = svd.left[static_cast<size_t>(o * r + i)];
    }
    return {a, b};
  }
  Shape first = {r, l.cols}, second = {l.rows, r};
  if (l.op_type == "Conv") {
    first = l.shape;
    first[0] = r;
    second = Shape(l.shape.size(), 1);
    second[0] = l.rows;
    second[1] = r;
  }
  return {Tensor::from_vector(first, svd.right), Tensor::from_vector(second, svd.left)};
}

// Replaces node `l.node` of `g` by the two factored nodes (appended; validate_and_sort puts
// them in place) and returns their names.
std::vector<std::string> replace_node(ir::Graph& g, const PrunableLayer& l, Factors f) {
  const ir::Node orig = g.nodes[static_cast<size_t>(l.node)];
  ir::Node a, b;
  a.name = g.unique_name(orig.name + "_lr1");
  b.name = g.unique_name(orig.name + "_lr2");
  a.op_type = b.op_type = orig.op_type;
  a.domain = b.domain = orig.domain;
  const std::string mid = g.unique_name(orig.outputs[0] + "_lr");
  const std::string wa = g.unique_name(l.weight + "_lr1"), wb = g.unique_name(l.weight + "_lr2");
  a.inputs = {orig.inputs[0], wa};
  a.outputs = {mid};
  b.inputs = orig.inputs;
  b.inputs[0] = mid;
  b.inputs[1] = wb;
  b.outputs = orig.outputs;
  for (const auto& [key, value] : orig.attrs) (is_output_attr(key) ? b : a).attrs[key] = value;
  if (orig.op_type == "Gemm") {
    // op(A) alpha on the first, beta C on the second; both weights stored as [out, in].
    a.attrs.erase("beta");
    a.attrs["transB"] = ir::Attribute{int64_t{1}};
    b.attrs["transB"] = ir::Attribute{int64_t{1}};
    if (orig.has_attr("beta")) b.attrs["beta"] = orig.attrs.at("beta");
  } else if (orig.op_type == "Conv") {
    if (orig.has_attr("kernel_shape"))
      b.attrs["kernel_shape"] = ir::Attribute{std::vector<int64_t>(l.shape.size() - 2, 1)};
  }
  g.initializers.erase(l.weight);
  g.initializers[wa] = std::move(f.first);
  g.initializers[wb] = std::move(f.second);
  g.nodes[static_cast<size_t>(l.node)] = std::move(a);
  g.nodes.push_back(std::move(b));
  return {g.nodes[static_cast<size_t>(l.node)].name, g.nodes.back().name};
}

// Why a layer cannot be factored ("" when it can).
std::string unsupported(const ir::Graph& g, const PrunableLayer& l) {
  const ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  if (n.op_type == "Conv" && n.attr_int("group", 1) != 1) return "a grouped convolution";
  if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) return "Gemm with transA=1";
  if (g.initializer(l.weight)->dtype() != DType::kF32) return "its weight is not float32";
  return "";
}

LayerLowRank factor_layer(ir::Graph& g, const PrunableLayer& l, const LowRankSpec& spec,
                          int64_t positions) {
  LayerLowRank r;
  r.name = l.name;
  r.op_type = l.op_type;
  r.shape = l.shape;
  r.rows = l.rows;
  r.cols = l.cols;
  r.full_rank = std::min(l.rows, l.cols);
  r.params_before = r.params_after = l.numel();
  r.macs_before = r.macs_after = l.numel() * positions;
  const TruncatedSvd svd =
      truncated_svd(matrix_of(l, *g.initializer(l.weight)), l.rows, l.cols, spec);
  double total = 0, kept = 0;
  for (size_t i = 0; i < svd.singular.size(); ++i) {
    const double e = svd.singular[i] * svd.singular[i];
    total += e;
    if (static_cast<int64_t>(i) < svd.rank) kept += e;
  }
  r.rank = svd.rank;
  r.kept_energy = total > 0 ? kept / total : 1;
  r.rel_error = total > 0 ? std::sqrt(std::max(0.0, total - kept) / total) : 0;
  const int64_t params = svd.rank * (l.rows + l.cols);
  if (spec.only_if_smaller && params >= l.numel()) return r;
  r.factored = true;
  r.params_after = params;
  r.macs_after = params * positions;
  r.nodes = replace_node(g, l, stored_factors(l, svd));
  return r;
}

}  // namespace

int64_t LowRankSpec::rank_for(const std::vector<double>& singular) const {
  const auto full = static_cast<int64_t>(singular.size());
  if (kind == Kind::kRank) return std::min(rank, full);
  if (kind == Kind::kRatio)
    return std::clamp(static_cast<int64_t>(std::llround(value * static_cast<double>(full))),
                      int64_t{1}, full);
  double total = 0;
  for (double s : singular) total += s * s;
  double kept = 0;
  for (int64_t r = 0; r < full; ++r) {
    kept += singular[static_cast<size_t>(r)] * singular[static_cast<size_t>(r)];
    // A relative slack so that energy=1 keeps the full rank despite rounding.
    if (kept >= value * total * (1 - 1e-12)) return r + 1;
  }
  return full;
}

std::string LowRankSpec::str() const {
  if (kind == Kind::kRank) return "rank=" + std::to_string(rank);
  if (kind == Kind::kEnergy) return "energy=" + number(value);
  return number(value);
}

LowRankSpec parse_lowrank_spec(const std::string& text, const std::string& origin) {
  LowRankSpec s;
  if (text.rfind("energy=", 0) == 0) {
    s.kind = LowRankSpec::Kind::kEnergy;
    s.value = parse_fraction(text.substr(7), text, origin);
  } else if (text.rfind("rank=", 0) == 0) {
    const std::string r = text.substr(5);
    s.kind = LowRankSpec::Kind::kRank;
    if (r.empty() || r.size() > 9 || r.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(r) < 1)
      throw UserError(origin + " '" + text + "': rank '" + r + "' must be a whole number >= 1");
    s.rank = std::stoll(r);
  } else {
    s.value = parse_fraction(text, text, origin);
  }
  return s;
}

TruncatedSvd truncated_svd(const std::vector<float>& matrix, int64_t rows, int64_t cols,
                           const LowRankSpec& spec) {
  const Eigen::MatrixXd m =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          matrix.data(), rows, cols)
          .cast<double>();
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
  TruncatedSvd out;
  const Eigen::VectorXd& s = svd.singularValues();
  out.singular.assign(s.data(), s.data() + s.size());
  out.rank = spec.rank_for(out.singular);
  const int64_t r = out.rank;
  out.left.resize(static_cast<size_t>(rows * r));
  out.right.resize(static_cast<size_t>(r * cols));
  for (int64_t i = 0; i < r; ++i) {
    const double root = std::sqrt(s(i));
    for (int64_t o = 0; o < rows; ++o)
      out.left[static_cast<size_t>(o * r + i)] = static_cast<float>(svd.matrixU()(o, i) * root);
    for (int64_t c = 0; c < cols; ++c)
      out.right[static_cast<size_t>(i * cols + c)] = static_cast<float>(svd.matrixV()(c, i) * root);
  }
  return out;
}

LowRankResult lowrank(const ir::Graph& graph, const LowRankSpec& spec) {
  LowRankResult out;
  out.graph = graph;
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  const std::vector<bool> excluded = excluded_layers(layers, spec.exclude);
  const std::vector<int64_t> positions = output_positions(graph, layers);
  nlohmann::json ranks = nlohmann::json::object();
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrunableLayer& l = layers[i];
    if (excluded[i]) continue;
    if (const std::string why = unsupported(graph, l); !why.empty()) {
      out.notes.push_back(l.name + ": left dense (" + why + ")");
      continue;
    }
    LayerLowRank r = factor_layer(out.graph, l, spec, positions[i]);
    if (r.factored)
      ranks[l.name] = r.rank;
    else
      out.notes.push_back(l.name + ": left dense (rank " + std::to_string(r.rank) + " factors " +
                          "would hold " + std::to_string(r.rank * (l.rows + l.cols)) +
                          " weights, the layer " + std::to_string(l.numel()) + ")");
    out.params_before += r.params_before;
    out.params_after += r.params_after;
    out.macs_before += r.macs_before;
    out.macs_after += r.macs_after;
    out.layers.push_back(std::move(r));
  }
  out.graph.validate_and_sort();
  append_compress_metadata(out.graph, {{"lowrank", spec.str()}, {"layers", ranks}});
  return out;
}

nlohmann::json to_json(const LowRankResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"layer", l.name},
                      {"op", l.op_type},
                      {"shape", l.shape},
                      {"matrix", {l.rows, l.cols}},
                      {"rank", l.rank},
                      {"full_rank", l.full_rank},
                      {"factored", l.factored},
                      {"kept_energy", l.kept_energy},
                      {"relative_error", l.rel_error},
                      {"params_before", l.params_before},
                      {"params_after", l.params_after},
                      {"macs_before", l.macs_before},
                      {"macs_after", l.macs_after},
                      {"nodes", l.nodes}});
  return {{"layers", layers},
          {"notes", r.notes},
          {"params_before", r.params_before},
          {"params_after", r.params_after},
          {"macs_before", r.macs_before},
          {"macs_after", r.macs_after}};
}

}  // namespace frugal::compress
