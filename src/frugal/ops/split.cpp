// Split: cuts the input along one axis into the outputs, by given sizes or equally.
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

// The size of each output along the axis. `split_input` is input 1 (opset 13+) or null.
std::vector<int64_t> split_sizes(const ir::Node& node, int64_t dim, size_t num_outputs,
                                 const Tensor* split_input) {
  std::vector<int64_t> sizes;
  if (split_input && split_input->numel() > 0) {
    sizes = int_list_input(node, *split_input, "split");
  } else if (node.has_attr("split")) {
    sizes = node.attr_ints("split");
  } else if (node.has_attr("num_outputs")) {
    // Opset 18: chunks of ceil(dim / n), the last one smaller when dim does not divide.
    const int64_t n = node.attr_int("num_outputs");
    if (n < 1 || static_cast<size_t>(n) != num_outputs)
      fail(node, "num_outputs " + std::to_string(n) + " does not match its " +
                     std::to_string(num_outputs) + " outputs");
    const int64_t chunk = (dim + n - 1) / n;
    if (chunk * (n - 1) > dim)
      fail(node, "axis of size " + std::to_string(dim) + " cannot be split into " +
                     std::to_string(n) + " chunks of " + std::to_string(chunk));
    sizes.assign(static_cast<size_t>(n - 1), chunk);
    sizes.push_back(dim - chunk * (n - 1));
  } else {
    const int64_t n = static_cast<int64_t>(num_outputs);
    if (dim % n != 0)
      fail(node, "axis of size " + std::to_string(dim) + " cannot be split equally into " +
                     std::to_string(n) + " outputs");
    sizes.assign(num_outputs, dim / n);
  }
  if (sizes.size() != num_outputs)
    fail(node, "split has " + std::to_string(sizes.size()) + " entries for " +
                   std::to_string(num_outputs) + " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail(node, "split entry " + std::to_string(s) + " is negative");
    total += s;
  }
  if (total != dim)
    fail(node, "split sizes add up to " + std::to_string(total) + ", the axis has " +
                   std::to_string(dim));
  return sizes;
}

void infer_split(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const int64_t r = static_cast<int64_t>(in.size());
  if (r == 0) ctx.fail("cannot split a scalar");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 0), r);
  const Tensor* split = nullptr;
  if (ctx.has_input(1) && shape_numel(ctx.shape(1)) > 0) split = &ctx.require_value(1);
  const auto sizes = split_sizes(ctx.node(), in[axis], ctx.num_outputs(), split);
  for (size_t k = 0; k < sizes.size(); ++k) {
    Shape s = in;
    s[axis] = sizes[k];
    ctx.set_output(k, ctx.dtype(0), s);
  }
}

void ref_split(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t r = x.rank();
  int64_t axis = ctx.node().attr_int("axis", 0);
  if (axis < 0) axis += r;
  const Tensor* split = ctx.has_input(1) ? &ctx.input(1) : nullptr;
  const auto sizes = split_sizes(ctx.node(), x.shape()[axis], ctx.num_outputs(), split);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= x.shape()[d];
  const size_t esize = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < sizes.size(); ++k) {
      const size_t block = static_cast<size_t>(sizes[k] * inner) * esize;
      if (block && ctx.has_output(k))
        std::memcpy(static_cast<char*>(ctx.output(k).raw()) + o * block, src, block);
      src += block;
    }
  }
}

}  // namespace

FRUGAL_REGISTER_OP(Split, OpDef{.op_type = "Split",
                                .max_inputs = 2,
                                .max_outputs = -1,
                                .infer = infer_split,
                                .ref = ref_split,
                                .cost = no_arithmetic});

}  // namespace frugal::ops
