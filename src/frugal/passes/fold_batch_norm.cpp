// BatchNormalization in inference is y = (x - mean) * s + bias with s = scale /
// sqrt(var + epsilon), an affine map per channel; after a Conv, ConvTranspose or Gemm it
// merges into that node's weights (scaled per output channel) and bias. A Mul by or an Add
// of a constant that is one value, or one per output channel, is such a map too (PaddleOCR's
// PP-LCNetV3 follows each convolution by a learnable scale and bias, written as Mul and Add).
#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>

#include "frugal/ops/post_ops.h"
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"

namespace frugal::passes {
namespace {

bool is_float(const Tensor& t) {
  return t.dtype() == DType::kF32 || t.dtype() == DType::kF64;
}

// Per-channel scale s and shift t of a BatchNormalization, y = x * s + t; empty when a
// parameter is not a constant float vector of one common length.
struct Affine {
  std::vector<double> scale, shift;
};
Affine batch_norm_affine(const ir::Graph& g, const ir::Node& bn) {
  if (bn.inputs.size() < 5) return {};
  const Tensor* p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = g.initializer(bn.inputs[i + 1]);
    if (!p[i] || !is_float(*p[i]) || p[i]->rank() != 1 || p[i]->numel() != p[0]->numel()) return {};
  }
  const double eps = bn.attr_float("epsilon", 1e-5f);
  const std::vector<double> scale = p[0]->to_double(), bias = p[1]->to_double(),
                            mean = p[2]->to_double(), var = p[3]->to_double();
  Affine a;
  for (size_t c = 0; c < scale.size(); ++c) {
    const double s = scale[c] / std::sqrt(var[c] + eps);
    a.scale.push_back(s);
    a.shift.push_back(bias[c] - mean[c] * s);
  }
  return a;
}

// The number of output channels of `p` (a Conv, ConvTranspose or Gemm with constant
// float weights), the rank of its output and the axis of the channels; nullopt otherwise.
struct OutputChannels {
  int64_t count = 0, rank = 0, axis = 1;
};
std::optional<OutputChannels> output_channels(const ir::Graph& g, const ir::Node& p) {
  const Tensor* w = p.has_input(1) ? g.initializer(p.inputs[1]) : nullptr;
  if (!w || !is_float(*w)) return std::nullopt;
  if (p.op_type == "Conv" && w->rank() >= 3) return OutputChannels{w->dim(0), w->rank(), 1};
  if (p.op_type == "ConvTranspose" && w->rank() >= 3)
    return OutputChannels{w->dim(1) * p.attr_int("group", 1), w->rank(), 1};
  if (p.op_type == "Gemm" && w->rank() == 2)
    return OutputChannels{p.attr_int("transB", 0) != 0 ? w->dim(0) : w->dim(1), 2, 1};
  return std::nullopt;
}

// The per-channel values of a constant `c` that broadcasts onto `p`'s output without
// changing its shape, varying at most along the channels: one value, or one per channel
// (e.g. 1 x C x 1 x 1 after a Conv); empty otherwise.
std::vector<double> per_channel(const Tensor& c, const OutputChannels& out) {
  if (!is_float(c) || c.rank() > out.rank) return {};
  const Shape s = [&] {
    Shape r(static_cast<size_t>(out.rank - c.rank()), 1);
    r.insert(r.end(), c.shape().begin(), c.shape().end());
    return r;
  }();
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] != 1 && (static_cast<int64_t>(d) != out.axis || s[d] != out.count)) return {};
  const std::vector<double> v = c.to_double();
  return v.size() == 1 ? std::vector<double>(static_cast<size_t>(out.count), v[0]) : v;
}

// The affine map of a Mul by (scale) or an Add of (shift) a per-channel constant reading
// `value`, `p`'s output; empty when `n` is no such node.
Affine constant_affine(const ir::Graph& g, const ir::Node& n, const ir::Node& p,
                       const std::string& value) {
  if (!is_onnx_domain(n) || (n.op_type != "Mul" && n.op_type != "Add") || n.inputs.size() != 2 ||
      n.outputs.size() != 1 || n.inputs[0] == n.inputs[1])
    return {};
  const std::string& other = n.inputs[0] == value ? n.inputs[1] : n.inputs[0];
  const Tensor* c = g.initializer(other);
  const Tensor* w = g.initializer(p.inputs[1]);
  const auto out = output_channels(g, p);
  if (!c || !out || c->dtype() != w->dtype()) return {};
  std::vector<double> v = per_channel(*c, *out);
  if (v.empty()) return {};
  Affine a;
  a.scale = n.op_type == "Mul" ? v : std::vector<double>(v.size(), 1.0);
  a.shift = n.op_type == "Mul" ? std::vector<double>(v.size(), 0.0) : v;
  return a;
}

// True when the BN computes its inference form and nothing reads its training outputs.
bool is_inference_bn(const ir::Node& bn, const Uses& uses) {
  if (bn.op_type != "BatchNormalization" || !is_onnx_domain(bn)) return false;
  if (bn.attr_int("training_mode", 0) != 0 || bn.attr_int("spatial", 1) == 0) return false;
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (!bn.outputs[o].empty() &&
        (uses.readers(bn.outputs[o]) > 0 || uses.is_graph_output(bn.outputs[o])))
      return false;
  return !bn.outputs.empty() && !bn.outputs[0].empty();
}

// `w` with each element multiplied by its output channel's scale, computed in double and
// rounded once to w's type. `for_each` calls its argument with (element index, scale) for
// every element. One pass over w into the new tensor: a copy of the weights in double first
// (three times their size in fresh memory) cost inception_v3 more than 100 ms of session init.
template <typename ForEach>
Tensor rescaled(const Tensor& w, ForEach for_each) {
  Tensor out = Tensor::uninitialized(w.dtype(), w.shape());
  auto apply = [&](auto* dst, const auto* src) {
    using T = std::remove_pointer_t<decltype(dst)>;
    for_each(
        [&](int64_t i, double s) { dst[i] = static_cast<T>(static_cast<double>(src[i]) * s); });
  };
  if (w.dtype() == DType::kF64)
    apply(out.data<double>(), w.data<double>());
  else
    apply(out.data<float>(), w.data<float>());
  return out;
}

// New weights and bias of `p` with the affine map folded in; false when `p`'s shapes or
// constants do not allow it (left unchanged then).
bool fold_into(ir::Graph& g, ir::Node& p, const Affine& a) {
  if (!p.has_input(1)) return false;
  const Tensor* w = g.initializer(p.inputs[1]);
  if (!w || !is_float(*w)) return false;
  const Tensor* b = p.has_input(2) ? g.initializer(p.inputs[2]) : nullptr;
  if (p.has_input(2) && (!b || b->dtype() != w->dtype())) return false;
  const int64_t channels = static_cast<int64_t>(a.scale.size());
  Tensor wv;
  std::vector<double> bias(a.scale.size(), 0.0);
  Shape bias_shape = {channels};

  if (p.op_type == "Conv") {
    if (w->rank() < 3 || w->dim(0) != channels) return false;
    if (b && b->numel() != channels) return false;
    const int64_t per = w->numel() / channels;
    wv = rescaled(*w, [&](auto&& scale) {
      for (int64_t m = 0; m < channels; ++m)
        for (int64_t i = 0; i < per; ++i) scale(m * per + i, a.scale[m]);
    });
    if (b) bias = b->to_double();
  } else if (p.op_type == "ConvTranspose") {
    // W is C x M/group x k...: output channel of W[c][j] is (c / (C/group)) * M/group + j.
    const int64_t group = p.attr_int("group", 1);
    if (w->rank() < 3 || group <= 0 || w->dim(0) % group != 0 || w->dim(1) * group != channels)
      return false;
    if (b && b->numel() != channels) return false;
    const int64_t c_per_group = w->dim(0) / group, m_per_group = w->dim(1);
    const int64_t taps = w->numel() / (w->dim(0) * m_per_group);
    wv = rescaled(*w, [&](auto&& scale) {
      for (int64_t c = 0; c < w->dim(0); ++c)
        for (int64_t j = 0; j < m_per_group; ++j) {
          const double s = a.scale[(c / c_per_group) * m_per_group + j];
          for (int64_t t = 0; t < taps; ++t) scale((c * m_per_group + j) * taps + t, s);
        }
    });
    if (b) bias = b->to_double();
  } else if (p.op_type == "Gemm") {
    // Y = alpha * A B + beta * C: scale B's columns (output features), fold beta into C.
    if (w->rank() != 2) return false;
    const bool trans_b = p.attr_int("transB", 0) != 0;
    const int64_t n = trans_b ? w->dim(0) : w->dim(1), k = trans_b ? w->dim(1) : w->dim(0);
    if (n != channels) return false;
    // C broadcasts to M x N; only per-column (or single) values fold into a bias.
    const bool per_column =
        b && b->numel() == n &&
        (b->shape().size() == 1 || (b->shape().size() == 2 && b->shape()[0] == 1));
    if (b && !per_column && b->numel() != 1) return false;
    wv = rescaled(*w, [&](auto&& scale) {
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < n; ++c) scale(trans_b ? c * k + r : r * n + c, a.scale[c]);
    });
    if (b) {
      const double beta = p.attr_float("beta", 1.0f);
      const std::vector<double> cv = b->to_double();
      for (int64_t c = 0; c < n; ++c) bias[c] = beta * cv[per_column ? c : 0];
    }
    p.attrs["beta"] = ir::Attribute{.value = 1.0f};
  } else {
    return false;
  }
  for (int64_t m = 0; m < channels; ++m) bias[m] = bias[m] * a.scale[m] + a.shift[m];

  const std::string w_name = g.unique_name(p.inputs[1] + "_bn");
  g.initializers[w_name] = std::move(wv);
  const std::string b_name = g.unique_name(p.name + "_bias_bn");
  g.initializers[b_name] = tensor_from_doubles(w->dtype(), bias_shape, bias);
  p.inputs.resize(std::max<size_t>(p.inputs.size(), 3));
  p.inputs[1] = w_name;
  p.inputs[2] = b_name;
  return true;
}

}  // namespace

ir::Graph fold_batch_norm(const ir::Graph& in, PassReport& report) {
  report = {"fold_batch_norm", 0, {}};
  ir::Graph g = in;
  const Uses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    const bool bn = is_inference_bn(n, uses);
    if (!bn && n.op_type != "Mul" && n.op_type != "Add") continue;
    // The BN's data input; either operand of a Mul or Add.
    for (size_t slot = 0; slot < (bn ? 1 : std::min<size_t>(n.inputs.size(), 2)); ++slot) {
      const std::string value = n.inputs.empty() ? "" : n.inputs[slot];
      if (value.empty() || !uses.read_once(value)) continue;
      const int64_t pi = g.producer(value);
      if (pi < 0) continue;
      ir::Node& p = g.nodes[pi];
      if (!is_onnx_domain(p) || p.has_attr(ops::kPostOpsAttr) || p.outputs[0] != value ||
          (p.op_type != "Conv" && p.op_type != "ConvTranspose" && p.op_type != "Gemm"))
        continue;
      const Affine a = bn ? batch_norm_affine(g, n) : constant_affine(g, n, p, value);
      if (a.scale.empty() || !fold_into(g, p, a)) continue;
      p.outputs[0] = n.outputs[0];
      dead[k] = true;
      n.outputs.clear();
      ++report.changes;
      report.nodes.push_back(n.name + (bn ? "" : " (" + n.op_type + ")") + " into " + p.name);
      break;
    }
  }
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

}  // namespace frugal::passes
