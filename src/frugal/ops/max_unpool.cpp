// MaxUnpool (opsets 9, 11): the partial inverse of MaxPool. The unpooled tensor, of
// spatial size (in - 1) * stride + kernel - pad_begin - pad_end, is zero except at the
// positions in I, which receive the values of X; I holds offsets into that whole tensor
// flattened (as MaxPool's Indices output gives them). The optional output_shape input
// (whose contents must then be known) may ask for a larger output: the unpooled tensor
// then sits at its origin, zero-padded at the end of each dimension, as in ONNX's
// reference implementation and its conformance data.
#include <cstring>
#include <vector>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/elementwise.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

// The unpooled shape from the attributes; fails naming the node for bad attributes.
Shape unpooled_shape(const ir::Node& node, const Shape& x) {
  const size_t n = x.size() - 2;
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  const std::vector<int64_t> strides = node.attr_ints("strides", std::vector<int64_t>(n, 1));
  const std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (kernel.size() != n || strides.size() != n || pads.size() != 2 * n)
    fail(node,
         "kernel_shape, strides and pads must have one value (pads two) per spatial "
         "dimension of X " +
             shape_str(x));
  constexpr int64_t kMax = int64_t{1} << 31;
  Shape y = {x[0], x[1]};
  for (size_t d = 0; d < n; ++d) {
    if (kernel[d] < 1 || kernel[d] > kMax || strides[d] < 1 || strides[d] > kMax || pads[d] < 0 ||
        pads[d] > kMax || pads[d + n] < 0 || pads[d + n] > kMax)
      fail(node, "kernel_shape, strides or pads out of range");
    // Both factors are below 2^63 but their product need not be: check it in double.
    if (double(x[d + 2]) * double(strides[d]) > 0x1p62)
      fail(node, "the unpooled size of dimension " + std::to_string(d + 2) + " overflows");
    const int64_t size = (x[d + 2] - 1) * strides[d] + kernel[d] - pads[d] - pads[d + n];
    if (size < 0) fail(node, "pads exceed the unpooled size of dimension " + std::to_string(d + 2));
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
  const Shape unpooled = unpooled_shape(ctx.node(), x);
  Shape y = unpooled;
  if (ctx.has_input(2)) {
    y = int_list_input(ctx.node(), ctx.require_value(2), "output_shape");
    if (y.size() != x.size() || y[0] != x[0] || y[1] != x[1])
      ctx.fail("output_shape " + shape_str(y) + " does not match X " + shape_str(x) +
               " in rank, batch or channels");
    for (size_t d = 2; d < y.size(); ++d)
      if (y[d] < unpooled[d])
        ctx.fail("output_shape " + shape_str(y) + " is smaller than the unpooled shape " +
                 shape_str(unpooled));
  }
  ctx.set_output(0, ctx.dtype(0), y);
}

void ref_max_unpool(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int64_t* idx = ctx.input(1).data<int64_t>();
  const Shape unpooled = unpooled_shape(ctx.node(), x.shape());
  const int64_t unpooled_numel = shape_numel(unpooled);
  const std::vector<int64_t> out_strides = strides_of(y.shape());
  const size_t es = dtype_size(x.dtype());
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(y.raw());
  std::memset(dst, 0, y.nbytes());
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (idx[i] < 0 || idx[i] >= unpooled_numel)
      ctx.fail("index " + std::to_string(idx[i]) + " is outside the unpooled tensor " +
               shape_str(unpooled));
    // Coordinates in the unpooled tensor, then the offset of the same coordinates in Y.
    int64_t rest = idx[i], offset = 0;
    for (size_t d = unpooled.size(); d-- > 0;) {
      offset += (rest % unpooled[d]) * out_strides[d];
      rest /= unpooled[d];
    }
    std::memcpy(dst + static_cast<size_t>(offset) * es, src + static_cast<size_t>(i) * es, es);
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
