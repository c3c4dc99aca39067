#include "frugal/compress/lowrank.h"

#include <Eigen/SVD>
#include <algorithm>
#include <cmath>

#include "frugal/compress/prune.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/compress/tucker.h"
#include "frugal/core/error.h"
#include "frugal/ops/infer.h"

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

using Attrs = std::map<std::string, ir::Attribute>;

// Replaces node `l.node` of `g` by a chain of nodes of its op, one per weight, node i with
// attributes `attrs[i]` (appended; validate_and_sort puts them in place). The last node
// takes the original's other inputs (bias), its outputs and its output attributes. Returns
// the names of the chain's nodes.
std::vector<std::string> replace_by_chain(ir::Graph& g, const PrunableLayer& l,
                                          std::vector<Tensor> weights, std::vector<Attrs> attrs) {
  const ir::Node orig = g.nodes[static_cast<size_t>(l.node)];
  std::vector<std::string> names;
  std::string input = orig.inputs[0];
  g.initializers.erase(l.weight);
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string tag = "_lr" + std::to_string(i + 1);
    const bool last = i + 1 == weights.size();
    ir::Node n;
    n.name = g.unique_name(orig.name + tag);
    n.op_type = orig.op_type;
    n.domain = orig.domain;
    n.attrs = std::move(attrs[i]);
    const std::string w = g.unique_name(l.weight + tag);
    g.initializers[w] = std::move(weights[i]);
    n.inputs = {input, w};
    if (last) {
      n.inputs.insert(n.inputs.end(), orig.inputs.begin() + 2, orig.inputs.end());
      n.outputs = orig.outputs;
      for (const auto& [key, value] : orig.attrs)
        if (is_output_attr(key)) n.attrs[key] = value;
    } else {
      n.outputs = {g.unique_name(orig.outputs[0] + tag)};
    }
    input = n.outputs[0];
    names.push_back(n.name);
    if (i == 0)
      g.nodes[static_cast<size_t>(l.node)] = std::move(n);
    else
      g.nodes.push_back(std::move(n));
  }
  return names;
}

// The two-layer SVD chain: the first keeps the original's input-side attributes.
std::vector<std::string> replace_by_svd(ir::Graph& g, const PrunableLayer& l, Factors f) {
  const ir::Node& orig = g.nodes[static_cast<size_t>(l.node)];
  Attrs a, b;
  for (const auto& [key, value] : orig.attrs)
    if (!is_output_attr(key)) a[key] = value;
  if (orig.op_type == "Gemm") {
    // op(A) alpha on the first, beta C on the second; both weights stored as [out, in].
    a.erase("beta");
    a["transB"] = ir::Attribute{int64_t{1}};
    b["transB"] = ir::Attribute{int64_t{1}};
    if (orig.has_attr("beta")) b["beta"] = orig.attrs.at("beta");
  } else if (orig.op_type == "Conv") {
    if (orig.has_attr("kernel_shape"))
      b["kernel_shape"] = ir::Attribute{std::vector<int64_t>(l.shape.size() - 2, 1)};
  }
  return replace_by_chain(g, l, {std::move(f.first), std::move(f.second)}, {a, b});
}

// The Tucker-2 chain 1x1 / KxK / 1x1: the core keeps the original's input-side attributes
// (strides, pads, dilations), the 1x1 convolutions none but their kernel shape.
std::vector<std::string> replace_by_tucker(ir::Graph& g, const PrunableLayer& l, const Tucker2& t) {
  const ir::Node& orig = g.nodes[static_cast<size_t>(l.node)];
  Attrs one, core;
  for (const auto& [key, value] : orig.attrs)
    if (!is_output_attr(key)) core[key] = value;
  const Shape ones(l.shape.size() - 2, 1);
  if (orig.has_attr("kernel_shape")) one["kernel_shape"] = ir::Attribute{ones};
  Shape first = {t.rank_in, t.in}, middle = l.shape, last = {t.out, t.rank_out};
  first.insert(first.end(), ones.begin(), ones.end());
  last.insert(last.end(), ones.begin(), ones.end());
  middle[0] = t.rank_out;
  middle[1] = t.rank_in;
  std::vector<float> a(static_cast<size_t>(t.rank_in * t.in)), c(t.u_out.begin(), t.u_out.end());
  for (int64_t ch = 0; ch < t.in; ++ch)
    for (int64_t b = 0; b < t.rank_in; ++b)
      a[static_cast<size_t>(b * t.in + ch)] =
          static_cast<float>(t.u_in[static_cast<size_t>(ch * t.rank_in + b)]);
  return replace_by_chain(
      g, l,
      {Tensor::from_vector(first, a),
       Tensor::from_vector(middle, std::vector<float>(t.core.begin(), t.core.end())),
       Tensor::from_vector(last, c)},
      {one, core, one});
}

// Why a layer cannot be factored ("" when it can).
std::string unsupported(const ir::Graph& g, const PrunableLayer& l) {
  const ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  if (n.op_type == "Conv" && n.attr_int("group", 1) != 1) return "a grouped convolution";
  if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) return "Gemm with transA=1";
  if (g.initializer(l.weight)->dtype() != DType::kF32) return "its weight is not float32";
  return "";
}

LayerLowRank record_of(const PrunableLayer& l, int64_t positions) {
  LayerLowRank r;
  r.name = l.name;
  r.op_type = l.op_type;
  r.shape = l.shape;
  r.rows = l.rows;
  r.cols = l.cols;
  r.full_rank = std::min(l.rows, l.cols);
  r.params_before = r.params_after = l.numel();
  r.macs_before = r.macs_after = l.numel() * positions;
  return r;
}

// Whether the factors (params_after, macs_after as computed) would not be smaller; then the
// record is reset to the dense layer and `note` says why.
bool stays_dense(LayerLowRank& r, const LowRankSpec& spec, std::string& note) {
  const bool more_weights = r.params_after >= r.params_before;
  const bool more_macs = r.macs_before > 0 && r.macs_after >= r.macs_before;
  if (!spec.only_if_smaller || !(more_weights || more_macs)) return false;
  note = r.name + ": left dense (" + r.method + " rank " + std::to_string(r.rank) +
         (r.method == "tucker2" ? "/" + std::to_string(r.rank_in) : "") + " would hold " +
         std::to_string(r.params_after) + " weights and " + std::to_string(r.macs_after) +
         " MACs, the layer " + std::to_string(r.params_before) + " and " +
         std::to_string(r.macs_before) + ")";
  r.params_after = r.params_before;
  r.macs_after = r.macs_before;
  return true;
}

LayerLowRank factor_svd(ir::Graph& g, const PrunableLayer& l, const LowRankSpec& spec,
                        int64_t positions, std::string& note) {
  LayerLowRank r = record_of(l, positions);
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
  r.params_after = svd.rank * (l.rows + l.cols);
  r.macs_after = r.params_after * positions;
  if (stays_dense(r, spec, note)) return r;
  r.factored = true;
  r.nodes = replace_by_svd(g, l, stored_factors(l, svd));
  return r;
}

// Tucker-2 of a KxK convolution; `in_positions` the input's spatial size (the first 1x1
// convolution runs there, before any stride).
LayerLowRank factor_tucker(ir::Graph& g, const PrunableLayer& l, const LowRankSpec& spec,
                           int64_t positions, int64_t in_positions, std::string& note) {
  LayerLowRank r = record_of(l, positions);
  r.method = "tucker2";
  const Tucker2 t = tucker2(matrix_of(l, *g.initializer(l.weight)), l.shape, spec);
  r.rank = t.rank_out;
  r.rank_in = t.rank_in;
  r.full_rank = static_cast<int64_t>(t.singular_out.size());
  r.full_rank_in = static_cast<int64_t>(t.singular_in.size());
  r.rel_error = t.rel_error;
  r.hosvd_rel_error = t.hosvd_rel_error;
  r.kept_energy = 1 - t.rel_error * t.rel_error;
  const int64_t first = t.in * t.rank_in, rest = t.rank_out * (t.rank_in * t.positions + t.out);
  r.params_after = first + rest;
  r.macs_after = first * in_positions + rest * positions;
  if (stays_dense(r, spec, note)) return r;
  r.factored = true;
  r.nodes = replace_by_tucker(g, l, t);
  return r;
}

// Spatial size of each layer's input at batch 1 (0 when unknown), parallel to `layers`.
std::vector<int64_t> input_positions(const ir::Graph& graph,
                                     const std::vector<PrunableLayer>& layers) {
  const ops::GraphInfo info = ops::infer_graph(graph);
  std::vector<int64_t> out;
  for (const PrunableLayer& l : layers) {
    const auto it = info.values.find(graph.nodes[static_cast<size_t>(l.node)].inputs.at(0));
    const bool known = it != info.values.end() && it->second.shape && l.in_channels > 0;
    out.push_back(known ? shape_numel(*it->second.shape) / l.in_channels : 0);
  }
  return out;
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
  std::string s = kind == Kind::kRank     ? "rank=" + std::to_string(rank)
                  : kind == Kind::kEnergy ? "energy=" + number(value)
                                          : number(value);
  if (conv == Conv::kTucker) s += ":conv=tucker";
  if (hooi > 0) s += ":hooi=" + std::to_string(hooi);
  return s;
}

namespace {

void parse_rank(LowRankSpec& s, const std::string& text, const std::string& whole,
                const std::string& origin) {
  if (text.rfind("energy=", 0) == 0) {
    s.kind = LowRankSpec::Kind::kEnergy;
    s.value = parse_fraction(text.substr(7), whole, origin);
  } else if (text.rfind("rank=", 0) == 0) {
    const std::string r = text.substr(5);
    s.kind = LowRankSpec::Kind::kRank;
    if (r.empty() || r.size() > 9 || r.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(r) < 1)
      throw UserError(origin + " '" + whole + "': rank '" + r + "' must be a whole number >= 1");
    s.rank = std::stoll(r);
  } else {
    s.value = parse_fraction(text, whole, origin);
  }
}

// conv=svd|tucker, hooi=N.
void parse_option(LowRankSpec& s, const std::string& text, const std::string& whole,
                  const std::string& origin) {
  const std::string bad = origin + " '" + whole + "': ";
  if (text == "conv=svd" || text == "conv=tucker") {
    s.conv = text == "conv=svd" ? LowRankSpec::Conv::kSvd : LowRankSpec::Conv::kTucker;
  } else if (text.rfind("hooi=", 0) == 0) {
    const std::string n = text.substr(5);
    if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(n) > 100)
      throw UserError(bad + "hooi '" + n + "' must be a whole number from 0 to 100");
    s.hooi = std::stoi(n);
  } else {
    throw UserError(bad + "unknown option '" + text + "' (conv=svd|tucker, hooi=N)");
  }
}

}  // namespace

LowRankSpec parse_lowrank_spec(const std::string& text, const std::string& origin) {
  LowRankSpec s;
  size_t colon = text.find(':');
  parse_rank(s, text.substr(0, colon), text, origin);
  while (colon != std::string::npos) {
    const size_t next = text.find(':', colon + 1);
    parse_option(s, text.substr(colon + 1, next - colon - 1), text, origin);
    colon = next;
  }
  if (s.hooi > 0 && s.conv != LowRankSpec::Conv::kTucker)
    throw UserError(origin + " '" + text + "': hooi=N refines Tucker-2 factors: give conv=tucker");
  return s;
}

ThinSvd thin_svd(const std::vector<double>& matrix, int64_t rows, int64_t cols) {
  const Eigen::MatrixXd m =
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          matrix.data(), rows, cols);
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(m, Eigen::ComputeThinU | Eigen::ComputeThinV);
  ThinSvd out;
  const Eigen::VectorXd& s = svd.singularValues();
  out.k = s.size();
  out.singular.assign(s.data(), s.data() + s.size());
  out.u.resize(static_cast<size_t>(rows * out.k));
  out.v.resize(static_cast<size_t>(cols * out.k));
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      out.u.data(), rows, out.k) = svd.matrixU();
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      out.v.data(), cols, out.k) = svd.matrixV();
  return out;
}

TruncatedSvd truncated_svd(const std::vector<float>& matrix, int64_t rows, int64_t cols,
                           const LowRankSpec& spec) {
  const ThinSvd svd = thin_svd(std::vector<double>(matrix.begin(), matrix.end()), rows, cols);
  TruncatedSvd out;
  out.singular = svd.singular;
  out.rank = spec.rank_for(out.singular);
  const int64_t r = out.rank, k = svd.k;
  out.left.resize(static_cast<size_t>(rows * r));
  out.right.resize(static_cast<size_t>(r * cols));
  for (int64_t i = 0; i < r; ++i) {
    const double root = std::sqrt(svd.singular[static_cast<size_t>(i)]);
    for (int64_t o = 0; o < rows; ++o)
      out.left[static_cast<size_t>(o * r + i)] =
          static_cast<float>(svd.u[static_cast<size_t>(o * k + i)] * root);
    for (int64_t c = 0; c < cols; ++c)
      out.right[static_cast<size_t>(i * cols + c)] =
          static_cast<float>(svd.v[static_cast<size_t>(c * k + i)] * root);
  }
  return out;
}

LowRankResult lowrank(const ir::Graph& graph, const LowRankSpec& spec) {
  LowRankResult out;
  out.graph = graph;
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  const std::vector<bool> excluded = excluded_layers(layers, spec.exclude);
  const std::vector<int64_t> positions = output_positions(graph, layers);
  const std::vector<int64_t> inputs = input_positions(graph, layers);
  nlohmann::json ranks = nlohmann::json::object();
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrunableLayer& l = layers[i];
    if (excluded[i]) continue;
    if (const std::string why = unsupported(graph, l); !why.empty()) {
      out.notes.push_back(l.name + ": left dense (" + why + ")");
      continue;
    }
    std::string note;
    const bool tucker =
        spec.conv == LowRankSpec::Conv::kTucker && l.op_type == "Conv" && l.kernel_positions > 1;
    LayerLowRank r = tucker ? factor_tucker(out.graph, l, spec, positions[i], inputs[i], note)
                            : factor_svd(out.graph, l, spec, positions[i], note);
    if (r.factored)
      ranks[l.name] = tucker ? nlohmann::json{r.rank, r.rank_in} : nlohmann::json(r.rank);
    else
      out.notes.push_back(note);
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
                      {"method", l.method},
                      {"shape", l.shape},
                      {"matrix", {l.rows, l.cols}},
                      {"rank", l.rank},
                      {"full_rank", l.full_rank},
                      {"rank_in", l.rank_in},
                      {"full_rank_in", l.full_rank_in},
                      {"hosvd_relative_error", l.hosvd_rel_error},
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
