#include "frugal/compress/binarize.h"

#include <cmath>

#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/core/strings.h"

namespace frugal::compress {
namespace {

constexpr double kTwnThreshold = 0.7;  // TWN's delta = 0.7 * mean |W| (Li et al., eq. 11)

// Why a layer cannot be binarized ("" when it can).
std::string unsupported(const ir::Graph& g, const PrunableLayer& l) {
  const ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  if (g.initializer(l.weight)->dtype() != DType::kF32) return "its weight is not float32";
  for (const auto& [key, value] : n.attrs)
    if (key.rfind("frugal.", 0) == 0) return "it carries " + key;
  if (n.op_type == "Gemm" && n.has_input(2) && !g.initializer(n.inputs[2]))
    return "its bias C is not an initializer";
  return "";
}

// Shape of the per-output-channel scale and bias that broadcast over the layer's output:
// [rows] for Gemm/MatMul, [rows, 1, ...] for Conv.
Shape channel_shape(const PrunableLayer& l) {
  Shape s{l.rows};
  if (l.op_type == "Conv") s.resize(l.shape.size() - 1, 1);
  return s;
}

// The bias the Add after the scale adds, or an empty tensor: Conv's B reshaped to the
// channel shape, Gemm's beta * C.
Tensor bias_of(const ir::Graph& g, const ir::Node& n, const PrunableLayer& l) {
  if (!n.has_input(2)) return {};
  Tensor b = g.initializer(n.inputs[2])->clone();
  if (n.op_type == "Conv") return b.reshaped(channel_shape(l));
  const float beta = n.attr_float("beta", 1.0f);
  for (float& v : b.span<float>()) v *= beta;
  return b;
}

ir::Node simple_node(std::string name, const char* op, std::vector<std::string> inputs,
                     std::string output) {
  ir::Node n;
  n.name = std::move(name);
  n.op_type = op;
  n.inputs = std::move(inputs);
  n.outputs = {std::move(output)};
  return n;
}

LayerBinarized binarize_layer(ir::Graph& g, const PrunableLayer& l, bool ternary) {
  LayerBinarized out{l.name, l.op_type, l.rows, l.cols};
  const Tensor& w = *g.initializer(l.weight);
  Tensor signs(DType::kF32, l.shape);
  Tensor alpha(DType::kF32, channel_shape(l));
  std::vector<float> row(static_cast<size_t>(l.cols));
  double err = 0, norm = 0;
  for (int64_t r = 0; r < l.rows; ++r) {
    for (int64_t c = 0; c < l.cols; ++c)
      row[static_cast<size_t>(c)] = w.data<float>()[l.offset(r, c)];
    const BinaryRow b = binarize_row(row.data(), l.cols, ternary);
    alpha.data<float>()[r] = b.alpha;
    for (int64_t c = 0; c < l.cols; ++c) {
      const float s = b.signs[static_cast<size_t>(c)], v = row[static_cast<size_t>(c)];
      signs.data<float>()[l.offset(r, c)] = s;
      out.zeros += s == 0;
      err += (v - b.alpha * s) * (v - b.alpha * s);
      norm += double(v) * v;
    }
  }
  out.rel_error = norm > 0 ? std::sqrt(err / norm) : 0;

  ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  const Tensor bias = bias_of(g, n, l);
  const std::string output = n.outputs[0], scaled = g.unique_name(output + "_bin");
  const std::string sname = g.unique_name(l.weight + "_sign"),
                    aname = g.unique_name(l.name + "_alpha");
  g.initializers.erase(l.weight);
  g.initializers[sname] = signs;
  g.initializers[aname] = alpha;
  n.inputs.resize(2);
  n.inputs[1] = sname;
  n.attrs.erase("beta");
  n.outputs[0] = g.unique_name(output + "_signs");
  const std::string mul_out = bias.numel() ? scaled : output;
  ir::Node mul =
      simple_node(g.unique_name(l.name + "_scale"), "Mul", {n.outputs[0], aname}, mul_out);
  g.nodes.push_back(std::move(mul));
  if (bias.numel()) {
    const std::string bname = g.unique_name(l.name + "_bias");
    g.initializers[bname] = bias;
    g.nodes.push_back(
        simple_node(g.unique_name(l.name + "_add_bias"), "Add", {scaled, bname}, output));
  }
  return out;
}

}  // namespace

std::string BinarizeSpec::str() const {
  return std::string(ternary ? "ternary" : "binary") + (all ? ":all" : "");
}

BinarizeSpec parse_binarize_spec(const std::string& text, const std::string& origin) {
  const std::vector<std::string> parts = split(text, ':');
  BinarizeSpec s;
  if (parts.empty() || (parts[0] != "binary" && parts[0] != "ternary"))
    throw UserError(origin + " '" + text + "': must be binary or ternary (optionally :all)");
  s.ternary = parts[0] == "ternary";
  if (parts.size() > 2 || (parts.size() == 2 && parts[1] != "all"))
    throw UserError(origin + " '" + text +
                    "': the only option is ':all' (first and last layer too)");
  s.all = parts.size() == 2;
  return s;
}

BinaryRow binarize_row(const float* w, int64_t n, bool ternary) {
  BinaryRow b;
  b.signs.resize(static_cast<size_t>(n));
  double mean_abs = 0;
  for (int64_t i = 0; i < n; ++i) mean_abs += std::abs(w[i]);
  mean_abs = n ? mean_abs / static_cast<double>(n) : 0;
  const double delta = ternary ? kTwnThreshold * mean_abs : -1;
  double sum = 0;
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = std::abs(w[i]) > delta;
    b.signs[static_cast<size_t>(i)] = keep ? (w[i] < 0 ? -1.0f : 1.0f) : 0.0f;
    if (keep) sum += std::abs(w[i]), ++kept;
  }
  b.alpha = kept ? static_cast<float>(sum / static_cast<double>(kept)) : 0.0f;
  return b;
}

BinarizeResult binarize(const ir::Graph& graph, const BinarizeSpec& spec) {
  BinarizeResult out;
  out.graph = graph;
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  std::vector<std::string> exclude = spec.exclude;
  if (!spec.all) exclude.insert(exclude.end(), {"first", "last"});
  const std::vector<bool> excluded = excluded_layers(layers, exclude);
  nlohmann::json names = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (excluded[i]) continue;
    if (const std::string why = unsupported(graph, layers[i]); !why.empty()) {
      out.notes.push_back(layers[i].name + ": left float (" + why + ")");
      continue;
    }
    out.layers.push_back(binarize_layer(out.graph, layers[i], spec.ternary));
    names.push_back(layers[i].name);
  }
  if (!spec.all)
    out.notes.push_back("first and last layer left float (--binarize ...:all to include)");
  out.graph.validate_and_sort();
  append_compress_metadata(out.graph, {{"binarize", spec.str()}, {"layers", names}});
  return out;
}

nlohmann::json to_json(const BinarizeResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"layer", l.name},
                      {"op", l.op_type},
                      {"matrix", {l.rows, l.cols}},
                      {"zeros", l.zeros},
                      {"relative_error", l.rel_error}});
  return {{"layers", layers}, {"notes", r.notes}};
}

}  // namespace frugal::compress
