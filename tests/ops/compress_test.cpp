#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor cond(std::vector<bool> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<bool>({n}, v);
}
}  // namespace

// The examples of the ONNX operator documentation.
TEST(Compress, AlongAnAxisAndFlattened) {
  Tensor x = f32({3, 2}, {1, 2, 3, 4, 5, 6});
  expect_tensor(run("Compress", {x, cond({false, true, true})}, {{"axis", a_int(0)}}), {2, 2},
                {3, 4, 5, 6});
  expect_tensor(run("Compress", {x, cond({false, true})}, {{"axis", a_int(1)}}), {3, 1}, {2, 4, 6});
  expect_tensor(run("Compress", {x, cond({false, true})}, {{"axis", a_int(-1)}}), {3, 1},
                {2, 4, 6});
  expect_tensor(run("Compress", {x, cond({false, true, false, false, true})}), {2}, {2, 5});
  // A shorter condition: missing entries are false.
  expect_tensor(run("Compress", {x, cond({true})}, {{"axis", a_int(0)}}), {1, 2}, {1, 2});
  EXPECT_EQ(run("Compress", {x, cond({false, false})}, {{"axis", a_int(1)}}).shape(),
            (Shape{3, 0}));
}

TEST(Compress, ConditionMustBeKnownAndFit) {
  Tensor x = f32({2}, {1, 2});
  EXPECT_THROW(infer_only("Compress", {x, cond({true})}, {true, false}), ops::DataDependentShape);
  expect_user_error([&] { run("Compress", {x, cond({false, false, true})}); }, "entry 2");
  expect_user_error([&] { run("Compress", {x, i64({1}, {1})}); }, "bool");
}
