#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

namespace {
Tensor f32(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<float>({n}, v);
}
Tensor clip(const std::vector<std::string>& names, const std::vector<Tensor>& inputs,
            int64_t opset) {
  return ops::evaluate(make_node("Clip", names), opset, inputs).at(0);
}
}  // namespace

TEST(Clip, AttributesBeforeOpset11) {
  auto y = run("Clip", {f32({-2, -0.5f, 0.3f, 2})},
               {{"min", attr_float(-1)}, {"max", attr_float(1)}}, 6);
  expect_near(y, {-1, -0.5, 0.3, 1});
  // Only max given: no lower bound.
  expect_near(run("Clip", {f32({-100, 5})}, {{"max", attr_float(1)}}, 6), {-100, 1});
}

TEST(Clip, InputsFromOpset11) {
  auto x = f32({-2, -0.5f, 0.3f, 2});
  expect_near(clip({"x", "lo", "hi"}, {x, Tensor::scalar<float>(-1), Tensor::scalar<float>(1)}, 11),
              {-1, -0.5, 0.3, 1});
  // Omitted min (empty name), given max.
  expect_near(clip({"x", "", "hi"}, {x, Tensor(), Tensor::scalar<float>(0)}, 13), {-2, -0.5, 0, 0});
  // Only min.
  expect_near(clip({"x", "lo"}, {x, Tensor::scalar<float>(0)}, 13), {0, 0, 0.3, 2});
  // No bounds: unchanged.
  expect_near(clip({"x"}, {x}, 13), {-2, -0.5, 0.3, 2});
}

TEST(Clip, IntegersAndMinAboveMax) {
  auto x = Tensor::from_vector<int8_t>({4}, {-128, -3, 5, 127});
  auto y = clip({"x", "lo"}, {x, Tensor::scalar<int8_t>(-4)}, 12);
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{-4, -3, 5, 127}));
  // min > max: everything becomes max.
  auto z = clip({"x", "lo", "hi"}, {x, Tensor::scalar<int8_t>(10), Tensor::scalar<int8_t>(1)}, 13);
  EXPECT_EQ(values<int8_t>(z), (std::vector<int8_t>{1, 1, 1, 1}));
}

TEST(Clip, NaNStaysNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  expect_near(clip({"x", "lo", "hi"},
                   {f32({nan, 3}), Tensor::scalar<float>(0), Tensor::scalar<float>(1)}, 13),
              {NAN, 1});
}

TEST(Clip, Errors) {
  // Bounds must be one element of x's dtype.
  expect_user_error([] {
    clip({"x", "lo"}, {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {2})}, 13);
  });
  expect_user_error([] {
    clip({"x", "lo"}, {Tensor(DType::kF32, {3}), Tensor::scalar<double>(0)}, 13);
  });
  // Integer inputs arrived with opset 12's input form; the attribute form is float-only.
  expect_user_error([] { run("Clip", {Tensor(DType::kI32, {3})}, {}, 6); });
}
