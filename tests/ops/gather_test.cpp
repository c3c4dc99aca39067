#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Gather, PicksSlicesAlongTheAxis) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_tensor(run("Gather", {x, i64({2, 2}, {0, 1, 1, 2})}), {2, 2, 2}, {1, 2, 3, 4, 3, 4, 5, 6});
  expect_tensor(run("Gather", {x, i64s({1, 0})}, {{"axis", a_int(1)}}), {3, 2}, {2, 1, 4, 3, 6, 5});
  // Scalar index drops the axis; negative index counts from the end.
  expect_tensor(run("Gather", {x, Tensor::scalar<int64_t>(-1)}), {2}, {5, 6});
  Tensor idx32 = Tensor::from_vector<int32_t>({1}, {-2});
  expect_tensor(run("Gather", {x, idx32}, {{"axis", a_int(-1)}}), {3, 1}, {1, 3, 5});
}

TEST(Gather, RejectsOutOfRangeIndices) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_user_error([&] { run("Gather", {x, i64s({3})}); }, "out of range");
  expect_user_error([&] { run("Gather", {x, i64s({-4})}); }, "out of range");
  expect_user_error([&] { run("Gather", {x, f32({1}, {0})}); }, "indices");
  expect_user_error([&] { run("Gather", {x, i64s({0})}, {{"axis", a_int(2)}}); }, "axis");
}

TEST(GatherElements, FollowsTheSpecExamples) {
  expect_tensor(run("GatherElements", {f32({2, 2}, {1, 2, 3, 4}), i64({2, 2}, {0, 0, 1, 0})},
                    {{"axis", a_int(1)}}),
                {2, 2}, {1, 1, 4, 3});
  expect_tensor(run("GatherElements",
                    {f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}), i64({2, 3}, {1, 2, 0, 2, 0, 0})}),
                {2, 3}, {4, 8, 3, 7, 2, 3});
  // Negative indices, and an index shape smaller than the data on a non-axis dimension.
  expect_tensor(run("GatherElements", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), i64({1, 2}, {-1, -3})},
                    {{"axis", a_int(-1)}}),
                {1, 2}, {3, 1});
}

TEST(GatherElements, RejectsBadIndices) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  expect_user_error([&] { run("GatherElements", {x, i64({1, 1}, {2})}); }, "out of range");
  expect_user_error([&] { run("GatherElements", {x, i64s({0})}); }, "rank");
  expect_user_error([&] { run("GatherElements", {x, i64({1, 3}, {0, 0, 0})}); }, "exceed");
}
