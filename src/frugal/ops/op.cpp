#include "frugal/ops/op.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

namespace frugal::ops {

void check_fits_in_memory(const std::string& value, DType dtype, const Shape& shape) {
  int64_t n;
  try {
    n = shape_numel(shape);
  } catch (const UserError&) {
    throw UserError("value '" + value + "' has shape " + shape_str(shape) +
                    " whose size overflows");
  }
  size_t es = std::max<size_t>(dtype_size(dtype), 1);
  if (static_cast<uint64_t>(n) > max_tensor_bytes() / es)
    throw UserError("value '" + value + "' of shape " + shape_str(shape) +
                    " needs more memory than this machine has");
}

InferContext::InferContext(const ir::Node& node, int64_t opset,
                           std::vector<const TensorInfo*> inputs)
    : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(node.outputs.size()) {}

DType InferContext::dtype(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required");
  // Produced by a node whose outputs are only known at run time.
  if (inputs_[i]->dtype == DType::kUndefined && !inputs_[i]->shape) throw DataDependentShape{};
  return inputs_[i]->dtype;
}

const Shape& InferContext::shape(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required");
  if (!inputs_[i]->shape) throw DataDependentShape{};
  return *inputs_[i]->shape;
}

const Tensor* InferContext::value(size_t i) const {
  if (!has_input(i) || !inputs_[i]->value) return nullptr;
  return &*inputs_[i]->value;
}

const Tensor& InferContext::require_value(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is required");
  if (!inputs_[i]->value) throw DataDependentShape{};
  return *inputs_[i]->value;
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  if (i >= outputs_.size()) return;  // optional output not requested
  check_fits_in_memory(node_.outputs[i], dtype, shape);
  outputs_[i].dtype = dtype;
  outputs_[i].shape = std::move(shape);
  outputs_[i].value.reset();
}

void InferContext::set_output_value(size_t i, Tensor value) {
  if (i >= outputs_.size()) return;
  outputs_[i].dtype = value.dtype();
  outputs_[i].shape = value.shape();
  outputs_[i].value = std::move(value);
}

void InferContext::fail(const std::string& why) const {
  throw UserError(node_.describe() + ": " + why);
}
void InferContext::unsupported(const std::string& why) const {
  throw UnsupportedError(node_.describe() + ": " + why);
}

int64_t InferContext::axis(int64_t axis, int64_t rank) const {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1))
    fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return a;
}

void InferContext::require_same_dtype(size_t a, size_t b) const {
  if (dtype(a) != dtype(b))
    fail("inputs " + std::to_string(a) + " and " + std::to_string(b) + " differ in dtype (" +
         std::string(dtype_name(dtype(a))) + " vs " + std::string(dtype_name(dtype(b))) + ")");
}

void InferContext::require_dtype(size_t i, std::initializer_list<DType> allowed) const {
  DType t = dtype(i);
  for (DType a : allowed)
    if (a == t) return;
  unsupported("input " + std::to_string(i) + " has dtype " + std::string(dtype_name(t)) +
              ", which is not supported");
}

const Tensor& KernelContext::input(size_t i) const {
  if (!has_input(i)) fail("input " + std::to_string(i) + " is missing");
  return *inputs_[i];
}
Tensor& KernelContext::output(size_t i) const {
  if (!has_output(i)) fail("output " + std::to_string(i) + " is missing");
  return *outputs_[i];
}
void KernelContext::fail(const std::string& why) const {
  throw UserError(node_.describe() + ": " + why);
}

namespace {
struct Registry {
  std::mutex mu;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<OpDef>> ops;
};
Registry& registry() {
  static Registry r;
  return r;
}
std::string normal_domain(std::string_view d) {
  return d == "ai.onnx" ? std::string() : std::string(d);
}
}  // namespace

void register_op(OpDef def) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto key = std::make_pair(normal_domain(def.domain), def.op_type);
  if (r.ops.count(key)) throw InternalError("operator registered twice: " + def.op_type);
  r.ops[key] = std::make_unique<OpDef>(std::move(def));
}

const OpDef* find_op(std::string_view domain, std::string_view op_type) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.ops.find({normal_domain(domain), std::string(op_type)});
  return it == r.ops.end() ? nullptr : it->second.get();
}

std::vector<const OpDef*> all_ops() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<const OpDef*> v;
  for (auto& [k, d] : r.ops) v.push_back(d.get());
  std::sort(v.begin(), v.end(),
            [](const OpDef* a, const OpDef* b) { return a->op_type < b->op_type; });
  return v;
}

std::vector<Tensor> evaluate(const ir::Node& node, int64_t opset,
                             const std::vector<Tensor>& inputs) {
  const OpDef* def = find_op(node.domain, node.op_type);
  if (!def) throw UnsupportedError(node.describe() + ": operator is not supported");
  std::vector<TensorInfo> infos(inputs.size());
  std::vector<const TensorInfo*> ptrs(inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !node.has_input(i)) continue;
    infos[i] = {inputs[i].dtype(), inputs[i].shape(), inputs[i]};
    ptrs[i] = &infos[i];
  }
  InferContext ictx(node, opset, ptrs);
  def->infer(ictx);
  std::vector<Tensor> outs(node.outputs.size());
  std::vector<Tensor*> out_ptrs(node.outputs.size(), nullptr);
  bool all_known = true;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (node.outputs[i].empty()) continue;
    auto& oi = ictx.outputs()[i];
    if (oi.value) {
      outs[i] = *oi.value;
    } else {
      all_known = false;
      if (!oi.shape) throw InternalError(node.describe() + ": inference left output unset");
      outs[i] = Tensor(oi.dtype, *oi.shape);
    }
    out_ptrs[i] = &outs[i];
  }
  if (!all_known) {
    std::vector<const Tensor*> in_ptrs(inputs.size(), nullptr);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].defined() && node.has_input(i)) in_ptrs[i] = &inputs[i];
    KernelContext kctx(node, opset, in_ptrs, out_ptrs);
    def->ref(kctx);
  }
  return outs;
}

}  // namespace frugal::ops
