// Pad: grows (or, with negative pads, crops) each axis, filling with a constant or with
// the input's own values (reflect, edge, wrap).
#include <cstring>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/pad_plan.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}

}  // namespace

PadPlan plan_pad(const ir::Node& node, int64_t opset, const Shape& in, const Tensor* pads_t,
                 const Tensor* axes_t) {
  const int64_t r = static_cast<int64_t>(in.size());
  PadPlan plan;
  const std::string mode = node.attr_string("mode", "constant");
  if (mode == "constant") {
    plan.mode = PadMode::kConstant;
  } else if (mode == "reflect") {
    plan.mode = PadMode::kReflect;
  } else if (mode == "edge") {
    plan.mode = PadMode::kEdge;
  } else if (mode == "wrap") {
    plan.mode = PadMode::kWrap;
  } else {
    fail(node, "mode '" + mode + "' is not one of constant, reflect, edge, wrap");
  }
  std::vector<int64_t> pads;
  if (opset < 11) {
    // Pad-1 named the attribute "paddings"; Pad-2 "pads".
    pads = node.attr_ints(node.has_attr("pads") ? "pads" : "paddings");
  } else {
    if (!pads_t) fail(node, "needs a 'pads' input");
    pads = int_list_input(node, *pads_t, "pads");
  }
  std::vector<int64_t> axes;
  if (axes_t) {
    for (int64_t a : int_list_input(node, *axes_t, "axes")) {
      const int64_t n = a < 0 ? a + r : a;
      if (n < 0 || n >= r)
        fail(node, "axis " + std::to_string(a) + " is out of range for rank " + std::to_string(r));
      axes.push_back(n);
    }
  } else {
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  }
  const size_t k = axes.size();
  if (pads.size() != 2 * k)
    fail(node,
         "pads has " + std::to_string(pads.size()) + " entries, expected " + std::to_string(2 * k));
  plan.begin.assign(in.size(), 0);
  plan.end.assign(in.size(), 0);
  for (size_t i = 0; i < k; ++i) {
    plan.begin[axes[i]] = pads[i];
    plan.end[axes[i]] = pads[k + i];
  }
  plan.out = in;
  for (int64_t d = 0; d < r; ++d) {
    const int64_t b = plan.begin[d], e = plan.end[d];
    const int64_t limit = INT64_MAX / 4;  // keeps the sums below from overflowing
    if (b > limit || e > limit || b < -limit || e < -limit) fail(node, "pads are too large");
    const int64_t o = in[d] + b + e;
    if (o < 0)
      fail(node, "pads " + std::to_string(b) + ", " + std::to_string(e) + " on axis " +
                     std::to_string(d) + " of size " + std::to_string(in[d]) +
                     " leave a negative size");
    if (in[d] == 0 && o > 0 && plan.mode != PadMode::kConstant)
      fail(node, "cannot pad the empty axis " + std::to_string(d) + " in mode '" + mode + "'");
    plan.out[d] = o;
  }
  return plan;
}

int64_t source_index(PadMode mode, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return i < 0 ? 0 : n - 1;
    case PadMode::kWrap:
      return ((i % n) + n) % n;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);  // reflect without repeating the edge element
      int64_t m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
  }
  return -1;
}

namespace {

void infer_pad(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  PadPlan plan;
  if (ctx.opset() < 11) {
    plan = plan_pad(ctx.node(), ctx.opset(), in, nullptr, nullptr);
  } else {
    if (ctx.has_input(2)) {
      ctx.require_same_dtype(0, 2);
      if (shape_numel(ctx.shape(2)) > 1) ctx.fail("constant_value must be a scalar");
    }
    plan = plan_pad(ctx.node(), ctx.opset(), in, &ctx.require_value(1),
                    ctx.has_input(3) ? &ctx.require_value(3) : nullptr);
  }
  ctx.set_output(0, ctx.dtype(0), plan.out);
}

void ref_pad(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const bool new_form = ctx.opset() >= 11;
  const PadPlan plan =
      plan_pad(ctx.node(), ctx.opset(), x.shape(), new_form ? &ctx.input(1) : nullptr,
               new_form && ctx.has_input(3) ? &ctx.input(3) : nullptr);
  if (y.numel() == 0) return;  // an axis may still be huge when another is 0
  const size_t esize = dtype_size(x.dtype());
  std::vector<unsigned char> fill(esize, 0);
  if (plan.mode == PadMode::kConstant) {
    if (new_form && ctx.has_input(2) && ctx.input(2).numel() > 0) {
      std::memcpy(fill.data(), ctx.input(2).raw(), esize);
    } else if (!new_form) {
      fill = scalar_bytes(x.dtype(), ctx.node().attr_float("value", 0.0f));
    }
  }
  const auto strides = strides_of(x.shape());
  std::vector<std::vector<int64_t>> offsets(plan.out.size());
  for (size_t d = 0; d < plan.out.size(); ++d) {
    offsets[d].resize(static_cast<size_t>(plan.out[d]));
    for (int64_t i = 0; i < plan.out[d]; ++i) {
      const int64_t s = source_index(plan.mode, i - plan.begin[d], x.shape()[d]);
      offsets[d][i] = s < 0 ? kFillOffset : s * strides[d];
    }
  }
  copy_by_axis_offsets(y.raw(), x.raw(), esize, y.shape(), offsets, fill.data());
}

}  // namespace

FRUGAL_REGISTER_OP(Pad, OpDef{.op_type = "Pad",
                              .max_inputs = 4,
                              .infer = infer_pad,
                              .ref = ref_pad,
                              .cost = no_arithmetic});

}  // namespace frugal::ops
