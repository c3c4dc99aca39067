// BatchNormalization (inference) against the formula evaluated by hand, across opsets.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Node bn_node() {
  return ir::Node{.name = "bn1",
                  .op_type = "BatchNormalization",
                  .inputs = {"x", "s", "b", "mean", "var"},
                  .outputs = {"y"}};
}

std::vector<Tensor> bn_inputs() {
  // Two channels, 1x2x1x3.
  return {Tensor::from_vector<float>({1, 2, 1, 3}, {1, 2, 3, 4, 5, 6}),
          Tensor::from_vector<float>({2}, {2, 0.5f}), Tensor::from_vector<float>({2}, {1, -1}),
          Tensor::from_vector<float>({2}, {2, 5}), Tensor::from_vector<float>({2}, {4, 1})};
}

}  // namespace

TEST(BatchNormalization, FormulaPerChannel) {
  for (int64_t opset : {7, 9, 14, 15}) {
    ir::Node n = bn_node();
    n.attrs["epsilon"] = ir::Attribute{0.0f};
    Tensor y = ops::evaluate(n, opset, bn_inputs())[0];
    ASSERT_EQ(y.shape(), (Shape{1, 2, 1, 3}));
    // Channel 0: (x - 2) / 2 * 2 + 1 = x - 1; channel 1: (x - 5) * 0.5 - 1.
    std::vector<float> want = {0, 1, 2, -1.5f, -1, -0.5f};
    for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]) << opset;
  }
}

TEST(BatchNormalization, DefaultEpsilon) {
  Tensor y = ops::evaluate(bn_node(), 15, bn_inputs())[0];
  EXPECT_FLOAT_EQ(y.data<float>()[0], float((1 - 2) / std::sqrt(4 + 1e-5) * 2 + 1));
}

TEST(BatchNormalization, SpatialZeroNormalizesEachElement) {
  ir::Node n = bn_node();
  n.attrs["spatial"] = ir::Attribute{int64_t{0}};
  n.attrs["epsilon"] = ir::Attribute{0.0f};
  Tensor x = Tensor::from_vector<float>({2, 1, 2}, {1, 2, 3, 4});
  Tensor s = Tensor::from_vector<float>({1, 2}, {1, 2});
  Tensor b = Tensor::from_vector<float>({1, 2}, {0, 0});
  Tensor mean = Tensor::from_vector<float>({1, 2}, {1, 2});
  Tensor var = Tensor::from_vector<float>({1, 2}, {1, 4});
  Tensor y = ops::evaluate(n, 7, {x, s, b, mean, var})[0];
  std::vector<float> want = {0, 0, 2, 2};  // (x - mean) / sqrt(var) * scale
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]);
}

TEST(BatchNormalization, RankTwoAndDouble) {
  ir::Node n = bn_node();
  n.attrs["epsilon"] = ir::Attribute{0.0f};
  std::vector<Tensor> in = {
      Tensor::from_vector<double>({2, 2}, {3, 6, 5, 7}), Tensor::from_vector<double>({2}, {1, 1}),
      Tensor::from_vector<double>({2}, {0, 0}), Tensor::from_vector<double>({2}, {1, 5}),
      Tensor::from_vector<double>({2}, {4, 1})};
  Tensor y = ops::evaluate(n, 15, in)[0];
  std::vector<double> want = {1, 1, 2, 2};
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(y.data<double>()[i], want[i]);
}

TEST(BatchNormalization, TrainingIsDeclined) {
  ir::Node n = bn_node();
  n.attrs["training_mode"] = ir::Attribute{int64_t{1}};
  EXPECT_THROW(ops::evaluate(n, 15, bn_inputs()), UnsupportedError);
  ir::Node outs = bn_node();
  outs.outputs = {"y", "running_mean", "running_var"};
  EXPECT_THROW(ops::evaluate(outs, 15, bn_inputs()), UnsupportedError);
  // Optional outputs named empty are absent: fine.
  ir::Node absent = bn_node();
  absent.outputs = {"y", "", "", "", ""};
  EXPECT_EQ(ops::evaluate(absent, 7, bn_inputs())[0].shape(), (Shape{1, 2, 1, 3}));
}

TEST(BatchNormalization, BadInputsNameTheNode) {
  auto in = bn_inputs();
  in[3] = Tensor::from_vector<float>({3}, {0, 0, 0});
  try {
    ops::evaluate(bn_node(), 15, in);
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("bn1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mean"), std::string::npos) << msg;
  }
  in = bn_inputs();
  in[0] = Tensor::from_vector<float>({2}, {1, 2});
  EXPECT_THROW(ops::evaluate(bn_node(), 15, in), UserError);
}

TEST(BatchNormalization, CostCountsScaleAndBiasAsParameters) {
  const ops::OpDef* def = ops::find_op("", "BatchNormalization");
  ir::Node n = bn_node();
  ops::Work w =
      def->cost(ops::CostContext{n, {{1, 64, 56, 56}, {64}, {64}, {64}, {64}}, {{1, 64, 56, 56}}});
  EXPECT_EQ(w.params, 128);
  EXPECT_EQ(w.macs, 0);
}
