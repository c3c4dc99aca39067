#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(EyeLike, DiagonalsAndDtype) {
  expect_tensor(run("EyeLike", {iota({3, 4})}, {{"k", a_int(1)}}), {3, 4},
                {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  Tensor y = run("EyeLike", {iota({3, 3})}, {{"k", a_int(-2)}, {"dtype", a_int(6)}});
  EXPECT_EQ(y.dtype(), DType::kI32);
  expect_tensor(y, {3, 3}, {0, 0, 0, 0, 0, 0, 1, 0, 0}, 0);
  expect_tensor(run("EyeLike", {i64({2, 2}, {5, 5, 5, 5})}), {2, 2}, {1, 0, 0, 1}, 0);
  for (const int64_t sixteen : {10, 16}) {  // FLOAT16, BFLOAT16: held as float32
    Tensor h = run("EyeLike", {i64({2, 3}, {5, 5, 5, 5, 5, 5})}, {{"dtype", a_int(sixteen)}});
    EXPECT_EQ(h.dtype(), DType::kF32) << sixteen;
    expect_tensor(h, {2, 3}, {1, 0, 0, 0, 1, 0});
  }
  expect_tensor(run("EyeLike", {iota({2, 2})}, {{"k", a_int(10)}}), {2, 2}, {0, 0, 0, 0});
  expect_tensor(run("EyeLike", {iota({2, 2})}, {{"k", a_int(-10)}}), {2, 2}, {0, 0, 0, 0});
}

TEST(EyeLike, RejectsNonMatrices) {
  expect_user_error([&] { run("EyeLike", {iota({2, 2, 2})}); }, "2-D");
  expect_user_error([&] { run("EyeLike", {iota({2, 2})}, {{"dtype", a_int(99)}}); }, "dtype");
}
