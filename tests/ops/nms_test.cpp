#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
// The boxes and scores of the ONNX operator documentation's examples.
const Tensor kBoxes = f32({1, 6, 4}, {0, 0,  1, 1,  0, 0.1f,  1, 1.1f,  0, -0.1f, 1, 0.9f,
                                      0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100,   1, 101});
const Tensor kScores = f32({1, 1, 6}, {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f});

Tensor nms(const Tensor& boxes, const Tensor& scores, int64_t max_out, float iou, float score = 0,
           Attrs attrs = {}) {
  return run("NonMaxSuppression",
             {boxes, scores, i64({1}, {max_out}), f32({1}, {iou}), f32({1}, {score})},
             std::move(attrs), 11);
}
}  // namespace

TEST(NonMaxSuppression, SpecExamples) {
  expect_tensor(nms(kBoxes, kScores, 3, 0.5f), {3, 3}, {0, 0, 3, 0, 0, 0, 0, 0, 5}, 0);
  expect_tensor(nms(kBoxes, kScores, 2, 0.5f), {2, 3}, {0, 0, 3, 0, 0, 0}, 0);
  expect_tensor(nms(kBoxes, kScores, 3, 0.5f, 0.4f), {2, 3}, {0, 0, 3, 0, 0, 0}, 0);
  // Centre format, and corners given in flipped order, select the same boxes.
  Tensor centre = f32({1, 6, 4}, {0.5f, 0.5f,  1, 1, 0.5f, 0.6f,  1, 1, 0.5f, 0.4f,   1, 1,
                                  0.5f, 10.5f, 1, 1, 0.5f, 10.6f, 1, 1, 0.5f, 100.5f, 1, 1});
  expect_tensor(nms(centre, kScores, 3, 0.5f, 0, {{"center_point_box", a_int(1)}}), {3, 3},
                {0, 0, 3, 0, 0, 0, 0, 0, 5}, 0);
  Tensor flipped = f32({1, 6, 4}, {1, 1,  0, 0,  0, 0.1f,  1, 1.1f,  0, 0.9f, 1, -0.1f,
                                   0, 10, 1, 11, 1, 10.1f, 0, 11.1f, 1, 101,  0, 100});
  expect_tensor(nms(flipped, kScores, 3, 0.5f), {3, 3}, {0, 0, 3, 0, 0, 0, 0, 0, 5}, 0);
}

TEST(NonMaxSuppression, TiesClassesAndDefaults) {
  // Ten identical boxes with equal scores: the first index wins, the rest are suppressed.
  std::vector<float> same;
  for (int i = 0; i < 10; ++i) same.insert(same.end(), {0, 0, 1, 1});
  expect_tensor(nms(f32({1, 10, 4}, same), f32({1, 1, 10}, std::vector<float>(10, 0.9f)), 3, 0.5f),
                {1, 3}, {0, 0, 0}, 0);
  // Two classes with the same scores: class-major output.
  std::vector<float> s2 = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};
  s2.insert(s2.end(), s2.begin(), s2.end());
  expect_tensor(nms(kBoxes, f32({1, 2, 6}, s2), 2, 0.5f), {4, 3},
                {0, 0, 3, 0, 0, 0, 0, 1, 3, 0, 1, 0}, 0);
  // Without max_output_boxes_per_class nothing is selected.
  EXPECT_EQ(run("NonMaxSuppression", {kBoxes, kScores}, {}, 11).shape(), (Shape{0, 3}));
}

TEST(NonMaxSuppression, NeedsKnownInputsAndValidShapes) {
  EXPECT_THROW(infer_only("NonMaxSuppression", {kBoxes, kScores}, {true, false}, {}, 11),
               ops::DataDependentShape);
  expect_user_error([&] { nms(kBoxes, f32({1, 1, 5}, {1, 1, 1, 1, 1}), 3, 0.5f); }, "scores");
  expect_user_error([&] { nms(kBoxes, kScores, 3, 1.5f); }, "iou_threshold");
}
