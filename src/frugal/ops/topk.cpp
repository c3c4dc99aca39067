// TopK (opsets 1, 10, 11): the K largest (or, from opset 11, smallest) elements along an
// axis, with their int64 indices. K is an attribute before opset 10 and a one-element
// input after. Results are always sorted (sorted=0 allows any order); equal values keep
// the lower index first; NaN counts as larger than every number.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

int64_t k_of(const ir::Node& node, int64_t opset, const Tensor* k_input) {
  if (opset < 10) return node.attr_int("k");
  const Tensor& k = *k_input;
  if (k.dtype() != DType::kI64 || k.numel() != 1 || k.rank() > 1)
    throw UserError(node.describe() + ": K must be a one-element int64 tensor, got " +
                    std::string(dtype_name(k.dtype())) + " of shape " + shape_str(k.shape()));
  return k.to_int64()[0];
}

void infer_topk(InferContext& ctx) {
  require_types(ctx, 0, kNumericTypes);
  const Shape& x = ctx.shape(0);
  if (x.empty()) ctx.fail("input X must have rank >= 1");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", -1), static_cast<int64_t>(x.size()));
  const int64_t k =
      k_of(ctx.node(), ctx.opset(), ctx.opset() < 10 ? nullptr : &ctx.require_value(1));
  if (k < 0 || k > x[axis])
    ctx.fail("K = " + std::to_string(k) + " is outside [0, " + std::to_string(x[axis]) +
             "], the size of axis " + std::to_string(axis) + " of X " + shape_str(x));
  Shape y = x;
  y[axis] = k;
  ctx.set_output(0, ctx.dtype(0), y);
  ctx.set_output(1, DType::kI64, y);
}

// Strict order "a comes before b" for the largest-first order, NaN first, ties by index.
template <typename T>
bool greater_nan_first(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return !std::isnan(b);
    if (std::isnan(b)) return false;
  }
  return a > b;
}

template <typename T>
void topk_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t r = X.rank();
  int64_t axis = ctx.node().attr_int("axis", -1);
  if (axis < 0) axis += r;
  const bool largest = ctx.opset() < 11 || ctx.node().attr_int("largest", 1) != 0;
  const int64_t k = ctx.output(0).dim(axis);
  const int64_t n = X.dim(axis);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= X.dim(d);
  for (int64_t d = axis + 1; d < r; ++d) inner *= X.dim(d);
  const T* x = X.data<T>();
  T* values = ctx.output(0).data<T>();
  int64_t* indices = ctx.has_output(1) ? ctx.output(1).data<int64_t>() : nullptr;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* line = x + o * n * inner + i;
      auto at = [&](int64_t j) { return line[j * inner]; };
      auto before = [&](int64_t a, int64_t b) {
        const T va = at(a), vb = at(b);
        const bool ahead = largest ? greater_nan_first(va, vb) : greater_nan_first(vb, va);
        const bool behind = largest ? greater_nan_first(vb, va) : greater_nan_first(va, vb);
        return ahead || (!behind && a < b);
      };
      std::iota(order.begin(), order.end(), int64_t{0});
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      const int64_t out_base = o * k * inner + i;
      for (int64_t j = 0; j < k; ++j) {
        values[out_base + j * inner] = at(order[static_cast<size_t>(j)]);
        if (indices) indices[out_base + j * inner] = order[static_cast<size_t>(j)];
      }
    }
}

void ref_topk(KernelContext& ctx) {
  visit_types<kNumericTypes>(ctx.input(0).dtype(),
                             [&](auto tag) { topk_kernel<decltype(tag)>(ctx); });
}

// About n log k comparisons per line; counted as n per input element.
Work cost_topk(const CostContext& c) {
  Work w;
  w.flops = shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(TopK, OpDef{.op_type = "TopK",
                               .min_inputs = 1,
                               .max_inputs = 2,
                               .min_outputs = 1,
                               .max_outputs = 2,
                               .infer = infer_topk,
                               .ref = ref_topk,
                               .cost = cost_topk});

}  // namespace frugal::ops
