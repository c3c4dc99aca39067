#include "frugal/runtime/sub_batch.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>

#include "frugal/core/error.h"
#include "frugal/ops/squeeze_excite.h"
#include "frugal/runtime/batch_split.h"

namespace frugal::runtime {
namespace {

// Ops whose output at a position depends on inputs at the same image only, whatever their
// attributes (element-wise with broadcasting, per-image windows and normalizations): the
// shape check of sub_batch_refusal covers what broadcasting could mix.
const std::set<std::string>& per_image_ops() {
  static const std::set<std::string> ops{"Abs",
                                         "Add",
                                         "And",
                                         "AveragePool",
                                         "BatchNormalization",
                                         "BitShift",
                                         "Cast",
                                         "CastLike",
                                         "Ceil",
                                         "Celu",
                                         "Clip",
                                         "Constant",
                                         "ConstantOfShape",
                                         "Conv",
                                         "ConvTranspose",
                                         "Cos",
                                         "DepthToSpace",
                                         "Div",
                                         "Dropout",
                                         "Elu",
                                         "Equal",
                                         "Erf",
                                         "Exp",
                                         "Expand",
                                         "Floor",
                                         "Gelu",
                                         "GlobalAveragePool",
                                         "GlobalLpPool",
                                         "GlobalMaxPool",
                                         "Greater",
                                         "GreaterOrEqual",
                                         "HardSigmoid",
                                         "HardSwish",
                                         "Identity",
                                         "InstanceNormalization",
                                         "IsInf",
                                         "IsNaN",
                                         "LRN",
                                         "LeakyRelu",
                                         "Less",
                                         "LessOrEqual",
                                         "Log",
                                         "LpPool",
                                         "MatMul",
                                         "Max",
                                         "MaxPool",
                                         "Mean",
                                         "Min",
                                         "Mish",
                                         "Mod",
                                         "Mul",
                                         "Neg",
                                         "Not",
                                         "Or",
                                         "PRelu",
                                         "Pow",
                                         "Reciprocal",
                                         "Relu",
                                         "Reshape",
                                         "Round",
                                         "Selu",
                                         "Shape",
                                         "Sigmoid",
                                         "Sign",
                                         "Sin",
                                         "Softplus",
                                         "Softsign",
                                         "SpaceToDepth",
                                         "Sqrt",
                                         "Sub",
                                         "Sum",
                                         "Tanh",
                                         "Where",
                                         "Xor"};
  return ops;
}

// Ops that keep each image apart when `axis` (attribute, default given) is not the batch.
const std::map<std::string, int64_t>& axis_ops() {
  static const std::map<std::string, int64_t> ops{
      {"ArgMax", 0},           {"ArgMin", 0},         {"Concat", 0},
      {"DequantizeLinear", 1}, {"Flatten", 1},        {"Gather", 0},
      {"GatherElements", 0},   {"Hardmax", -1},       {"LayerNormalization", -1},
      {"LogSoftmax", -1},      {"QuantizeLinear", 1}, {"RMSNormalization", -1},
      {"Softmax", -1},         {"Split", 0},          {"TopK", -1}};
  return ops;
}

// Ops that keep each image apart when their axes (attribute or constant input 1) leave the
// batch out; absent axes mean all of them.
const std::set<std::string>& axes_ops() {
  static const std::set<std::string> ops{
      "ReduceL1",   "ReduceL2",  "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
      "ReduceMean", "ReduceMin", "ReduceProd",   "ReduceSum",       "ReduceSumSquare",
      "Slice",      "Squeeze",   "Unsqueeze"};
  return ops;
}

int64_t normalized(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

bool has_batch(const ops::GraphInfo& big, const ops::GraphInfo& small, const std::string& v) {
  const auto b = big.values.find(v), s = small.values.find(v);
  return b != big.values.end() && s != small.values.end() && b->second.shape && s->second.shape &&
         *b->second.shape != *s->second.shape;
}

// The constant int64 contents of input `i`, or nullopt.
std::optional<std::vector<int64_t>> constant_ints(const ops::GraphInfo& info, const ir::Node& n,
                                                  size_t i) {
  if (!n.has_input(i)) return std::nullopt;
  const auto it = info.values.find(n.inputs[i]);
  if (it == info.values.end() || !it->second.value || it->second.value->dtype() != DType::kI64)
    return std::nullopt;
  const auto span = it->second.value->span<int64_t>();
  return std::vector<int64_t>(span.begin(), span.end());
}

// Why node `n` mixes the images of its first input, or "" when it does not.
std::string node_refusal(const ir::Node& n, const ops::GraphInfo& big,
                         const ops::GraphInfo& small) {
  // The passes' squeeze-excitation block pools over the spatial axes of each image (a split
  // plan is made on the graph after them).
  if (n.domain == "frugal" && n.op_type == ops::kSqueezeExcite) return "";
  if (!n.domain.empty() && n.domain != "ai.onnx") return n.describe() + " is not an ONNX op";
  const std::string& op = n.op_type;
  if (per_image_ops().count(op)) return "";
  const bool batched = n.has_input(0) && has_batch(big, small, n.inputs[0]);
  const size_t rank = batched ? big.at(n.inputs[0]).shape->size() : 0;
  const std::string mixes = n.describe() + " works across the batch dimension";
  if (const auto a = axis_ops().find(op); a != axis_ops().end()) {
    if (batched && normalized(n.attr_int("axis", a->second), rank) == 0) return mixes;
    return "";
  }
  if (axes_ops().count(op)) {
    if (!batched) return "";
    std::optional<std::vector<int64_t>> axes;
    if (n.has_attr("axes"))
      axes = n.attr_ints("axes");
    else if (op == "Slice")
      axes = n.has_input(3) ? constant_ints(big, n, 3) : std::vector<int64_t>{0};
    else if (n.has_input(1))
      axes = constant_ints(big, n, 1);
    else if (op.rfind("Reduce", 0) == 0 && n.attr_int("noop_with_empty_axes", 0) == 0)
      axes = std::vector<int64_t>{0};  // all axes
    else if (op == "Squeeze")
      return "";  // the unit dimensions: never a batch of several
    if (!axes) return n.describe() + ": axes known only at run time";
    // Unsqueeze's axes count in its output's rank.
    const size_t r = op == "Unsqueeze" ? rank + axes->size() : rank;
    for (int64_t x : *axes)
      if (normalized(x, r) == 0) return mixes;
    return "";
  }
  if (op == "Range") {
    // Counting up to the batch (indices of its images) would count per run.
    if (has_batch(big, small, n.outputs[0])) return mixes;
    return "";
  }
  if (op == "Transpose") {
    const std::vector<int64_t> perm = n.attr_ints("perm");
    if (batched && (perm.empty() ? rank > 1 : perm[0] != 0)) return mixes;
    return "";
  }
  if (op == "Gemm") {
    if (batched && n.attr_int("transA", 0) != 0) return mixes;
    return "";
  }
  if (op == "Tile") {
    const auto reps = constant_ints(big, n, 1);
    if (batched && (!reps || reps->empty() || (*reps)[0] != 1)) return mixes;
    return "";
  }
  if (op == "Pad" || op == "Resize" || op == "Upsample") {
    // The batch dimension neither padded nor scaled.
    if (batched && big.at(n.outputs[0]).shape &&
        (*big.at(n.outputs[0]).shape)[0] != (*big.at(n.inputs[0]).shape)[0])
      return mixes;
    return "";
  }
  return n.describe() + " is not known to keep the images apart";
}

// The batch all graph inputs share as dimension 0, or 0.
int64_t common_batch(const ir::Graph& graph, const ops::GraphInfo& big) {
  int64_t batch = 0;
  for (const auto& in : graph.inputs) {
    const Shape& s = big.input_shapes.at(in.name);
    if (s.empty() || (batch && s[0] != batch)) return 0;
    batch = s[0];
  }
  return batch;
}

size_t bytes_of(const ops::TensorInfo& t) {
  return t.shape ? static_cast<size_t>(shape_numel(*t.shape)) * dtype_size(t.dtype) : 0;
}

// Element-wise ops the passes fuse into their producer (activations, a residual sum) or
// that stream once through memory: counted as steps, their working sets would describe the
// graph as exported, not the plan that runs (a SiLU written as Sigmoid and Mul reads three
// tensors where the fused convolution writes one).
const std::set<std::string>& streaming_ops() {
  static const std::set<std::string> ops{
      "Abs",     "Add",      "Cast", "Clip",        "Div",       "Dropout",  "Elu",
      "Erf",     "Exp",      "Gelu", "HardSigmoid", "HardSwish", "Identity", "LeakyRelu",
      "Mish",    "Mul",      "Neg",  "PRelu",       "Pow",       "Relu",     "Selu",
      "Sigmoid", "Softplus", "Sqrt", "Sub",         "Sum",       "Tanh",     "Where"};
  return ops;
}

// The activation bytes each node reads and writes at the full batch as a step (values with
// a batch dimension; constants and batch-free values excluded), 0 for streaming_ops.
std::vector<size_t> step_bytes(const ir::Graph& graph, const ops::GraphInfo& big,
                               const ops::GraphInfo& small) {
  std::vector<size_t> bytes;
  for (const auto& n : graph.nodes) {
    size_t b = 0;
    if (!streaming_ops().count(n.op_type))
      for (const auto* list : {&n.inputs, &n.outputs})
        for (const auto& v : *list)
          if (!v.empty() && has_batch(big, small, v)) b += bytes_of(big.at(v));
    bytes.push_back(b);
  }
  return bytes;
}

// The ops a split plan's cut goes before: the split is made on the graph after the passes
// (plan stage split_prefix), which keep these nodes and their names, where they fuse an
// activation, a BatchNormalization or a residual sum into the node before it.
const std::set<std::string>& cut_ops() {
  static const std::set<std::string> ops{
      "AveragePool",       "Concat",        "Conv",   "ConvTranspose", "Flatten", "Gemm",
      "GlobalAveragePool", "GlobalMaxPool", "MatMul", "MaxPool",       "Resize"};
  return ops;
}

size_t counted_steps(const std::vector<size_t>& steps) {
  return static_cast<size_t>(std::count_if(steps.begin(), steps.end(), [](size_t b) { return b; }));
}

// Memory traffic saved by sub-batches of `size` out of `batch`: a step whose working set
// exceeds the cache moves its activations through memory, one that fits keeps them in
// cache; each sub-batch after the first reads the weights again, counted twice: weights
// that outgrow the cache stream through it more than once per run (session 14, 1 thread,
// CPU ms per batch-8 query: wide_resnet50_2, 276 MB of weights, 1669 in 4 runs of 2 against
// 1616 in one run; mnasnet1_0 57.6 in 4 runs of 2, 54.6 in 2 of 4).
double traffic_saved(const std::vector<size_t>& steps, int64_t batch, int64_t size, size_t weights,
                     size_t cache, size_t end = SIZE_MAX) {
  double saved = 0;
  for (size_t i = 0; i < std::min(end, steps.size()); ++i) {
    const size_t full = steps[i];
    const double part = static_cast<double>(full) * static_cast<double>(size) / double(batch);
    if (static_cast<double>(full) > double(cache) && part <= double(cache))
      saved += static_cast<double>(full);
  }
  constexpr double kWeightReads = 2.0;  // per run, weights over the cache (above)
  return saved -
         kWeightReads * static_cast<double>(batch / size - 1) * static_cast<double>(weights);
}

// The largest cache the kernel describes for CPU 0 (sysfs), 0 when it describes none.
size_t sysfs_last_level_cache_bytes() {
  size_t best = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream size(dir + "size"), type(dir + "type");
    std::string s, t;
    if (!(size >> s) || !(type >> t) || t == "Instruction") continue;
    char* end = nullptr;
    size_t v = std::strtoull(s.c_str(), &end, 10);
    if (end && *end == 'K') v <<= 10;
    if (end && *end == 'M') v <<= 20;
    best = std::max(best, v);
  }
  return best;
}

constexpr double kMinSavedShare = 0.1;
// A split plan adds steps of its own (the Split, the Concats) that the bytes understate: it
// must save a hundredth of the activation traffic more than the best whole-graph choice.
constexpr double kMinSplitGain = 0.01;

SubBatch none(int64_t batch, std::string why) {
  return {batch, batch, std::move(why)};
}

}  // namespace

ops::InferOptions with_batch(const ops::InferOptions& infer,
                             const std::map<std::string, Shape>& input_shapes, int64_t size) {
  ops::InferOptions out = infer;
  out.batch = size;
  for (const auto& [name, shape] : input_shapes) {
    Shape s = shape;
    if (!s.empty()) s[0] = size;
    out.input_shapes[name] = s;
  }
  return out;
}

namespace {

std::string refusal(const ir::Graph& graph, const ops::InferOptions& infer,
                    const ops::GraphInfo& big, int64_t small_batch) {
  const int64_t batch = common_batch(graph, big);
  if (batch < 2) return "the graph inputs share no batch dimension above 1";
  if (small_batch < 1 || batch % small_batch != 0)
    return "a sub-batch of " + std::to_string(small_batch) + " does not divide the batch of " +
           std::to_string(batch);
  ops::GraphInfo small;
  try {
    small = ops::infer_graph(graph, with_batch(infer, big.input_shapes, small_batch));
  } catch (const std::exception& e) {
    return std::string("shapes at batch ") + std::to_string(small_batch) + ": " + e.what();
  }
  for (const auto& [name, b] : big.values) {
    const auto s = small.values.find(name);
    if (s == small.values.end() || !b.shape || !s->second.shape)
      return "value '" + name + "' has a shape known only at run time";
    const Shape &x = *b.shape, &y = *s->second.shape;
    if (x == y) continue;
    if (x.empty() || x.size() != y.size() || !std::equal(x.begin() + 1, x.end(), y.begin() + 1) ||
        x[0] * small_batch != y[0] * batch)
      return "value '" + name + "' is " + shape_str(x) + " at batch " + std::to_string(batch) +
             " but " + shape_str(y) + " at batch " + std::to_string(small_batch);
  }
  for (const auto& out : graph.outputs)
    if (!has_batch(big, small, out.name))
      return "graph output '" + out.name + "' has no batch dimension";
  for (const auto& n : graph.nodes)
    if (std::string why = node_refusal(n, big, small); !why.empty()) return why;
  return "";
}

}  // namespace

std::string sub_batch_refusal(const ir::Graph& graph, const ops::InferOptions& infer,
                              int64_t small_batch) {
  return refusal(graph, infer, ops::infer_graph(graph, infer), small_batch);
}

namespace {

// A split plan's prefix: the weights its nodes read and the activation bytes crossing the
// cut, or why it cannot be one.
struct Prefix {
  std::string refusal;
  size_t weights = 0, crossing = 0;
};

// The prefixes [0, p) of `graph` for every p (index p), as split plans at `small` images.
std::vector<Prefix> prefixes(const ir::Graph& graph, const ops::GraphInfo& big,
                             const ops::GraphInfo& small) {
  const auto batched = [&](const std::string& v) { return has_batch(big, small, v); };
  const size_t n = graph.nodes.size();
  std::vector<Prefix> out(n + 1);
  // Per node, the last node reading each value (graph outputs read at n).
  std::map<std::string, size_t> last_read;
  for (size_t i = 0; i < n; ++i)
    for (const auto& v : graph.nodes[i].inputs) last_read[v] = i;
  for (const auto& o : graph.outputs) last_read[o.name] = n;
  const std::set<std::string> copied = copied_values(graph, n, batched);
  std::set<std::string> weights_seen;
  size_t weights = 0, crossing = 0;
  std::set<std::string> live;  // copied values produced before the cut and read after it
  std::string refused;
  for (size_t p = 0; p <= n; ++p) {
    out[p] = {refused, weights, crossing};
    if (refused.empty()) {
      for (const auto& v : live)
        if (!batched(v)) out[p].refusal = "value '" + v + "' crosses the cut without a batch";
    }
    if (p == n) break;
    const ir::Node& node = graph.nodes[p];
    if (refused.empty()) refused = node_refusal(node, big, small);
    for (const auto& v : node.inputs) {
      if (const Tensor* t = graph.initializer(v); t && weights_seen.insert(v).second)
        weights += t->nbytes();
      if (live.count(v) && last_read[v] <= p) {
        live.erase(v);
        crossing -= bytes_of(big.at(v));
      }
    }
    for (const auto& o : node.outputs)
      if (copied.count(o) && last_read.count(o) && last_read[o] > p) {
        live.insert(o);
        crossing += bytes_of(big.at(o));
      }
  }
  return out;
}

SubBatch split(int64_t batch, int64_t size, size_t prefix, const ir::Graph& graph,
               std::string why) {
  SubBatch s{batch, size, std::move(why)};
  s.prefix_nodes = prefix;
  s.until = prefix < graph.nodes.size() ? graph.nodes[prefix].name : "";
  return s;
}

// The split plan that saves the most memory traffic, if more than `to_beat` (size 0 if
// none does): the prefix's steps save their bytes as in traffic_saved, its weights are
// read again per sub-batch, and the values crossing the cut are copied into the whole
// batch's buffer (read and written).
struct Cut {
  int64_t size = 0;
  size_t prefix = 0;
  double saved = 0;
};

Cut best_cut(const ir::Graph& graph, const ops::GraphInfo& big, const ops::GraphInfo& one,
             const std::vector<size_t>& steps, size_t cache_bytes, double to_beat) {
  const int64_t batch = common_batch(graph, big);
  const std::vector<Prefix> cuts = prefixes(graph, big, one);
  Cut best{0, 0, to_beat};
  for (int64_t size = batch / 2; size >= 1; --size) {
    if (batch % size) continue;
    for (size_t p = 1; p < graph.nodes.size(); ++p) {
      if (!cuts[p].refusal.empty() || !cut_ops().count(graph.nodes[p].op_type)) continue;
      const double saved = traffic_saved(steps, batch, size, cuts[p].weights, cache_bytes, p) -
                           2.0 * static_cast<double>(cuts[p].crossing);
      if (saved > best.saved) best = {size, p, saved};
    }
  }
  return best;
}

// Why nodes [0, p) (p: the index of node `until`) cannot run in sub-batches of `size`
// with the rest over the whole batch, or "" (then `small` holds the shapes at `size`).
std::string split_refusal(const ir::Graph& graph, const ops::InferOptions& infer,
                          const ops::GraphInfo& big, int64_t size, const std::string& until,
                          size_t& p, ops::GraphInfo& small) {
  p = 0;
  while (p < graph.nodes.size() && graph.nodes[p].name != until) ++p;
  if (p == graph.nodes.size()) return "the graph has no such node";
  if (p == 0) return "it is the first node";
  const int64_t batch = common_batch(graph, big);
  if (batch < 2 || size < 1 || size >= batch || batch % size != 0)
    return std::to_string(size) + " does not divide the batch of " + std::to_string(batch) +
           " into several runs";
  try {
    small = ops::infer_graph(graph, with_batch(infer, big.input_shapes, size));
  } catch (const std::exception& e) {
    return "shapes at batch " + std::to_string(size) + ": " + e.what();
  }
  return prefixes(graph, big, small)[p].refusal;
}

}  // namespace

SubBatch choose_sub_batch(const ir::Graph& graph, const ops::InferOptions& infer, int64_t requested,
                          size_t cache_bytes, const std::string& until, bool splits) {
  const ops::GraphInfo big = ops::infer_graph(graph, infer);
  const int64_t batch = common_batch(graph, big);
  if (requested < 0) return none(batch, "off");
  if (requested > 0 && !until.empty()) {
    size_t p = 0;
    ops::GraphInfo small;
    if (std::string why = split_refusal(graph, infer, big, requested, until, p, small);
        !why.empty())
      throw UserError("sub-batch " + std::to_string(requested) + " until node '" + until +
                      "': " + why);
    return split(batch, requested, p, graph, "requested");
  }
  if (requested > 0) {
    if (requested == batch) return none(batch, "requested: the whole batch");
    if (std::string why = refusal(graph, infer, big, requested); !why.empty())
      throw UserError("sub-batch " + std::to_string(requested) + ": " + why);
    return {batch, requested, "requested",
            with_batch(infer, big.input_shapes, requested).input_shapes};
  }
  if (batch < 2) return none(batch, "batch " + std::to_string(batch));
  // The working set per step from the shapes at batch 1 against the full batch.
  ops::GraphInfo one;
  try {
    one = ops::infer_graph(graph, with_batch(infer, big.input_shapes, 1));
  } catch (const std::exception&) {
    return none(batch, "shapes at batch 1 do not follow");
  }
  const std::vector<size_t> steps = step_bytes(graph, big, one);
  size_t weights = 0;
  for (const auto& [name, t] : graph.initializers) weights += t.nbytes();
  int64_t best = batch;
  double best_saved = 0;
  for (int64_t size = batch / 2; size >= 1; --size) {
    if (batch % size) continue;
    const double saved = traffic_saved(steps, batch, size, weights, cache_bytes);
    if (saved > best_saved) best = size, best_saved = saved;
  }
  double total = 0;
  for (size_t b : steps) total += static_cast<double>(b);
  const char* no_split = std::getenv("FRUGAL_NO_SPLIT_PLAN");  // the A/B switch
  const Cut cut =
      splits && !(no_split && std::string(no_split) == "1")
          ? best_cut(graph, big, one, steps, cache_bytes, best_saved + kMinSplitGain * total)
          : Cut{};
  const int64_t split_size = cut.size;
  const double saved = split_size ? cut.saved : best_saved;
  const std::string cache = std::to_string(cache_bytes >> 20) + " MiB";
  if (best == batch && !split_size)
    return none(batch, "the steps' activations fit in " + cache + " or weights outweigh them");
  // Each run pays every step's fixed cost again (a call, a wake-up of the other threads),
  // which the bytes do not show: below a tenth of the traffic, the splits measured no gain
  // (bench/RESULTS.md, "Sub-batches").
  const int64_t chosen = split_size ? split_size : best;
  if (saved < kMinSavedShare * total)
    return none(batch, "sub-batches of " + std::to_string(chosen) + " would save under " +
                           std::to_string(static_cast<int>(kMinSavedShare * 100)) +
                           " % of the memory traffic");
  const std::string why = "steps' activations over " + cache + " of cache at batch " +
                          std::to_string(batch) + ": " +
                          std::to_string(static_cast<int64_t>(saved / (1 << 20))) +
                          " MiB less memory traffic per run (of " +
                          std::to_string(static_cast<int64_t>(total / (1 << 20))) + " MiB, " +
                          std::to_string(counted_steps(steps)) + " steps)";
  if (split_size) return split(batch, split_size, cut.prefix, graph, why);
  if (std::string r = refusal(graph, infer, big, best); !r.empty()) return none(batch, r);
  return {batch, best, why, with_batch(infer, big.input_shapes, best).input_shapes};
}

std::optional<ir::Graph> split_at(const ir::Graph& graph, const ops::InferOptions& infer,
                                  const ops::GraphInfo& big, int64_t size, const std::string& until,
                                  std::string& why) {
  size_t p = 0;
  ops::GraphInfo small;
  why = split_refusal(graph, infer, big, size, until, p, small);
  if (!why.empty()) return std::nullopt;
  return split_batch(graph, p, size, common_batch(graph, big),
                     [&](const std::string& v) { return has_batch(big, small, v); });
}

size_t sub_batch_cache_bytes(int threads) {
  if (const char* kb = std::getenv("FRUGAL_SUB_BATCH_CACHE_KB")) {
    char* end = nullptr;
    const long long v = std::strtoll(kb, &end, 10);
    if (!end || *end || v <= 0)
      throw UserError("FRUGAL_SUB_BATCH_CACHE_KB: expected a positive number of KiB, got '" +
                      std::string(kb) + "'");
    return static_cast<size_t>(v) << 10;
  }
  size_t last =
      last_level_cache_from(sysfs_last_level_cache_bytes(), sysconf(_SC_LEVEL3_CACHE_SIZE),
                            sysconf(_SC_LEVEL2_CACHE_SIZE), threads);
  if (last == 0) last = size_t{8} << 20;
  return last / 2;
}

size_t last_level_cache_from(size_t sysfs, long sysconf_l3, long sysconf_l2, int threads) {
  if (sysfs) return sysfs;
  if (sysconf_l3 > 0 && static_cast<size_t>(sysconf_l3) > kMaxCoreComplexL3)
    return kVmL3PerThread * static_cast<size_t>(std::max(threads, 1));
  return static_cast<size_t>(std::max({sysconf_l3, sysconf_l2, 0L}));
}

}  // namespace frugal::runtime
