// Unique (opset 11): the distinct elements of X (flattened), or distinct slices along
// `axis`, sorted ascending (sorted=1, the default; slices compare lexicographically) or
// in order of first occurrence. Optional outputs, all int64: indices (first occurrence
// of each unique value in X), inverse_indices (for each element or slice of X, its
// position in Y) and counts. NaNs count as equal to each other and larger than numbers.
// The number of unique values depends on X's contents, which must be known to infer it.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

// X viewed as outer x n x inner around the axis (n = all elements without an axis).
struct Layout {
  int64_t outer = 1, n = 0, inner = 1;
};

// With an InferContext the axis is checked (failing naming the node); kernels trust it.
Layout layout_of(const ir::Node& node, const Shape& x, const InferContext* check) {
  Layout l;
  if (!node.has_attr("axis")) {
    l.n = shape_numel(x);
    return l;
  }
  const int64_t r = static_cast<int64_t>(x.size());
  int64_t axis = node.attr_int("axis");
  if (check)
    axis = check->axis(axis, r);
  else if (axis < 0)
    axis += r;
  for (int64_t d = 0; d < axis; ++d) l.outer *= x[d];
  l.n = x[axis];
  for (int64_t d = axis + 1; d < r; ++d) l.inner *= x[d];
  return l;
}

template <typename T>
int compare_values(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  }
  return a < b ? -1 : (b < a ? 1 : 0);
}

struct UniqueResult {
  std::vector<int64_t> first;    // per unique value: index of its first slice in X
  std::vector<int64_t> inverse;  // per slice of X: its unique value's position
  std::vector<int64_t> counts;   // per unique value
};

template <typename T>
UniqueResult unique_slices(const Tensor& x, const Layout& l, bool sorted) {
  const T* p = x.data<T>();
  // Slice s holds p[(o * n + s) * inner + i] for o, i in row-major order.
  auto cmp = [&](int64_t a, int64_t b) {
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int c =
            compare_values(p[(o * l.n + a) * l.inner + i], p[(o * l.n + b) * l.inner + i]);
        if (c != 0) return c;
      }
    return 0;
  };
  std::vector<int64_t> order(static_cast<size_t>(l.n));
  std::iota(order.begin(), order.end(), int64_t{0});
  // Stable: equal slices keep their order, so each group starts at its first occurrence.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  UniqueResult r;
  r.inverse.assign(static_cast<size_t>(l.n), 0);
  std::vector<int64_t> group_of(static_cast<size_t>(l.n));
  for (size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || cmp(order[k - 1], order[k]) != 0) {
      r.first.push_back(order[k]);
      r.counts.push_back(0);
    }
    group_of[static_cast<size_t>(order[k])] = static_cast<int64_t>(r.first.size()) - 1;
    ++r.counts.back();
  }
  // Position of each group in Y: sorted order, or order of first occurrence.
  std::vector<int64_t> rank(r.first.size());
  std::iota(rank.begin(), rank.end(), int64_t{0});
  if (!sorted) {
    std::vector<int64_t> by_first(r.first.size());
    std::iota(by_first.begin(), by_first.end(), int64_t{0});
    std::sort(by_first.begin(), by_first.end(),
              [&](int64_t a, int64_t b) { return r.first[a] < r.first[b]; });
    UniqueResult s;
    for (size_t k = 0; k < by_first.size(); ++k) {
      rank[static_cast<size_t>(by_first[k])] = static_cast<int64_t>(k);
      s.first.push_back(r.first[by_first[k]]);
      s.counts.push_back(r.counts[by_first[k]]);
    }
    r.first = std::move(s.first);
    r.counts = std::move(s.counts);
  }
  for (int64_t s = 0; s < l.n; ++s) r.inverse[s] = rank[group_of[s]];
  return r;
}

UniqueResult compute_unique(const ir::Node& node, const Tensor& x, const Layout& l) {
  const bool sorted = node.attr_int("sorted", 1) != 0;
  UniqueResult r;
  visit_types<kAllTypes>(x.dtype(),
                         [&](auto tag) { r = unique_slices<decltype(tag)>(x, l, sorted); });
  return r;
}

void infer_unique(InferContext& ctx) {
  require_types(ctx, 0, kAllTypes);
  const Shape& x = ctx.shape(0);
  if (ctx.node().has_attr("axis") && x.empty()) ctx.fail("an axis needs an input of rank >= 1");
  const Layout l = layout_of(ctx.node(), x, &ctx);
  const int64_t u =
      static_cast<int64_t>(compute_unique(ctx.node(), ctx.require_value(0), l).first.size());
  Shape y = {u};
  if (ctx.node().has_attr("axis")) {
    y = x;
    int64_t axis = ctx.node().attr_int("axis");
    if (axis < 0) axis += static_cast<int64_t>(x.size());
    y[static_cast<size_t>(axis)] = u;
  }
  ctx.set_output(0, ctx.dtype(0), y);
  ctx.set_output(1, DType::kI64, {u});
  ctx.set_output(2, DType::kI64, {l.n});
  ctx.set_output(3, DType::kI64, {u});
}

void ref_unique(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Layout l = layout_of(ctx.node(), x.shape(), nullptr);
  const UniqueResult r = compute_unique(ctx.node(), x, l);
  const int64_t u = static_cast<int64_t>(r.first.size());
  if (ctx.output(0).numel() != u * l.outer * l.inner)
    ctx.fail("input changed between inference and run");
  const size_t block = static_cast<size_t>(l.inner) * dtype_size(x.dtype());
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(ctx.output(0).raw());
  if (block)
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t k = 0; k < u; ++k)
        std::memcpy(dst + static_cast<size_t>(o * u + k) * block,
                    src + static_cast<size_t>(o * l.n + r.first[k]) * block, block);
  auto write = [&](size_t out, const std::vector<int64_t>& v) {
    if (ctx.has_output(out)) std::copy(v.begin(), v.end(), ctx.output(out).data<int64_t>());
  };
  write(1, r.first);
  write(2, r.inverse);
  write(3, r.counts);
}

}  // namespace

FRUGAL_REGISTER_OP(Unique, OpDef{.op_type = "Unique",
                                 .min_outputs = 1,
                                 .max_outputs = 4,
                                 .infer = infer_unique,
                                 .ref = ref_unique});

}  // namespace frugal::ops
