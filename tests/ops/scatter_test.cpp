#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Attrs reduce(const char* r) {
  return {{"reduction", a_str(r)}};
}
}  // namespace

TEST(ScatterElements, SpecExamples) {
  expect_tensor(run("ScatterElements",
                    {f32({3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0}), i64({2, 3}, {1, 0, 2, 0, 2, 1}),
                     f32({2, 3}, {1, 1.1f, 1.2f, 2, 2.1f, 2.2f})}),
                {3, 3}, {2, 1.1, 0, 1, 0, 2.2, 0, 2.1, 1.2});
  expect_tensor(run("ScatterElements",
                    {f32({1, 5}, {1, 2, 3, 4, 5}), i64({1, 2}, {1, 3}), f32({1, 2}, {1.1f, 2.1f})},
                    {{"axis", a_int(1)}}),
                {1, 5}, {1, 1.1, 3, 2.1, 5});
  // Negative index; int32 indices.
  expect_tensor(run("ScatterElements",
                    {f32({1, 5}, {1, 2, 3, 4, 5}), Tensor::from_vector<int32_t>({1, 2}, {1, -3}),
                     f32({1, 2}, {1.1f, 2.1f})},
                    {{"axis", a_int(1)}}),
                {1, 5}, {1, 1.1, 2.1, 4, 5});
}

TEST(ScatterElements, Reductions) {
  Tensor data = f32({1, 5}, {1, 2, 3, 4, 5});
  Tensor idx = i64({1, 2}, {1, 1});
  Tensor upd = f32({1, 2}, {1.1f, 2.1f});
  Attrs a = reduce("add");
  a["axis"] = a_int(1);
  expect_tensor(run("ScatterElements", {data, idx, upd}, a, 16), {1, 5}, {1, 5.2, 3, 4, 5}, 1e-6);
  a["reduction"] = a_str("mul");
  expect_tensor(run("ScatterElements", {data, idx, upd}, a, 16), {1, 5},
                {1, 2 * 1.1 * 2.1, 3, 4, 5}, 1e-6);
  a["reduction"] = a_str("max");
  expect_tensor(run("ScatterElements", {data, idx, upd}, a, 18), {1, 5}, {1, 2.1, 3, 4, 5});
  a["reduction"] = a_str("min");
  expect_tensor(run("ScatterElements", {data, idx, upd}, a, 18), {1, 5}, {1, 1.1, 3, 4, 5});
  // max needs opset 18.
  a["reduction"] = a_str("max");
  expect_user_error([&] { run("ScatterElements", {data, idx, upd}, a, 16); }, "reduction");
}

TEST(Scatter, IsTheOldNameOfScatterElements) {
  expect_tensor(run("Scatter", {f32({1, 3}, {0, 0, 0}), i64({1, 1}, {2}), f32({1, 1}, {7})},
                    {{"axis", a_int(1)}}, 9),
                {1, 3}, {0, 0, 7});
}

TEST(ScatterElements, RejectsBadInputs) {
  Tensor data = f32({2, 2}, {0, 0, 0, 0});
  expect_user_error(
      [&] {
        run("ScatterElements", {data, i64({1, 1}, {2}), f32({1, 1}, {1})});
      },
      "out of range");
  expect_user_error(
      [&] {
        run("ScatterElements", {data, i64({1, 1}, {0}), f32({1, 2}, {1, 1})});
      },
      "differ in shape");
  expect_user_error(
      [&] {
        run("ScatterElements", {data, i64({1, 3}, {0, 0, 0}), f32({1, 3}, {1, 1, 1})});
      },
      "exceed");
  expect_user_error(
      [&] {
        run("ScatterElements", {data, i64({1, 1}, {0}), i64({1, 1}, {1})});
      },
      "dtype");
}

TEST(ScatterND, SpecExamples) {
  expect_tensor(run("ScatterND", {f32({8}, {1, 2, 3, 4, 5, 6, 7, 8}), i64({4, 1}, {4, 3, 1, 7}),
                                  f32({4}, {9, 10, 11, 12})}),
                {8}, {1, 11, 3, 10, 9, 6, 7, 12});
  // Slices: rows 0 and 2 of a [4, 2] matrix.
  expect_tensor(run("ScatterND", {iota({4, 2}), i64({2, 1}, {0, -2}), f32({2, 2}, {5, 5, 6, 6})}),
                {4, 2}, {5, 5, 2, 3, 6, 6, 6, 7});
}

TEST(ScatterND, ReductionsAndErrors) {
  Tensor data = f32({4}, {1, 2, 3, 4});
  Tensor idx = i64({2, 1}, {0, 0});
  Tensor upd = f32({2}, {10, 20});
  expect_tensor(run("ScatterND", {data, idx, upd}, reduce("add"), 16), {4}, {31, 2, 3, 4});
  expect_tensor(run("ScatterND", {data, idx, upd}, reduce("mul"), 16), {4}, {200, 2, 3, 4});
  expect_tensor(run("ScatterND", {data, idx, upd}, reduce("min"), 18), {4}, {1, 2, 3, 4});
  Tensor ints = Tensor::from_vector<int64_t>({2}, {5, 6});
  expect_tensor(run("ScatterND", {ints, i64({1, 1}, {1}), i64({1}, {4})}, reduce("add"), 16), {2},
                {5, 10}, 0);
  expect_user_error(
      [&] {
        run("ScatterND", {data, i64({1, 1}, {4}), f32({1}, {0})});
      },
      "out of range");
  expect_user_error(
      [&] {
        run("ScatterND", {data, i64({1, 1}, {0}), f32({2}, {0, 0})});
      },
      "updates");
  expect_user_error(
      [&] {
        run("ScatterND", {data, i64({1, 2}, {0, 0}), f32({1}, {0})});
      },
      "address");
}
