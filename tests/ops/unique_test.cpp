#include <cmath>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
std::vector<Tensor> unique(const Tensor& x, Attrs attrs = {}) {
  return run_all("Unique", {x}, std::move(attrs), 11, 4);
}
}  // namespace

// The examples of the ONNX operator documentation.
TEST(Unique, FlattenedSortedAndUnsorted) {
  Tensor x = f32({6}, {2, 1, 1, 3, 4, 3});
  auto out = unique(x, {{"sorted", a_int(0)}});
  expect_tensor(out[0], {4}, {2, 1, 3, 4});
  expect_tensor(out[1], {4}, {0, 1, 3, 4}, 0);
  expect_tensor(out[2], {6}, {0, 1, 1, 2, 3, 2}, 0);
  expect_tensor(out[3], {4}, {1, 2, 2, 1}, 0);
  out = unique(x);
  expect_tensor(out[0], {4}, {1, 2, 3, 4});
  expect_tensor(out[1], {4}, {1, 0, 3, 4}, 0);
  expect_tensor(out[2], {6}, {1, 0, 0, 2, 3, 2}, 0);
  expect_tensor(out[3], {4}, {2, 1, 2, 1}, 0);
}

TEST(Unique, SlicesAlongAnAxis) {
  auto out = unique(f32({3, 3}, {1, 0, 0, 1, 0, 0, 2, 3, 4}), {{"axis", a_int(0)}});
  expect_tensor(out[0], {2, 3}, {1, 0, 0, 2, 3, 4});
  expect_tensor(out[1], {2}, {0, 2}, 0);
  expect_tensor(out[2], {3}, {0, 0, 1}, 0);
  expect_tensor(out[3], {2}, {2, 1}, 0);
  Tensor x = f32({2, 4, 2}, {1, 1, 0, 1, 2, 1, 0, 1, 1, 1, 0, 1, 2, 1, 0, 1});
  out = unique(x, {{"axis", a_int(-2)}});
  expect_tensor(out[0], {2, 3, 2}, {0, 1, 1, 1, 2, 1, 0, 1, 1, 1, 2, 1});
  expect_tensor(out[1], {3}, {1, 0, 2}, 0);
  expect_tensor(out[2], {4}, {1, 0, 2, 0}, 0);
  expect_tensor(out[3], {3}, {2, 1, 1}, 0);
}

TEST(Unique, NaNsIntegersAndUnknownInput) {
  auto out = unique(f32({3}, {NAN, 1, NAN}));
  expect_tensor(out[0], {2}, {1, NAN});
  expect_tensor(out[3], {2}, {1, 2}, 0);
  out = unique(i64({4}, {5, -1, 5, 5}));
  EXPECT_EQ(out[0].dtype(), DType::kI64);
  expect_tensor(out[0], {2}, {-1, 5}, 0);
  EXPECT_EQ(unique(f32({0}, {}))[0].shape(), (Shape{0}));
  EXPECT_THROW(infer_only("Unique", {f32({2}, {1, 2})}, {false}, {}, 11, 4),
               ops::DataDependentShape);
  expect_user_error([&] { unique(f32({2}, {1, 2}), {{"axis", a_int(1)}}); }, "axis");
}
