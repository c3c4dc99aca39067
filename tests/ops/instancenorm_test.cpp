// InstanceNormalization against per-plane statistics computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Node in_node() {
  return ir::Node{.name = "in1",
                  .op_type = "InstanceNormalization",
                  .inputs = {"x", "s", "b"},
                  .outputs = {"y"}};
}

}  // namespace

TEST(InstanceNormalization, PerPlaneStatistics) {
  // Planes (1 3), (2 2), (0 4), (10 20): means 2, 2, 2, 15; variances 1, 0, 4, 25.
  Tensor x = Tensor::from_vector<float>({2, 2, 2}, {1, 3, 2, 2, 0, 4, 10, 20});
  Tensor s = Tensor::from_vector<float>({2}, {1, 3});
  Tensor b = Tensor::from_vector<float>({2}, {0, 1});
  ir::Node n = in_node();
  // Plane (2 2) has zero variance: a little epsilon keeps it finite.
  n.attrs["epsilon"] = ir::Attribute{1e-6f};
  Tensor y = ops::evaluate(n, 6, {x, s, b})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 2, 2}));
  const double e = 1e-6;
  std::vector<double> want = {-1 / std::sqrt(1 + e),
                              1 / std::sqrt(1 + e),
                              1,
                              1,
                              -2 / std::sqrt(4 + e),
                              2 / std::sqrt(4 + e),
                              3 * -5 / std::sqrt(25 + e) + 1,
                              3 * 5 / std::sqrt(25 + e) + 1};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6) << i;
}

TEST(InstanceNormalization, BadScaleNamesTheNode) {
  Tensor x(DType::kF32, {1, 3, 4});
  try {
    ops::evaluate(in_node(), 6, {x, Tensor(DType::kF32, {2}), Tensor(DType::kF32, {3})});
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("in1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("scale"), std::string::npos) << msg;
  }
  EXPECT_THROW(
      ops::evaluate(in_node(), 6,
                    {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {3}), Tensor(DType::kF32, {3})}),
      UserError);
}
