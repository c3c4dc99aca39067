// Slice: a strided window of the input (opset 1: attributes; opset 10+: inputs with steps).
#include <algorithm>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/slice_plan.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

}  // namespace

std::vector<AxisWindow> plan_slice(const ir::Node& node, int64_t opset, const Shape& in,
                                   const Tensor* starts_t, const Tensor* ends_t,
                                   const Tensor* axes_t, const Tensor* steps_t) {
  const int64_t r = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    starts = node.attr_ints("starts");
    ends = node.attr_ints("ends");
    if (!node.has_attr("starts") || !node.has_attr("ends"))
      fail(node, "needs 'starts' and 'ends' attributes");
    axes = node.attr_ints("axes");
  } else {
    if (!starts_t || !ends_t) fail(node, "needs 'starts' and 'ends' inputs");
    starts = int_list_input(node, *starts_t, "starts");
    ends = int_list_input(node, *ends_t, "ends");
    if (axes_t) axes = int_list_input(node, *axes_t, "axes");
    if (steps_t) steps = int_list_input(node, *steps_t, "steps");
  }
  const size_t n = starts.size();
  if (ends.size() != n) fail(node, "starts and ends differ in length");
  if (axes.empty()) {
    if (static_cast<int64_t>(n) > r)
      fail(node, std::to_string(n) + " starts for an input of rank " + std::to_string(r));
    for (size_t i = 0; i < n; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n)
    fail(node, "starts, ends, axes and steps differ in length");

  std::vector<AxisWindow> plan(in.size());
  for (int64_t d = 0; d < r; ++d) plan[d] = {0, 1, in[d]};
  std::vector<bool> seen(in.size(), false);
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + r : axes[i];
    if (axis < 0 || axis >= r)
      fail(node,
           "axis " + std::to_string(axes[i]) + " is out of range for rank " + std::to_string(r));
    if (seen[axis]) fail(node, "axis " + std::to_string(axes[i]) + " is repeated");
    seen[axis] = true;
    const int64_t dim = in[axis], step = steps[i];
    if (step == 0) fail(node, "step 0 on axis " + std::to_string(axes[i]));
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;  // cannot overflow: start < 0 <= dim
    if (end < 0) end += dim;
    // Clamp as the spec says: [0, dim] going forward, [-1, dim - 1] going backward.
    uint64_t span = 0;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      span = end > start ? static_cast<uint64_t>(end - start) : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - 1, 0));
      end = std::clamp<int64_t>(end, -1, dim - 1);
      span = start > end && dim > 0 ? static_cast<uint64_t>(start - end) : 0;
    }
    // |step| without overflowing on INT64_MIN.
    const uint64_t abs_step =
        step > 0 ? static_cast<uint64_t>(step) : static_cast<uint64_t>(-(step + 1)) + 1;
    const int64_t length = span == 0 ? 0 : static_cast<int64_t>((span - 1) / abs_step + 1);
    plan[axis] = {start, length > 1 ? step : 1, length};
  }
  return plan;
}

namespace {

const Tensor* optional_value(InferContext& ctx, size_t i) {
  return ctx.has_input(i) ? &ctx.require_value(i) : nullptr;
}

void infer_slice(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  std::vector<AxisWindow> plan;
  if (ctx.opset() < 10) {
    plan = plan_slice(ctx.node(), ctx.opset(), in, nullptr, nullptr, nullptr, nullptr);
  } else {
    plan = plan_slice(ctx.node(), ctx.opset(), in, optional_value(ctx, 1), optional_value(ctx, 2),
                      optional_value(ctx, 3), optional_value(ctx, 4));
  }
  Shape out(in.size());
  for (size_t d = 0; d < in.size(); ++d) out[d] = plan[d].length;
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_slice(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.numel() == 0) return;
  auto input = [&](size_t i) { return ctx.has_input(i) ? &ctx.input(i) : nullptr; };
  const auto plan =
      plan_slice(ctx.node(), ctx.opset(), x.shape(), input(1), input(2), input(3), input(4));
  const auto strides = strides_of(x.shape());
  std::vector<std::vector<int64_t>> offsets(plan.size());
  for (size_t d = 0; d < plan.size(); ++d) {
    offsets[d].resize(static_cast<size_t>(plan[d].length));
    for (int64_t i = 0; i < plan[d].length; ++i)
      offsets[d][i] = (plan[d].start + i * plan[d].step) * strides[d];
  }
  copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), y.shape(), offsets);
}

}  // namespace

FRUGAL_REGISTER_OP(Slice, OpDef{.op_type = "Slice",
                                .max_inputs = 5,
                                .infer = infer_slice,
                                .ref = ref_slice,
                                .cost = no_arithmetic});

}  // namespace frugal::ops
