#include <cmath>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(LayerNormalization, NormalizesTheLastAxisByDefault) {
  // Row [1, 2, 3]: mean 2, variance 2/3. Row [4, 4, 4]: variance 0, so y = B.
  const double inv = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  auto out =
      run_all("LayerNormalization",
              {f32({2, 3}, {1, 2, 3, 4, 4, 4}), f32({1}, {2}), f32({3}, {0, 1, 2})}, {}, 17, 3);
  expect_tensor(out[0], {2, 3}, {-2 * inv, 1, 2 + 2 * inv, 0, 1, 2}, 1e-5);
  expect_tensor(out[1], {2, 1}, {2, 4});
  expect_tensor(out[2], {2, 1}, {inv, 1.0 / std::sqrt(1e-5)}, 1e-5);
}

TEST(LayerNormalization, AxisEpsilonAndScaleShapes) {
  // axis 0: the whole [2, 2] tensor is one row: mean 2.5, variance 1.25.
  const double inv = 1.0 / std::sqrt(1.25 + 0.25);
  auto out = run_all("LayerNormalization", {f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {1, 1, 1, 2})},
                     {{"axis", a_int(0)}, {"epsilon", a_float(0.25f)}}, 17, 3);
  expect_tensor(out[0], {2, 2}, {-1.5 * inv, -0.5 * inv, 0.5 * inv, 3 * inv}, 1e-5);
  expect_tensor(out[1], {1, 1}, {2.5});
  expect_tensor(out[2], {1, 1}, {inv}, 1e-5);
  // axis -2 of [2, 2, 2]: rows are the [2, 2] planes; Scale [2, 1] broadcasts per row.
  const double p = 1.0 / std::sqrt(1.25 + 1e-5);
  Tensor y =
      run("LayerNormalization", {f32({2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 8}), f32({2, 1}, {1, 10})},
          {{"axis", a_int(-2)}}, 17);
  const double q = 1.0 / std::sqrt(12.0 + 1e-5);  // plane 2: mean 2, variance 12
  expect_tensor(y, {2, 2, 2}, {-1.5 * p, -0.5 * p, 5 * p, 15 * p, -2 * q, -2 * q, -20 * q, 60 * q},
                1e-5);
}

TEST(LayerNormalization, DoubleInput) {
  Tensor x = Tensor::from_vector<double>({2}, {0, 2});
  Tensor s = Tensor::from_vector<double>({2}, {1, 1});
  Tensor y = run("LayerNormalization", {x, s}, {{"epsilon", a_float(0)}}, 17);
  EXPECT_EQ(y.dtype(), DType::kF64);
  expect_tensor(y, {2}, {-1, 1});
}

TEST(LayerNormalization, RejectsBadInputs) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_user_error(
      [&] {
        run("LayerNormalization", {x, f32({4}, {1, 1, 1, 1})}, {}, 17);
      },
      "broadcast");
  expect_user_error(
      [&] {
        run("LayerNormalization", {x, f32({3}, {1, 1, 1})}, {{"axis", a_int(2)}}, 17);
      },
      "axis");
  expect_user_error(
      [&] {
        run("LayerNormalization", {x, Tensor::from_vector<double>({3}, {1, 1, 1})}, {}, 17);
      },
      "dtype");
  expect_unsupported([&] {
    run("LayerNormalization", {x, f32({3}, {1, 1, 1})}, {{"stash_type", a_int(11)}}, 17);
  });
}
