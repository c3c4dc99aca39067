#include <gtest/gtest.h>

#include "frugal/ops/op.h"

using namespace frugal;

TEST(Identity, CopiesValuesAndShape) {
  ir::Node n{.name = "id", .op_type = "Identity", .inputs = {"x"}, .outputs = {"y"}};
  Tensor x = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  auto out = ops::evaluate(n, 18, {x});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].equals(x));
}

namespace {
ir::Node dropout_node(bool with_ratio) {
  return ir::Node{.name = "drop3",
                  .op_type = "Dropout",
                  .inputs = {"x", with_ratio ? "ratio" : "", "training_mode"},
                  .outputs = {"y", "mask"}};
}
}  // namespace

TEST(Dropout, TrainingModeWithRatioZeroIsACopyWithAFullMask) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {1, -2, 3, -4, 5, -6});
  auto out = ops::evaluate(dropout_node(true), 13, {x, Tensor::scalar(0.0f), Tensor::scalar(true)});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].equals(x));
  for (bool m : out[1].span<bool>()) EXPECT_TRUE(m);
}

TEST(Dropout, TrainingModeWithARatioIsRefusedNamingTheNode) {
  Tensor x = Tensor::from_vector<float>({2}, {1, 2});
  try {
    ops::evaluate(dropout_node(true), 13, {x, Tensor::scalar(0.25f), Tensor::scalar(true)});
    FAIL() << "random dropout ran";
  } catch (const UnsupportedError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("node 'drop3' (Dropout)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("ratio 0.25"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // Without a ratio input ONNX's default 0.5 applies: refused too.
  EXPECT_THROW(ops::evaluate(dropout_node(false), 13, {x, Tensor(), Tensor::scalar(true)}),
               UnsupportedError);
  // Inference mode with any ratio stays a copy.
  auto out =
      ops::evaluate(dropout_node(true), 13, {x, Tensor::scalar(0.25f), Tensor::scalar(false)});
  EXPECT_TRUE(out[0].equals(x));
}
