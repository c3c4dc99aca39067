#include "frugal/compress/circulant.h"

#include <cmath>

#include "frugal/compress/prune.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/core/error.h"
#include "frugal/ops/block_circulant.h"

namespace frugal::compress {
namespace {

int64_t parse_block(const std::string& text, const std::string& spec, const std::string& origin) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    throw UserError(origin + " '" + spec + "': block size '" + text + "' is not a whole number");
  const int64_t b = std::stoll(text);
  if (b < 4 || b > 256)
    throw UserError(origin + " '" + spec + "': block size " + text + " is out of range (4 to 256)");
  if ((b & (b - 1)) != 0)
    throw UserError(origin + " '" + spec + "': block size " + text + " is not a power of two");
  return b;
}

int64_t blocks_for(int64_t n, int64_t b) {
  return (n + b - 1) / b;
}

// Why a layer cannot become block-circulant ("" when it can).
std::string unsupported(const ir::Graph& g, const PrunableLayer& l) {
  const ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  if (g.initializer(l.weight)->dtype() != DType::kF32) return "its weight is not float32";
  for (const auto& [key, value] : n.attrs)
    if (key.rfind("frugal.", 0) == 0) return "it carries " + key;
  if (n.op_type == "Gemm" && n.attr_int("transA", 0) != 0) return "Gemm with transA=1";
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const Tensor* c = g.initializer(n.inputs[2]);
    if (!c || c->dtype() != DType::kF32 || c->numel() != l.rows)
      return "its bias is not a float32 constant of one value per output";
  }
  if (n.op_type == "MatMul" && l.shape.size() != 2) return "a batched MatMul weight";
  if (n.op_type == "Conv") {
    if (l.kernel_positions != 1) return "not a 1x1 convolution";
    if (n.attr_int("group", 1) != 1) return "a grouped convolution";
    for (int64_t v : n.attr_ints("strides"))
      if (v != 1) return "a strided convolution";
    for (int64_t v : n.attr_ints("pads"))
      if (v != 0) return "a padded convolution";
  }
  return "";
}

// The layer's bias as [rows] (Gemm's beta applied), or an undefined tensor.
Tensor bias_of(const ir::Graph& g, const ir::Node& n, int64_t rows) {
  if (n.inputs.size() < 3 || n.inputs[2].empty()) return {};
  const Tensor* c = g.initializer(n.inputs[2]);
  Tensor bias(DType::kF32, {rows});
  const float beta = n.op_type == "Gemm" ? n.attr_float("beta", 1.0f) : 1.0f;
  for (int64_t r = 0; r < rows; ++r) bias.data<float>()[r] = beta * c->data<float>()[r];
  return bias;
}

double frobenius(const std::vector<float>& m) {
  double s = 0;
  for (float v : m) s += double(v) * v;
  return std::sqrt(s);
}

double stddev(const std::vector<float>& v) {
  double mean = 0, sq = 0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (float x : v) sq += (x - mean) * (x - mean);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

// Removes initializer `name` unless a node other than `node` reads it.
void drop_if_unread(ir::Graph& g, const std::string& name, int64_t node) {
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (static_cast<int64_t>(k) != node)
      for (const auto& in : g.nodes[k].inputs)
        if (in == name) return;
  g.initializers.erase(name);
}

// The graph node computing the projected layer: frugal.BlockCirculant, or (dense) the
// original node with the dense equivalent written into its weight.
void rewrite(ir::Graph& g, const PrunableLayer& l, const CirculantSpec& spec,
             const std::vector<float>& blocks) {
  ir::Node& n = g.nodes[static_cast<size_t>(l.node)];
  const int64_t p = blocks_for(l.rows, spec.block), q = blocks_for(l.cols, spec.block);
  Tensor w = Tensor::from_vector({p, q, spec.block}, blocks);
  if (n.op_type == "Gemm") {
    const float alpha = n.attr_float("alpha", 1.0f);
    for (float& v : w.span<float>()) v *= alpha;
  }
  if (spec.dense) {
    ir::Node probe;
    probe.attrs["in_features"] = ir::Attribute{l.cols};
    probe.attrs["out_features"] = ir::Attribute{l.rows};
    const std::vector<float> m =
        ops::circulant_dense(w.data<float>(), ops::circulant_blocks(w.shape(), probe));
    // A copy: tensors share their storage, and the caller's graph keeps its weights.
    Tensor stored = g.initializers.at(l.weight).clone();
    const float alpha = n.op_type == "Gemm" ? n.attr_float("alpha", 1.0f) : 1.0f;
    for (int64_t r = 0; r < l.rows; ++r)
      for (int64_t c = 0; c < l.cols; ++c)
        stored.data<float>()[l.offset(r, c)] = m[static_cast<size_t>(r * l.cols + c)] / alpha;
    g.initializers[l.weight] = std::move(stored);
    return;
  }
  ir::Node c;
  c.name = n.name;
  c.op_type = ops::kBlockCirculant;
  c.domain = ops::kFrugalDomain;
  const std::string weight = g.unique_name(l.weight + "_circulant");
  c.inputs = {n.inputs[0], weight};
  if (Tensor bias = bias_of(g, n, l.rows); bias.defined()) {
    const std::string name = g.unique_name(n.name + "_circulant_bias");
    g.initializers[name] = bias;
    c.inputs.push_back(name);
  }
  c.outputs = n.outputs;
  c.attrs["axis"] = ir::Attribute{int64_t{n.op_type == "Conv" ? 1 : -1}};
  if (l.cols != q * spec.block) c.attrs["in_features"] = ir::Attribute{l.cols};
  if (l.rows != p * spec.block) c.attrs["out_features"] = ir::Attribute{l.rows};
  if (spec.fft != "fftw") c.attrs["fft"] = ir::Attribute{spec.fft};
  g.initializers[weight] = std::move(w);
  g.initializers.erase(l.weight);  // prunable_layers skips weights that other nodes read
  if (c.inputs.size() > 2 && n.inputs.size() > 2) drop_if_unread(g, n.inputs[2], l.node);
  n = std::move(c);
}

LayerCirculant convert_layer(ir::Graph& g, const PrunableLayer& l, const CirculantSpec& spec) {
  const int64_t b = spec.block;
  if (!spec.pad && (l.rows % b != 0 || l.cols % b != 0))
    throw UserError("--circulant " + std::to_string(b) + ": layer '" + l.name + "' (" +
                    std::to_string(l.rows) + " outputs x " + std::to_string(l.cols) +
                    " inputs) is not a multiple of the block size; add :pad or --exclude it");
  const std::vector<float> dense = matrix_of(l, *g.initializer(l.weight));
  std::vector<float> blocks = project_circulant(dense, l.rows, l.cols, b);
  if (spec.keep_scale) {
    const double s = stddev(blocks), want = stddev(dense);
    if (s > 0)
      for (float& v : blocks) v = static_cast<float>(v * want / s);
  }
  LayerCirculant r;
  r.name = l.name;
  r.op_type = l.op_type;
  r.rows = l.rows;
  r.cols = l.cols;
  r.block_rows = blocks_for(l.rows, b);
  r.block_cols = blocks_for(l.cols, b);
  r.params_before = l.numel();
  r.params_after = spec.dense ? l.numel() : static_cast<int64_t>(blocks.size());
  ir::Node probe;
  probe.attrs["in_features"] = ir::Attribute{l.cols};
  probe.attrs["out_features"] = ir::Attribute{l.rows};
  std::vector<float> back = ops::circulant_dense(
      blocks.data(), ops::circulant_blocks({r.block_rows, r.block_cols, b}, probe));
  for (size_t i = 0; i < back.size(); ++i) back[i] -= dense[i];
  const double norm = frobenius(dense);
  r.rel_error = norm > 0 ? frobenius(back) / norm : 0;
  r.node = l.name;
  rewrite(g, l, spec, blocks);
  return r;
}

}  // namespace

std::string CirculantSpec::str() const {
  return std::to_string(block) + (pad ? ":pad" : "") + (dense ? ":dense" : "") +
         (keep_scale ? ":rescale" : "") + (fft != "fftw" ? ":fft=" + fft : "");
}

CirculantSpec parse_circulant_spec(const std::string& text, const std::string& origin) {
  CirculantSpec s;
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(':', start), text.size());
    const std::string part = text.substr(start, end - start);
    if (first)
      s.block = parse_block(part, text, origin);
    else if (part == "pad")
      s.pad = true;
    else if (part == "dense")
      s.dense = true;
    else if (part == "rescale")
      s.keep_scale = true;
    else if (part == "fft=own" || part == "fft=fftw")
      s.fft = part.substr(4);
    else
      throw UserError(origin + " '" + text + "': unknown option '" + part +
                      "' (pad, dense, rescale, fft=own|fftw)");
    first = false;
    start = end + 1;
  }
  return s;
}

std::vector<float> project_circulant(const std::vector<float>& matrix, int64_t rows, int64_t cols,
                                     int64_t b) {
  const int64_t p = blocks_for(rows, b), q = blocks_for(cols, b);
  std::vector<double> sum(static_cast<size_t>(p * q * b), 0.0), count(sum.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const auto k = static_cast<size_t>(ops::CirculantBlocks::circulant_index(r, c, q, b));
      sum[k] += matrix[static_cast<size_t>(r * cols + c)];
      count[k] += 1;
    }
  std::vector<float> out(sum.size());
  for (size_t k = 0; k < out.size(); ++k)
    out[k] = count[k] > 0 ? static_cast<float>(sum[k] / count[k]) : 0.0f;
  return out;
}

CirculantResult circulant(const ir::Graph& graph, const CirculantSpec& spec) {
  CirculantResult out;
  out.graph = graph;
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  const std::vector<bool> excluded = excluded_layers(layers, spec.exclude);
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrunableLayer& l = layers[i];
    if (excluded[i]) continue;
    if (const std::string why = unsupported(graph, l); !why.empty()) {
      out.notes.push_back(l.name + ": left dense (" + why + ")");
      continue;
    }
    LayerCirculant r = convert_layer(out.graph, l, spec);
    out.params_before += r.params_before;
    out.params_after += r.params_after;
    out.layers.push_back(std::move(r));
  }
  if (!spec.dense && !out.layers.empty()) out.graph.opsets[ops::kFrugalDomain] = 1;
  out.graph.validate_and_sort();
  append_compress_metadata(out.graph, {{"circulant", spec.str()}});
  return out;
}

nlohmann::json to_json(const CirculantResult& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers)
    layers.push_back({{"layer", l.name},
                      {"op", l.op_type},
                      {"matrix", {l.rows, l.cols}},
                      {"blocks", {l.block_rows, l.block_cols}},
                      {"relative_error", l.rel_error},
                      {"params_before", l.params_before},
                      {"params_after", l.params_after}});
  return {{"layers", layers},
          {"notes", r.notes},
          {"params_before", r.params_before},
          {"params_after", r.params_after}};
}

}  // namespace frugal::compress
