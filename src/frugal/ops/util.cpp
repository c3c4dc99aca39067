#include "frugal/ops/util.h"

#include <algorithm>

namespace frugal::ops {

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

Shape broadcast_shapes(const InferContext& ctx, const std::vector<Shape>& shapes) {
  size_t r = 0;
  for (const auto& s : shapes) r = std::max(r, s.size());
  Shape out(r, 1);
  for (const auto& s : shapes) {
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[r - s.size() + i];
      int64_t d = s[i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const auto& t : shapes) all += (all.empty() ? "" : ", ") + shape_str(t);
      ctx.fail("shapes " + all + " cannot be broadcast together");
    }
  }
  return out;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  auto s = strides_of(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : s[i];
  return st;
}

namespace {
template <typename Ctx>
std::optional<std::vector<int64_t>> axes_impl(const Ctx& ctx, const Tensor* input, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.node().has_attr("axes")) {
    axes = ctx.node().attr_ints("axes");
  } else if (input) {
    axes = input->to_int64();
  } else {
    return std::nullopt;
  }
  for (auto& a : axes) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= std::max<int64_t>(rank, 1))
      ctx.fail("axis " + std::to_string(a) + " is out of range for rank " + std::to_string(rank));
    a = n;
  }
  return axes;
}
}  // namespace

std::optional<std::vector<int64_t>> axes_attr_or_input(const InferContext& ctx,
                                                       size_t input_index, int64_t rank) {
  const Tensor* t = nullptr;
  if (!ctx.node().has_attr("axes") && ctx.has_input(input_index))
    t = &ctx.require_value(input_index);
  return axes_impl(ctx, t, rank);
}

std::optional<std::vector<int64_t>> axes_attr_or_input(const KernelContext& ctx,
                                                       size_t input_index, int64_t rank) {
  const Tensor* t = ctx.has_input(input_index) ? &ctx.input(input_index) : nullptr;
  return axes_impl(ctx, t, rank);
}

}  // namespace frugal::ops
