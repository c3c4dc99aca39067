#include <limits>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
template <typename T>
Tensor vec(std::vector<T> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<T>({n}, v);
}
}  // namespace

TEST(Mod, IntegerRemainderTakesTheDivisorsSign) {
  Tensor x = vec<int32_t>({-4, 7, 5, 4, -7, 8});
  Tensor y = vec<int32_t>({2, -3, 8, -2, 3, 5});
  expect_tensor(run("Mod", {x, y}), {6}, {0, -2, 5, 0, 2, 3}, 0);
  // fmod=1: the dividend's sign, as C's % and fmod.
  expect_tensor(run("Mod", {x, y}, {{"fmod", a_int(1)}}), {6}, {0, 1, 5, 0, -1, 3}, 0);
}

TEST(Mod, FloatFmodAndBroadcasting) {
  Tensor x = f32({6}, {-4.3f, 7.2f, 5.0f, 4.3f, -7.2f, 8.0f});
  Tensor y = f32({6}, {2.1f, -3.4f, 8.0f, -2.1f, 3.4f, 5.0f});
  expect_tensor(run("Mod", {x, y}, {{"fmod", a_int(1)}}), {6}, {-0.1, 0.4, 5, 0.1, -0.4, 3}, 1e-5);
  expect_tensor(run("Mod", {i64({2, 3}, {1, 2, 3, -4, 5, 6}), i64({1}, {-2})}), {2, 3},
                {-1, 0, -1, 0, -1, 0}, 0);
}

TEST(Mod, EdgeCasesDoNotTrap) {
  // Division by zero gives 0; INT8_MIN % -1 gives 0 instead of overflowing.
  expect_tensor(run("Mod", {vec<int8_t>({5, -128, -128}), vec<int8_t>({0, -1, 3})}), {3}, {0, 0, 1},
                0);
  expect_tensor(run("Mod", {vec<uint16_t>({7, 9, 65535}), vec<uint16_t>({4, 0, 10})}), {3},
                {3, 0, 5}, 0);
  // An empty operand broadcasts to an empty result.
  EXPECT_EQ(run("Mod", {vec<int64_t>({}), vec<int64_t>({3})}).numel(), 0);
}

TEST(Mod, RejectsFloatWithoutFmodAndMixedTypes) {
  expect_user_error([&] { run("Mod", {f32({1}, {1}), f32({1}, {1})}); }, "fmod");
  expect_user_error([&] { run("Mod", {vec<int32_t>({1}), vec<int64_t>({1})}); }, "dtype");
  expect_user_error(
      [&] {
        run("Mod", {vec<int32_t>({1}), vec<int32_t>({1})}, {{"fmod", a_int(2)}});
      },
      "fmod");
}
