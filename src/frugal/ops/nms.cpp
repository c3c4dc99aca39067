// NonMaxSuppression (opsets 10, 11): for each batch entry and class, visits the boxes
// in order of decreasing score (equal scores: lower index first), skipping those whose
// score is not above score_threshold (or is NaN), and selects a box unless its IoU with an already
// selected box exceeds iou_threshold, up to max_output_boxes_per_class (default 0: none).
// Output: [selected, 3] int64 rows (batch, class, box), batch-major then class, each in
// selection order. Boxes are corners [y1, x1, y2, x2] in either diagonal order
// (center_point_box=0) or [x_center, y_center, width, height] (center_point_box=1).
// The output size depends on every input's contents, which must be known to infer it.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <optional>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

struct Box {
  double y1, x1, y2, x2;  // y1 <= y2, x1 <= x2
  double area() const { return (y2 - y1) * (x2 - x1); }
};

Box box_at(const float* b, bool center) {
  if (center) {
    const double xc = b[0], yc = b[1], w = b[2] / 2.0, h = b[3] / 2.0;
    return {yc - h, xc - w, yc + h, xc + w};
  }
  return {std::min<double>(b[0], b[2]), std::min<double>(b[1], b[3]), std::max<double>(b[0], b[2]),
          std::max<double>(b[1], b[3])};
}

// IoU above the threshold; boxes without area never suppress each other.
bool overlaps(const Box& a, const Box& b, double threshold) {
  const double ih = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  const double iw = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (ih <= 0 || iw <= 0) return false;
  const double inter = ih * iw, area_a = a.area(), area_b = b.area();
  const double uni = area_a + area_b - inter;
  if (area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > threshold;
}

// One optional scalar input (absent: nullopt).
template <typename Ctx, typename Get>
std::optional<double> scalar_input(const Ctx& ctx, size_t i, Get&& get, const char* what) {
  if (!ctx.has_input(i)) return std::nullopt;
  const Tensor& t = get(i);
  if (t.numel() != 1 || t.rank() > 1)
    ctx.fail(std::string(what) + " must hold one value, got shape " + shape_str(t.shape()));
  return t.at_double(0);
}

template <typename Ctx, typename Get>
std::vector<std::array<int64_t, 3>> select_boxes(const Ctx& ctx, Get&& get) {
  const Tensor& boxes = get(0);
  const Tensor& scores = get(1);
  const int64_t B = boxes.dim(0), N = boxes.dim(1), C = scores.dim(1);
  const double max_out = scalar_input(ctx, 2, get, "max_output_boxes_per_class").value_or(0);
  const double iou = scalar_input(ctx, 3, get, "iou_threshold").value_or(0);
  const std::optional<double> min_score = scalar_input(ctx, 4, get, "score_threshold");
  const bool center = ctx.node().attr_int("center_point_box", 0) != 0;
  if (iou < 0 || iou > 1) ctx.fail("iou_threshold " + std::to_string(iou) + " is outside [0, 1]");
  const float* pb = boxes.data<float>();
  const float* ps = scores.data<float>();
  std::vector<std::array<int64_t, 3>> out;
  std::vector<int64_t> order;
  std::vector<Box> kept;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float* s = ps + (b * C + c) * N;
      order.clear();
      for (int64_t i = 0; i < N; ++i)  // a NaN score cannot be ranked: never selected
        if (!std::isnan(s[i]) && (!min_score || double(s[i]) > *min_score)) order.push_back(i);
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t i, int64_t j) { return s[i] > s[j]; });
      kept.clear();
      for (int64_t i : order) {
        if (double(kept.size()) >= max_out) break;
        const Box box = box_at(pb + (b * N + i) * 4, center);
        bool suppressed = false;
        for (const Box& k : kept) suppressed = suppressed || overlaps(box, k, iou);
        if (suppressed) continue;
        kept.push_back(box);
        out.push_back({b, c, i});
      }
    }
  return out;
}

void infer_nms(InferContext& ctx) {
  for (size_t i : {0, 1, 3, 4})
    if (ctx.has_input(i) && ctx.dtype(i) != DType::kF32)
      ctx.unsupported("input " + std::to_string(i) + " has dtype " +
                      std::string(dtype_name(ctx.dtype(i))) + " (float32 only)");
  if (ctx.has_input(2) && ctx.dtype(2) != DType::kI64)
    ctx.fail("max_output_boxes_per_class must be int64");
  const Shape& boxes = ctx.shape(0);
  const Shape& scores = ctx.shape(1);
  if (boxes.size() != 3 || boxes[2] != 4)
    ctx.fail("boxes has shape " + shape_str(boxes) + ", expected batch x boxes x 4");
  if (scores.size() != 3 || scores[0] != boxes[0] || scores[2] != boxes[1])
    ctx.fail("scores has shape " + shape_str(scores) + ", expected " + std::to_string(boxes[0]) +
             " x classes x " + std::to_string(boxes[1]));
  const int64_t center = ctx.node().attr_int("center_point_box", 0);
  if (center != 0 && center != 1)
    ctx.fail("center_point_box " + std::to_string(center) + " must be 0 or 1");
  auto get = [&](size_t i) -> const Tensor& { return ctx.require_value(i); };
  for (size_t i = 0; i < 5; ++i)
    if (ctx.has_input(i)) get(i);  // every input's contents are needed
  const int64_t n = static_cast<int64_t>(select_boxes(ctx, get).size());
  ctx.set_output(0, DType::kI64, {n, 3});
}

void ref_nms(KernelContext& ctx) {
  auto get = [&](size_t i) -> const Tensor& { return ctx.input(i); };
  const auto selected = select_boxes(ctx, get);
  Tensor& y = ctx.output(0);
  if (y.dim(0) != static_cast<int64_t>(selected.size()))
    ctx.fail("inputs changed between inference and run");
  int64_t* p = y.data<int64_t>();
  for (size_t k = 0; k < selected.size(); ++k)
    for (size_t j = 0; j < 3; ++j) p[k * 3 + j] = selected[k][j];
}

// About one IoU per pair of boxes of a class.
Work cost_nms(const CostContext& c) {
  Work w;
  const int64_t n = c.in[0].size() == 3 ? c.in[0][1] : 0;
  w.flops = shape_numel(c.in[1]) * std::min<int64_t>(n, 64) * 10;
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(NonMaxSuppression, OpDef{.op_type = "NonMaxSuppression",
                                            .min_inputs = 2,
                                            .max_inputs = 5,
                                            .infer = infer_nms,
                                            .ref = ref_nms,
                                            .cost = cost_nms});

}  // namespace frugal::ops
