#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

// The examples of the ONNX operator documentation: x = 0..47 as 1 x 8 x 2 x 3, blocksize 2.
TEST(DepthToSpace, DcrAndCrdModes) {
  Tensor x = iota({1, 8, 2, 3});
  expect_tensor(
      run("DepthToSpace", {x}, {{"blocksize", a_int(2)}}), {1, 2, 4, 6},
      {0, 12, 1, 13, 2, 14, 24, 36, 25, 37, 26, 38, 3, 15, 4,  16, 5,  17, 27, 39, 28, 40, 29, 41,
       6, 18, 7, 19, 8, 20, 30, 42, 31, 43, 32, 44, 9, 21, 10, 22, 11, 23, 33, 45, 34, 46, 35, 47});
  expect_tensor(run("DepthToSpace", {x}, {{"blocksize", a_int(2)}, {"mode", a_str("CRD")}}),
                {1, 2, 4, 6}, {0,  6,  1,  7,  2,  8,  12, 18, 13, 19, 14, 20, 3,  9,  4,  10,
                               5,  11, 15, 21, 16, 22, 17, 23, 24, 30, 25, 31, 26, 32, 36, 42,
                               37, 43, 38, 44, 27, 33, 28, 34, 29, 35, 39, 45, 40, 46, 41, 47});
}

TEST(SpaceToDepth, InvertsDepthToSpaceDcr) {
  expect_tensor(run("SpaceToDepth", {f32({1, 1, 2, 2}, {1, 2, 3, 4})}, {{"blocksize", a_int(2)}}),
                {1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor x = iota({2, 8, 2, 3});
  Tensor d = run("DepthToSpace", {x}, {{"blocksize", a_int(2)}});
  Tensor back = run("SpaceToDepth", {d}, {{"blocksize", a_int(2)}});
  EXPECT_TRUE(back.equals(x));
  // Any dtype moves: int64, blocksize 3.
  Tensor i = Tensor::from_vector<int64_t>({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_tensor(run("SpaceToDepth", {i}, {{"blocksize", a_int(3)}}), {1, 9, 1, 1},
                {1, 2, 3, 4, 5, 6, 7, 8, 9}, 0);
}

TEST(DepthToSpace, RejectsBadShapesAndAttributes) {
  expect_user_error(
      [&] {
        run("DepthToSpace", {iota({1, 6, 2, 2})}, {{"blocksize", a_int(2)}});
      },
      "multiple");
  expect_user_error(
      [&] {
        run("DepthToSpace", {iota({4, 2, 2})}, {{"blocksize", a_int(2)}});
      },
      "N x C x H x W");
  expect_user_error(
      [&] {
        run("DepthToSpace", {iota({1, 4, 1, 1})},
            {{"blocksize", a_int(2)}, {"mode", a_str("RCD")}});
      },
      "mode");
  expect_user_error(
      [&] {
        run("SpaceToDepth", {iota({1, 1, 3, 2})}, {{"blocksize", a_int(2)}});
      },
      "multiple");
  expect_user_error(
      [&] {
        run("SpaceToDepth", {iota({1, 1, 2, 2})}, {{"blocksize", a_int(0)}});
      },
      "blocksize");
}
