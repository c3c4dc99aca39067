// HannWindow, HammingWindow, BlackmanWindow (opset 17): a 1-D window of `size` values
// (a scalar input, whose value must be known to infer the shape), periodic (default; the
// denominator is size, for spectral analysis) or symmetric (denominator size - 1), in
// the dtype of attribute output_datatype (default float32):
//   Hann:     0.5 - 0.5 cos(2 pi n / N)
//   Hamming:  25/46 - 21/46 cos(2 pi n / N)
//   Blackman: 0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)
// A symmetric window of one value would divide by zero; it is [1], as numpy gives.
#include <cmath>
#include <numbers>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

enum class Window { kHann, kHamming, kBlackman };

Window window_of(const ir::Node& node) {
  if (node.op_type == "HannWindow") return Window::kHann;
  if (node.op_type == "HammingWindow") return Window::kHamming;
  return Window::kBlackman;
}

double window_value(Window w, double n, double denominator) {
  const double a = 2 * std::numbers::pi * n / denominator;
  switch (w) {
    case Window::kHann:
      return 0.5 - 0.5 * std::cos(a);
    case Window::kHamming:
      return 25.0 / 46.0 - 21.0 / 46.0 * std::cos(a);
    case Window::kBlackman:
      return 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a);
  }
  return 0;
}

void infer_window(InferContext& ctx) {
  if (ctx.dtype(0) != DType::kI32 && ctx.dtype(0) != DType::kI64)
    ctx.fail("size must be int32 or int64, got " + std::string(dtype_name(ctx.dtype(0))));
  const int64_t code = ctx.node().attr_int("output_datatype", 1);
  const DType out = dtype_from_onnx(static_cast<int32_t>(code));
  if (out == DType::kUndefined || out == DType::kString || out == DType::kBool)
    ctx.fail("output_datatype " + std::to_string(code) + " is not a numeric dtype");
  if (type_class(out) == 0) ctx.unsupported("output dtype " + std::string(dtype_name(out)));
  const Tensor& size = ctx.require_value(0);
  if (size.numel() != 1) ctx.fail("size must be a scalar, got shape " + shape_str(size.shape()));
  const int64_t n = size.to_int64()[0];
  if (n < 0) ctx.fail("size " + std::to_string(n) + " is negative");
  ctx.set_output(0, out, {n});
}

void ref_window(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const int64_t n = y.numel();
  const bool periodic = ctx.node().attr_int("periodic", 1) != 0;
  const double denominator = static_cast<double>(periodic ? n : n - 1);
  const Window w = window_of(ctx.node());
  visit_types<kNumericTypes>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = y.data<T>();
    for (int64_t i = 0; i < n; ++i)
      p[i] = convert<T>(denominator == 0 ? 1.0 : window_value(w, double(i), denominator));
  });
}

OpDef window_def(std::string name) {
  return OpDef{.op_type = std::move(name), .infer = infer_window, .ref = ref_window};
}

}  // namespace

FRUGAL_REGISTER_OP(HannWindow, window_def("HannWindow"));
FRUGAL_REGISTER_OP(HammingWindow, window_def("HammingWindow"));
FRUGAL_REGISTER_OP(BlackmanWindow, window_def("BlackmanWindow"));

}  // namespace frugal::ops
