// Constant (a tensor given as an attribute) and ConstantOfShape (a filled tensor whose
// shape is an input).
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

// The constant's value from whichever single value attribute the node carries.
Tensor constant_value(const ir::Node& node) {
  static const char* const kKeys[] = {"value",         "value_float", "value_floats",
                                      "value_int",     "value_ints",  "value_string",
                                      "value_strings", "sparse_value"};
  const char* key = nullptr;
  for (const char* k : kKeys) {
    if (!node.has_attr(k)) continue;
    if (key) fail(node, "has both '" + std::string(key) + "' and '" + k + "'");
    key = k;
  }
  if (!key) fail(node, "has no value attribute");
  const std::string k = key;
  if (k == "value") {
    const Tensor& t = node.attr_tensor("value");
    if (!t.defined() || t.dtype() == DType::kString)
      throw UnsupportedError(node.describe() + ": string constants are not supported");
    return t;
  }
  if (k == "value_float") return Tensor::scalar<float>(node.attr_float("value_float", 0.0f));
  if (k == "value_int") return Tensor::scalar<int64_t>(node.attr_int("value_int"));
  if (k == "value_floats") {
    auto v = node.attr_floats("value_floats");
    return Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  }
  if (k == "value_ints") {
    auto v = node.attr_ints("value_ints");
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  }
  throw UnsupportedError(node.describe() + ": attribute '" + k + "' is not supported");
}

void infer_constant(InferContext& ctx) {
  ctx.set_output_value(0, constant_value(ctx.node()));
}

void ref_constant(KernelContext& ctx) {
  const Tensor v = constant_value(ctx.node());
  if (v.nbytes()) std::memcpy(ctx.output(0).raw(), v.raw(), v.nbytes());
}

// ConstantOfShape's fill: a one-element tensor attribute, float 0 by default.
Tensor fill_value(const ir::Node& node) {
  if (!node.has_attr("value")) return Tensor::scalar<float>(0.0f);
  const Tensor& v = node.attr_tensor("value");
  if (!v.defined() || v.dtype() == DType::kString)
    throw UnsupportedError(node.describe() + ": string values are not supported");
  if (v.numel() != 1)
    fail(node, "value must hold exactly one element, it has " + std::to_string(v.numel()));
  return v;
}

void infer_constant_of_shape(InferContext& ctx) {
  const Tensor fill = fill_value(ctx.node());
  const auto dims = int_list_input(ctx.node(), ctx.require_value(0), "input");
  for (int64_t d : dims)
    if (d < 0) ctx.fail("shape " + shape_str(dims) + " has a negative dimension");
  shape_numel(dims);
  ctx.set_output(0, fill.dtype(), dims);
}

void ref_constant_of_shape(KernelContext& ctx) {
  const Tensor fill = fill_value(ctx.node());
  Tensor& y = ctx.output(0);
  const size_t esize = dtype_size(y.dtype());
  char* dst = static_cast<char*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(dst + i * esize, fill.raw(), esize);
}

}  // namespace

FRUGAL_REGISTER_OP(Constant, OpDef{.op_type = "Constant",
                                   .min_inputs = 0,
                                   .max_inputs = 0,
                                   .infer = infer_constant,
                                   .ref = ref_constant,
                                   .cost = no_arithmetic});
FRUGAL_REGISTER_OP(ConstantOfShape, OpDef{.op_type = "ConstantOfShape",
                                          .infer = infer_constant_of_shape,
                                          .ref = ref_constant_of_shape,
                                          .cost = no_arithmetic});

}  // namespace frugal::ops
