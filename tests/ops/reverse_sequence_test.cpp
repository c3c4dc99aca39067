#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

// The examples of the ONNX operator documentation (4 x 4 input 0..15).
TEST(ReverseSequence, TimeMajorAndBatchMajor) {
  Tensor x = iota({4, 4});
  // time_axis 0, batch_axis 1: column b is sequence b.
  expect_tensor(run("ReverseSequence", {x, i64({4}, {4, 3, 2, 1})}), {4, 4},
                {12, 9, 6, 3, 8, 5, 2, 7, 4, 1, 10, 11, 0, 13, 14, 15});
  // batch_axis 0, time_axis 1: row b is sequence b.
  expect_tensor(run("ReverseSequence", {x, i64({4}, {1, 2, 3, 4})},
                    {{"batch_axis", a_int(0)}, {"time_axis", a_int(1)}}),
                {4, 4}, {0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12});
}

TEST(ReverseSequence, TrailingDimensionsMoveTogether) {
  // [time 3, batch 1, 2]: pairs move as units; length 0 leaves the sequence alone.
  Tensor x = iota({3, 1, 2});
  expect_tensor(run("ReverseSequence", {x, i64({1}, {3})}), {3, 1, 2}, {4, 5, 2, 3, 0, 1});
  expect_tensor(run("ReverseSequence", {x, i64({1}, {0})}), {3, 1, 2}, {0, 1, 2, 3, 4, 5});
}

TEST(ReverseSequence, RejectsBadLengthsAndAxes) {
  Tensor x = iota({2, 2});
  expect_user_error([&] { run("ReverseSequence", {x, i64({2}, {3, 1})}); }, "outside");
  expect_user_error([&] { run("ReverseSequence", {x, i64({3}, {1, 1, 1})}); }, "batch size");
  expect_user_error(
      [&] {
        run("ReverseSequence", {x, i64({2}, {1, 1})}, {{"batch_axis", a_int(0)}});
      },
      "batch_axis");
}
