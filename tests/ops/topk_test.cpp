#include <cmath>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
std::vector<Tensor> topk(const Tensor& x, int64_t k, Attrs attrs = {}, int64_t opset = 11) {
  if (opset < 10) {
    attrs["k"] = a_int(k);
    return run_all("TopK", {x}, attrs, opset, 2);
  }
  return run_all("TopK", {x, i64({1}, {k})}, attrs, opset, 2);
}
}  // namespace

TEST(TopK, LargestAndSmallestAlongTheLastAxis) {
  Tensor x = iota({3, 4});
  auto out = topk(x, 3);
  expect_tensor(out[0], {3, 3}, {3, 2, 1, 7, 6, 5, 11, 10, 9});
  expect_tensor(out[1], {3, 3}, {3, 2, 1, 3, 2, 1, 3, 2, 1}, 0);
  EXPECT_EQ(out[1].dtype(), DType::kI64);
  out = topk(x, 2, {{"largest", a_int(0)}});
  expect_tensor(out[0], {3, 2}, {0, 1, 4, 5, 8, 9});
  expect_tensor(out[1], {3, 2}, {0, 1, 0, 1, 0, 1}, 0);
}

TEST(TopK, TiesKeepTheLowerIndexAndNaNIsLargest) {
  auto out = topk(f32({5}, {1, 3, 3, 2, 3}), 2);
  expect_tensor(out[0], {2}, {3, 3});
  expect_tensor(out[1], {2}, {1, 2}, 0);
  out = topk(f32({3}, {2, 1, 1}), 2, {{"largest", a_int(0)}});
  expect_tensor(out[1], {2}, {1, 2}, 0);
  out = topk(f32({3}, {1, NAN, 3}), 2);
  expect_tensor(out[0], {2}, {NAN, 3});
  expect_tensor(out[1], {2}, {1, 2}, 0);
}

TEST(TopK, OtherAxesOpsetsAndTypes) {
  // Axis 0 of [[1, 6], [5, 2], [3, 4]].
  auto out = topk(f32({3, 2}, {1, 6, 5, 2, 3, 4}), 2, {{"axis", a_int(0)}});
  expect_tensor(out[0], {2, 2}, {5, 6, 3, 4});
  expect_tensor(out[1], {2, 2}, {1, 0, 2, 2}, 0);
  // Opset 1: k is an attribute.
  out = topk(f32({4}, {4, 1, 3, 2}), 2, {}, 1);
  expect_tensor(out[0], {2}, {4, 3});
  out = topk(Tensor::from_vector<int32_t>({3}, {-5, 7, 0}), 1, {{"axis", a_int(-1)}});
  EXPECT_EQ(out[0].dtype(), DType::kI32);
  expect_tensor(out[0], {1}, {7}, 0);
  EXPECT_EQ(topk(iota({2, 3}), 0)[0].shape(), (Shape{2, 0}));
}

TEST(TopK, KMustBeKnownAndInRange) {
  expect_user_error([&] { topk(iota({2, 3}), 4); }, "K = 4");
  expect_user_error([&] { topk(iota({2, 3}), -1); }, "K = -1");
  EXPECT_THROW(infer_only("TopK", {iota({2, 3}), i64({1}, {2})}, {true, false}, {}, 11, 2),
               ops::DataDependentShape);
}
