#include "frugal/compress/binarize.h"
#include "frugal/compress/binarize_layers.h"

#include <algorithm>
#include <cmath>

#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/core/strings.h"
#include "frugal/ops/binary_layer.h"

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

// Reads the layer's input through beta * sign(x), beta = mean |x| over each sample (the
// plain-ONNX form of act_scale "tensor" in ops/binary_layer.h).
void binarize_input(ir::Graph& g, ir::Node& n, const PrunableLayer& l) {
  const std::string x = n.inputs[0], base = l.name + "_act";
  const int64_t rank = n.op_type == "Conv" ? static_cast<int64_t>(l.shape.size()) : 2;
  std::vector<int64_t> axes;
  for (int64_t a = 1; a < rank; ++a) axes.push_back(a);
  const std::string abs = g.unique_name(base + "_abs"), beta = g.unique_name(base + "_beta"),
                    sign = g.unique_name(base + "_sign"), out = g.unique_name(base + "_bin");
  std::vector<ir::Node> added;
  added.push_back(simple_node(g.unique_name(base + "_abs"), "Abs", {x}, abs));
  ir::Node mean = simple_node(g.unique_name(base + "_mean"), "ReduceMean", {abs}, beta);
  if (g.opset() >= 18) {  // axes became an input in opset 18
    const std::string aname = g.unique_name(base + "_axes");
    Tensor t(DType::kI64, {static_cast<int64_t>(axes.size())});
    std::copy(axes.begin(), axes.end(), t.data<int64_t>());
    g.initializers[aname] = t;
    mean.inputs.push_back(aname);
  } else {
    mean.attrs["axes"] = ir::Attribute{.value = axes};
  }
  added.push_back(std::move(mean));
  added.push_back(simple_node(g.unique_name(base + "_signs"), "Sign", {x}, sign));
  added.push_back(simple_node(g.unique_name(base + "_scale"), "Mul", {sign, beta}, out));
  n.inputs[0] = out;
  for (ir::Node& a : added) g.nodes.push_back(std::move(a));
}

// Sign and mask words of the rows of S (ops/binary_layer.h's bit order).
std::pair<Tensor, Tensor> pack_signs(const Tensor& signs, const PrunableLayer& l) {
  const int64_t words = ops::binary::words(l.cols);
  std::pair<Tensor, Tensor> bits{Tensor(DType::kU64, {l.rows, words}),
                                 Tensor(DType::kU64, {l.rows, words})};
  std::fill_n(bits.first.data<uint64_t>(), l.rows * words, 0);
  std::fill_n(bits.second.data<uint64_t>(), l.rows * words, 0);
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < l.cols; ++c)
      ops::binary::set_bits(signs.data<float>()[l.offset(r, c)], c,
                            bits.first.data<uint64_t>() + r * words,
                            bits.second.data<uint64_t>() + r * words);
  return bits;
}

// Turns the layer into frugal.BinaryConv / BinaryGemm reading the packed signs, alpha
// (times Gemm's alpha) and the bias; the mask only when some weight is 0.
void write_packed(ir::Graph& g, ir::Node& n, const PrunableLayer& l, const Tensor& signs,
                  Tensor alpha, const Tensor& bias, bool has_zeros) {
  namespace bin = ops::binary;
  const auto [sign_bits, mask_bits] = pack_signs(signs, l);
  alpha = alpha.reshaped({l.rows});
  if (n.op_type == "Gemm")
    for (float& a : alpha.span<float>()) a *= n.attr_float("alpha", 1.0f);
  const std::string sname = g.unique_name(l.weight + "_bits"),
                    aname = g.unique_name(l.name + "_alpha");
  g.initializers.erase(l.weight);
  g.initializers[sname] = sign_bits;
  g.initializers[aname] = alpha;
  n.inputs = {n.inputs[0], sname, aname, ""};
  if (bias.numel()) {
    n.inputs[bin::kBiasInput] = g.unique_name(l.name + "_bias");
    g.initializers[n.inputs[bin::kBiasInput]] = bias.reshaped({l.rows});
  }
  if (has_zeros) {
    n.inputs.push_back(g.unique_name(l.weight + "_mask"));
    g.initializers[n.inputs.back()] = mask_bits;
  }
  if (n.op_type == "Gemm") {
    n.attrs.clear();
    n.op_type = bin::kGemm;
  } else {
    n.attrs["kernel_shape"] = ir::Attribute{.value = Shape(l.shape.begin() + 2, l.shape.end())};
    n.op_type = bin::kConv;
  }
  n.attrs["act_scale"] =
      ir::Attribute{.value = std::string(bin::act_scale_name(bin::ActScale::kTensor))};
  n.domain = bin::kDomain;
  g.opsets[bin::kDomain] = 1;
}

LayerBinarized binarize_layer(ir::Graph& g, const PrunableLayer& l, const BinarizeSpec& spec) {
  LayerBinarized out{l.name, l.op_type, l.rows, l.cols};
  const Tensor& w = *g.initializer(l.weight);
  const auto [signs, alpha] = binarize_weight(w, l, spec.ternary);
  double err = 0, norm = 0;
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < l.cols; ++c) {
      const float s = signs.data<float>()[l.offset(r, c)], v = w.data<float>()[l.offset(r, c)];
      const float a = alpha.data<float>()[r];
      out.zeros += s == 0;
      err += (v - a * s) * (v - a * s);
      norm += double(v) * v;
    }
  out.rel_error = norm > 0 ? std::sqrt(err / norm) : 0;

  ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  const Tensor bias = bias_of(g, n, l);
  out.acts = spec.acts && takes_binary_acts(n);
  out.packed = spec.packed && out.acts;
  if (out.packed) {
    write_packed(g, n, l, signs, alpha, bias, out.zeros > 0);
    return out;
  }
  if (out.acts) binarize_input(g, g.nodes[static_cast<size_t>(l.node)], l);
  ir::Node& layer = g.nodes[static_cast<size_t>(l.node)];  // binarize_input grew g.nodes
  const std::string output = layer.outputs[0], scaled = g.unique_name(output + "_bin");
  const std::string sname = g.unique_name(l.weight + "_sign"),
                    aname = g.unique_name(l.name + "_alpha");
  g.initializers.erase(l.weight);
  g.initializers[sname] = signs;
  g.initializers[aname] = alpha;
  layer.inputs.resize(2);
  layer.inputs[1] = sname;
  layer.attrs.erase("beta");
  layer.outputs[0] = g.unique_name(output + "_signs");
  const std::string mul_out = bias.numel() ? scaled : output;
  ir::Node mul =
      simple_node(g.unique_name(l.name + "_scale"), "Mul", {layer.outputs[0], aname}, mul_out);
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

bool takes_binary_acts(const ir::Node& n) {
  return n.op_type == "Conv" || (n.op_type == "Gemm" && n.attr_int("transA", 0) == 0);
}

BinaryWeight binarize_weight(const Tensor& w, const PrunableLayer& l, bool ternary) {
  BinaryWeight out{Tensor(DType::kF32, l.shape), Tensor(DType::kF32, channel_shape(l))};
  std::vector<float> row(static_cast<size_t>(l.cols));
  for (int64_t r = 0; r < l.rows; ++r) {
    for (int64_t c = 0; c < l.cols; ++c)
      row[static_cast<size_t>(c)] = w.data<float>()[l.offset(r, c)];
    const BinaryRow b = binarize_row(row.data(), l.cols, ternary);
    out.alpha.data<float>()[r] = b.alpha;
    for (int64_t c = 0; c < l.cols; ++c)
      out.signs.data<float>()[l.offset(r, c)] = b.signs[static_cast<size_t>(c)];
  }
  return out;
}

std::vector<PrunableLayer> binarized_layers(const ir::Graph& graph, const BinarizeSpec& spec,
                                            std::vector<std::string>* notes) {
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  std::vector<std::string> exclude = spec.exclude;
  if (!spec.all) exclude.insert(exclude.end(), {"first", "last"});
  const std::vector<bool> excluded = excluded_layers(layers, exclude);
  std::vector<PrunableLayer> out;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (excluded[i]) continue;
    if (const std::string why = unsupported(graph, layers[i]); !why.empty()) {
      if (notes) notes->push_back(layers[i].name + ": left float (" + why + ")");
      continue;
    }
    out.push_back(layers[i]);
  }
  return out;
}

std::string BinarizeSpec::str() const {
  return std::string(ternary ? "ternary" : "binary") + (all ? ":all" : "") + (acts ? ":acts" : "") +
         (packed ? ":packed" : "");
}

BinarizeSpec parse_binarize_spec(const std::string& text, const std::string& origin) {
  const std::vector<std::string> parts = split(text, ':');
  BinarizeSpec s;
  const std::string bad = origin + " '" + text + "': ";
  if (parts.empty() || (parts[0] != "binary" && parts[0] != "ternary"))
    throw UserError(bad + "must be binary or ternary (optionally :all, :acts, :packed)");
  s.ternary = parts[0] == "ternary";
  for (size_t i = 1; i < parts.size(); ++i) {
    bool* flag = parts[i] == "all"      ? &s.all
                 : parts[i] == "acts"   ? &s.acts
                 : parts[i] == "packed" ? &s.packed
                                        : nullptr;
    if (!flag)
      throw UserError(bad + "unknown option ':" + parts[i] +
                      "' (options: :all first and last layer too, :acts binary activations, "
                      ":packed bit-packed frugal ops)");
    if (*flag) throw UserError(bad + "':" + parts[i] + "' given twice");
    *flag = true;
  }
  if (s.packed && !s.acts)
    throw UserError(bad + "':packed' needs ':acts' (the popcount kernels take binary activations)");
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
  out.spec = spec;
  out.graph = graph;
  nlohmann::json names = nlohmann::json::array();
  for (const PrunableLayer& l : binarized_layers(graph, spec, &out.notes)) {
    out.layers.push_back(binarize_layer(out.graph, l, spec));
    if (spec.acts && !out.layers.back().acts)
      out.notes.push_back(l.name +
                          ": activations left float (only Conv and Gemm take binary ones)");
    names.push_back(l.name);
  }
  const bool any_acts = std::any_of(out.layers.begin(), out.layers.end(),
                                    [](const LayerBinarized& l) { return l.acts; });
  if (spec.acts && !any_acts)
    throw UserError("--binarize '" + spec.str() +
                    "': no binarized Conv or Gemm layer to take binary activations" +
                    (spec.all ? "" : " (first and last stay float; :all includes them)"));
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
                      {"binary_activations", l.acts},
                      {"packed", l.packed},
                      {"relative_error", l.rel_error}});
  return {{"layers", layers}, {"notes", r.notes}};
}

}  // namespace frugal::compress
