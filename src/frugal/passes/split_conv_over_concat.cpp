// split_conv_over_concat (passes.h). A convolution is linear in its input channels: with
// W = [W_1 | ... | W_k] cut along them, Conv(Concat(x_1, ..., x_k), W, b) equals
// Conv(x_1, W_1, b) + ... + Conv(x_k, W_k). SqueezeNet's Fire modules concatenate their two
// expand convolutions and the next squeeze (or the head) convolution reads only that
// Concat: copying both halves into it costs a write and a read of the whole feature map
// (in channels-last, a channel Concat is never a byte range of its output, so it cannot be
// placed in place). Written as k convolutions and k - 1 Adds, the later passes make each Add
// the sum post-op of the convolution after it (fuse_residual_add), whose output then takes
// its operand's buffer (runtime/sum_in_place.h), and the activation after the original
// convolution its post-op: no Concat, no copy. FRUGAL_NO_SPLIT_CONV_CONCAT=1 turns the
// pass off (the A/B switch).
#include <cstdlib>
#include <cstring>
#include <string>

#include "frugal/ops/post_ops.h"
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"

namespace frugal::passes {
namespace {

bool switched_off() {
  const char* v = std::getenv("FRUGAL_NO_SPLIT_CONV_CONCAT");
  return v && std::string(v) == "1";
}

const Shape* f32_shape(const ops::GraphInfo& info, const std::string& value) {
  auto it = info.values.find(value);
  return it != info.values.end() && it->second.dtype == DType::kF32 && it->second.shape
             ? &*it->second.shape
             : nullptr;
}

// The channel counts of a Concat along axis 1 of float32 values of rank >= 3, or empty.
std::vector<int64_t> channel_parts(const ir::Node& cat, const ops::GraphInfo& info) {
  if (cat.op_type != "Concat" || !is_onnx_domain(cat) || cat.outputs.size() != 1 ||
      cat.inputs.size() < 2)
    return {};
  const Shape* out = f32_shape(info, cat.outputs[0]);
  if (!out || out->size() < 3) return {};
  int64_t axis = cat.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(out->size());
  if (axis != 1) return {};
  std::vector<int64_t> parts;
  for (const auto& in : cat.inputs) {
    const Shape* s = in.empty() ? nullptr : f32_shape(info, in);
    if (!s) return {};
    parts.push_back((*s)[1]);
  }
  return parts;
}

// A Conv reading `value` as its input 0 whose weights the pass can cut: float32
// initializer of the value's rank, one group, no post-ops yet.
bool splittable_conv(const ir::Graph& g, const ir::Node& n, const std::string& value, size_t rank) {
  if (n.op_type != "Conv" || !is_onnx_domain(n) || n.inputs.size() < 2 || n.inputs[0] != value ||
      n.attr_int("group", 1) != 1 || n.has_attr(ops::kPostOpsAttr) || n.outputs.size() != 1)
    return false;
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.inputs[i] == value) return false;
  const Tensor* w = g.initializer(n.inputs[1]);
  return w && w->dtype() == DType::kF32 && w->shape().size() == rank;
}

// W[:, c0 : c0 + c, ...] of a weight [M, C, k...].
Tensor channel_slice(const Tensor& w, int64_t c0, int64_t c) {
  Shape s = w.shape();
  const int64_t m = s[0], total = s[1];
  int64_t taps = 1;
  for (size_t d = 2; d < s.size(); ++d) taps *= s[d];
  s[1] = c;
  Tensor out = Tensor::uninitialized(DType::kF32, s);
  const float* src = w.data<float>();
  float* dst = out.data<float>();
  for (int64_t o = 0; o < m; ++o)
    std::memcpy(dst + o * c * taps, src + (o * total + c0) * taps,
                static_cast<size_t>(c * taps) * sizeof(float));
  return out;
}

// The k convolutions and k - 1 Adds that replace `conv` (reading the Concat `cat`).
std::vector<ir::Node> split(ir::Graph& g, const ir::Node& conv, const ir::Node& cat,
                            const std::vector<int64_t>& parts) {
  const Tensor w = *g.initializer(conv.inputs[1]);
  std::vector<ir::Node> nodes;
  std::string sum;
  int64_t c0 = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string tag = "/split" + std::to_string(i);
    ir::Node part = conv;
    part.name = conv.name + tag;
    part.inputs = {cat.inputs[i], conv.inputs[1] + tag};
    if (i == 0 && conv.inputs.size() > 2) part.inputs.push_back(conv.inputs[2]);  // bias once
    part.outputs = {conv.outputs[0] + tag};
    g.initializers[part.inputs[1]] = channel_slice(w, c0, parts[i]);
    c0 += parts[i];
    nodes.push_back(part);
    if (i == 0) {
      sum = part.outputs[0];
      continue;
    }
    ir::Node add;
    add.name = conv.name + "/sum" + std::to_string(i);
    add.op_type = "Add";
    add.inputs = {part.outputs[0], sum};
    add.outputs = {i + 1 == parts.size() ? conv.outputs[0]
                                         : conv.outputs[0] + "/sum" + std::to_string(i)};
    sum = add.outputs[0];
    nodes.push_back(add);
  }
  return nodes;
}

}  // namespace

ir::Graph split_conv_over_concat(const ir::Graph& in, const ops::InferOptions& options,
                                 PassReport& report) {
  report = {"split_conv_over_concat", 0, {}};
  ir::Graph g = in;
  if (switched_off() || g.opset("") < 7) return g;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  std::vector<ir::Node> added;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node cat = g.nodes[k];
    const std::vector<int64_t> parts = channel_parts(cat, info);
    if (parts.empty() || uses.is_graph_output(cat.outputs[0])) continue;
    const size_t rank = f32_shape(info, cat.outputs[0])->size();
    std::vector<size_t> readers;
    for (size_t r = 0; r < g.nodes.size(); ++r)
      for (const auto& i : g.nodes[r].inputs)
        if (i == cat.outputs[0]) {
          readers.push_back(r);
          break;
        }
    bool all = !readers.empty();
    for (size_t r : readers) all = all && splittable_conv(g, g.nodes[r], cat.outputs[0], rank);
    if (!all || readers.size() != uses.readers(cat.outputs[0])) continue;
    for (size_t r : readers) {
      for (ir::Node& n : split(g, g.nodes[r], cat, parts)) added.push_back(std::move(n));
      dead[r] = true;
      report.nodes.push_back(g.nodes[r].name + " over " + cat.name + " (" +
                             std::to_string(parts.size()) + " parts)");
    }
    dead[k] = true;
    ++report.changes;
  }
  erase_nodes(g, dead);
  for (auto& n : added) g.nodes.push_back(std::move(n));
  prune_values(g);
  g.validate_and_sort();
  return g;
}

}  // namespace frugal::passes
