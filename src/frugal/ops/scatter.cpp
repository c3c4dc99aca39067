// ScatterElements (opsets 11, 13, 16, 18), its deprecated alias Scatter (opsets 9, 11) and
// ScatterND (opsets 11, 13, 16, 18): the output is a copy of data with the elements (or,
// for ScatterND, slices) that the indices address replaced by the updates, or combined
// with them by `reduction` (add, mul from opset 16; max, min from opset 18). Negative
// indices count from the end. With reduction none, a position written twice keeps the
// last update.
#include <algorithm>
#include <cstring>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/elementwise.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction reduction_of(const ir::Node& node, int64_t opset) {
  const std::string r = node.attr_string("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (opset >= 16 && r == "add") return Reduction::kAdd;
  if (opset >= 16 && r == "mul") return Reduction::kMul;
  if (opset >= 18 && r == "max") return Reduction::kMax;
  if (opset >= 18 && r == "min") return Reduction::kMin;
  throw UserError(node.describe() + ": reduction '" + r + "' is not defined at opset " +
                  std::to_string(opset));
}

void check_common(const InferContext& ctx) {
  require_storable(ctx, 0);
  ctx.require_same_dtype(0, 2);
  const DType it = ctx.dtype(1);
  const bool nd = ctx.node().op_type == "ScatterND";
  if (nd ? it != DType::kI64 : (it != DType::kI32 && it != DType::kI64))
    ctx.fail(std::string("indices must be ") + (nd ? "int64" : "int32 or int64") + ", got " +
             std::string(dtype_name(it)));
  if (reduction_of(ctx.node(), ctx.opset()) != Reduction::kNone)
    require_types(ctx, 0, kNumericTypes);
}

void infer_scatter_elements(InferContext& ctx) {
  check_common(ctx);
  const Shape& data = ctx.shape(0);
  const Shape& indices = ctx.shape(1);
  const int64_t r = static_cast<int64_t>(data.size());
  if (r == 0) ctx.fail("data must have rank >= 1");
  if (ctx.shape(2) != indices)
    ctx.fail("updates " + shape_str(ctx.shape(2)) + " and indices " + shape_str(indices) +
             " differ in shape");
  if (static_cast<int64_t>(indices.size()) != r)
    ctx.fail("indices " + shape_str(indices) + " and data " + shape_str(data) + " differ in rank");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 0), r);
  for (int64_t d = 0; d < r; ++d)
    if (d != axis && indices[d] > data[d])
      ctx.fail("indices " + shape_str(indices) + " exceed data " + shape_str(data) + " on axis " +
               std::to_string(d));
  ctx.set_output(0, ctx.dtype(0), data);
}

void infer_scatter_nd(InferContext& ctx) {
  check_common(ctx);
  const Shape& data = ctx.shape(0);
  const Shape& indices = ctx.shape(1);
  const int64_t r = static_cast<int64_t>(data.size());
  if (r < 1 || indices.empty()) ctx.fail("data and indices must have rank >= 1");
  const int64_t k = indices.back();
  if (k < 1 || k > r)
    ctx.fail("indices " + shape_str(indices) + " address " + std::to_string(k) +
             " dimensions of data " + shape_str(data));
  Shape expected(indices.begin(), indices.end() - 1);
  expected.insert(expected.end(), data.begin() + k, data.end());
  if (ctx.shape(2) != expected)
    ctx.fail("updates has shape " + shape_str(ctx.shape(2)) + ", expected " + shape_str(expected));
  ctx.set_output(0, ctx.dtype(0), data);
}

// Combines `n` elements of type T at dst with those at src.
template <typename T>
void combine(T* dst, const T* src, int64_t n, Reduction r) {
  for (int64_t i = 0; i < n; ++i) {
    switch (r) {
      case Reduction::kAdd:
        dst[i] = wrap_add(dst[i], src[i]);
        break;
      case Reduction::kMul:
        dst[i] = wrap_mul(dst[i], src[i]);
        break;
      case Reduction::kMax:
        dst[i] = std::max(dst[i], src[i]);
        break;
      case Reduction::kMin:
        dst[i] = std::min(dst[i], src[i]);
        break;
      case Reduction::kNone:
        dst[i] = src[i];
        break;
    }
  }
}

// Writes n elements of updates (at element offset from) into the output (at element
// offset to), replacing or combining.
struct Writer {
  const Tensor& updates;
  Tensor& out;
  Reduction reduction;
  size_t es;
  void operator()(int64_t to, int64_t from, int64_t n) const {
    if (n == 0) return;
    if (reduction == Reduction::kNone) {
      std::memcpy(static_cast<unsigned char*>(out.raw()) + static_cast<size_t>(to) * es,
                  static_cast<const unsigned char*>(updates.raw()) + static_cast<size_t>(from) * es,
                  static_cast<size_t>(n) * es);
      return;
    }
    visit_types<kNumericTypes>(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      combine(out.data<T>() + to, updates.data<T>() + from, n, reduction);
    });
  }
};

int64_t checked_index(const KernelContext& ctx, int64_t v, int64_t dim, int64_t axis) {
  if (v < -dim || v >= dim)
    ctx.fail("index " + std::to_string(v) + " is out of range for axis " + std::to_string(axis) +
             " of size " + std::to_string(dim));
  return v < 0 ? v + dim : v;
}

void ref_scatter_elements(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  Tensor& out = ctx.output(0);
  if (data.nbytes()) std::memcpy(out.raw(), data.raw(), data.nbytes());
  const std::vector<int64_t> indices = ctx.input(1).to_int64();
  const Shape& is = ctx.input(1).shape();
  const size_t r = is.size();
  int64_t axis = ctx.node().attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(r);
  const std::vector<int64_t> strides = strides_of(data.shape());
  const int64_t dim = data.dim(axis);
  const Writer write{ctx.input(2), out, reduction_of(ctx.node(), ctx.opset()),
                     dtype_size(data.dtype())};
  std::vector<int64_t> idx(r, 0);
  int64_t base = 0;  // offset of idx in data, the axis coordinate left out
  for (size_t k = 0; k < indices.size(); ++k) {
    write(base + checked_index(ctx, indices[k], dim, axis) * strides[axis], static_cast<int64_t>(k),
          1);
    for (size_t d = r; d-- > 0;) {
      const int64_t step = static_cast<int64_t>(d) == axis ? 0 : strides[d];
      base += step;
      if (++idx[d] < is[d]) break;
      base -= step * is[d];
      idx[d] = 0;
    }
  }
}

void ref_scatter_nd(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  Tensor& out = ctx.output(0);
  if (data.nbytes()) std::memcpy(out.raw(), data.raw(), data.nbytes());
  const Tensor& indices = ctx.input(1);
  const Shape& ds = data.shape();
  const int64_t k = indices.dim(-1);
  int64_t slice = 1;
  for (size_t d = static_cast<size_t>(k); d < ds.size(); ++d) slice *= ds[d];
  const std::vector<int64_t> strides = strides_of(ds);
  const Writer write{ctx.input(2), out, reduction_of(ctx.node(), ctx.opset()),
                     dtype_size(data.dtype())};
  const int64_t* idx = indices.data<int64_t>();
  const int64_t tuples = indices.numel() / k;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t offset = 0;
    for (int64_t j = 0; j < k; ++j)
      offset += checked_index(ctx, idx[t * k + j], ds[static_cast<size_t>(j)], j) *
                strides[static_cast<size_t>(j)];
    write(offset, t * slice, slice);
  }
}

}  // namespace

FRUGAL_REGISTER_OP(ScatterElements, OpDef{.op_type = "ScatterElements",
                                          .min_inputs = 3,
                                          .max_inputs = 3,
                                          .infer = infer_scatter_elements,
                                          .ref = ref_scatter_elements,
                                          .cost = no_arithmetic});
FRUGAL_REGISTER_OP(Scatter, OpDef{.op_type = "Scatter",
                                  .min_inputs = 3,
                                  .max_inputs = 3,
                                  .infer = infer_scatter_elements,
                                  .ref = ref_scatter_elements,
                                  .cost = no_arithmetic});
FRUGAL_REGISTER_OP(ScatterND, OpDef{.op_type = "ScatterND",
                                    .min_inputs = 3,
                                    .max_inputs = 3,
                                    .infer = infer_scatter_nd,
                                    .ref = ref_scatter_nd,
                                    .cost = no_arithmetic});

}  // namespace frugal::ops
