#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Range, CeilOfTheSpanOverDelta) {
  auto r = [](auto s, auto l, auto d) {
    using T = decltype(s);
    return run("Range", {Tensor::scalar<T>(s), Tensor::scalar<T>(l), Tensor::scalar<T>(d)});
  };
  expect_tensor(r(1.0f, 5.0f, 2.0f), {2}, {1, 3});
  expect_tensor(r(0.0, 1.0, 0.25), {4}, {0, 0.25, 0.5, 0.75});
  Tensor down = r(int32_t{10}, int32_t{4}, int32_t{-3});
  EXPECT_EQ(down.dtype(), DType::kI32);
  EXPECT_EQ(values<int32_t>(down), (std::vector<int32_t>{10, 7}));
  EXPECT_EQ(r(int64_t{5}, int64_t{1}, int64_t{2}).shape(), (Shape{0}));  // wrong direction
  EXPECT_EQ(values<int64_t>(r(int64_t{-3}, int64_t{3}, int64_t{4})), (std::vector<int64_t>{-3, 1}));
}

TEST(Range, RejectsBadInputs) {
  auto s = Tensor::scalar<float>(0), l = Tensor::scalar<float>(3);
  expect_user_error([&] { run("Range", {s, l, Tensor::scalar<float>(0)}); }, "delta");
  expect_user_error([&] { run("Range", {s, l, Tensor::scalar<double>(1)}); }, "dtype");
  expect_user_error(
      [&] {
        run("Range", {s, f32({2}, {1, 2}), Tensor::scalar<float>(1)});
      },
      "scalar");
  expect_user_error(
      [&] {
        run("Range", {s, Tensor::scalar<float>(1e30f), Tensor::scalar<float>(1e-30f)});
      },
      "memory");
  expect_unsupported([&] {
    run("Range",
        {Tensor::scalar<uint8_t>(0), Tensor::scalar<uint8_t>(3), Tensor::scalar<uint8_t>(1)});
  });
}
