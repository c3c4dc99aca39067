// MaxUnpool (opsets 9, 11): the partial inverse of MaxPool. The output is zero except at
// the positions in I, which receive the values of X; I holds offsets into the whole
// output tensor flattened (as MaxPool's Indices output gives them). The output's spatial
// size is (in - 1) * stride + kernel - pad_begin - pad_end, or the optional output_shape
// input (whose contents must then be known).
#include <cstring>
#include <vector>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

// Default output size from the attributes; fails naming the node for bad attributes.
Shape default_output_shape(const InferContext& ctx, const Shape& x) {
  const ir::Node& node = ctx.node();
  const size_t n = x.size() - 2;
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  const std::vector<int64_t> strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n)
    ctx.fail("kernel_shape, strides and pads must have one value (pads two) per spatial "
             "dimension of X " + shape_str(x));
  constexpr int64_t kMax = int64_t{1} << 31;
  Shape y = {x[0], x[1]};
  for (size_t d = 0; d < n; ++d) {
    if (kernel[d] < 1 || kernel[d] > kMax || strides[d] < 1 || strides[d] > kMax ||
        pads[d] < 0 || pads[d] > kMax || pads[d + n] < 0 || pads[d + n] > kMax)
      ctx.fail("kernel_shape, strides or pads out of range");
    const int64_t size = (x[d + 2] - 1) * strides[d] + kernel[d] - pads[d] - pads[d + n];
    if (size < 0) ctx.fail("pads exceed the unpooled size of dimension " + std::to_string(d + 2));
    y.push_back(size);
  }
  return y;
}

void infer_max_unpool(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  const Shape& x = ctx.shape(0);
  if (x.size() < 3) ctx.fail("X has shape " + shape_str(x) + ", expected N x C x D1 ...");
  if (ctx.dtype(1) != DType::kI64) ctx.fail("I must be int64");
  if (ctx.shape(1) != x)
    ctx.fail("I has shape " + shape_str(ctx.shape(1)) + ", expected X's " + shape_str(x));
  Shape y = default_output_shape(ctx, x);
  if (ctx.has_input(2)) {
    const Tensor& shape = ctx.require_value(2);
    y = int_list_input(ctx.node(), shape, "output_shape");
    if (y.size() != x.size() || y[0] != x[0] || y[1] != x[1])
      ctx.fail("output_shape " + shape_str(y) + " does not match X " + shape_str(x) +
               " in rank, batch or channels");
    for (int64_t d : y)
      if (d < 0) ctx.fail("output_shape " + shape_str(y) + " has a negative dimension");
  }
  ctx.set_output(0, ctx.dtype(0), y);
}

void ref_max_unpool(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int64_t* idx = ctx.input(1).data<int64_t>();
  const size_t es = dtype_size(x.dtype());
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(y.raw());
  std::memset(dst, 0, y.nbytes());
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (idx[i] < 0 || idx[i] >= y.numel())
      ctx.fail("index " + std::to_string(idx[i]) + " is outside the output of " +
               std::to_string(y.numel()) + " elements");
    std::memcpy(dst + static_cast<size_t>(idx[i]) * es, src + static_cast<size_t>(i) * es, es);
  }
}

}  // namespace

FRUGAL_REGISTER_OP(MaxUnpool, OpDef{.op_type = "MaxUnpool",
                                    .min_inputs = 2,
                                    .max_inputs = 3,
                                    .infer = infer_max_unpool,
                                    .ref = ref_max_unpool,
                                    .cost = no_arithmetic});

}  // namespace frugal::ops
