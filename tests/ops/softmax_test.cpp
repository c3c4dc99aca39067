// Softmax, LogSoftmax and Hardmax against hand-computed values, for both axis rules:
// opset < 13 flattens to 2-D at `axis`, opset >= 13 normalises along one axis.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Node node(const char* op, std::optional<int64_t> axis = std::nullopt) {
  ir::Node n{.name = "prob", .op_type = op, .inputs = {"x"}, .outputs = {"y"}};
  if (axis) n.attrs["axis"] = ir::Attribute{*axis};
  return n;
}

// 2x2x2: element (i, j, k) = i * 4 + j * 2 + k, scaled so exponentials differ clearly.
Tensor cube() {
  return Tensor::from_vector<float>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
}

}  // namespace

TEST(Softmax, HandComputedRow) {
  Tensor x = Tensor::from_vector<float>({1, 3}, {1, 2, 3});
  Tensor y = ops::evaluate(node("Softmax"), 13, {x})[0];
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(y.data<float>()[i], std::exp(i + 1.0) / z, 1e-7);
  Tensor l = ops::evaluate(node("LogSoftmax"), 13, {x})[0];
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(l.data<float>()[i], (i + 1.0) - std::log(z), 1e-6);
}

TEST(Softmax, LargeValuesDoNotOverflow) {
  Tensor x = Tensor::from_vector<float>({1, 3}, {10000, 10001, 10002});
  Tensor y = ops::evaluate(node("Softmax"), 13, {x})[0];
  const double z = std::exp(-2.0) + std::exp(-1.0) + 1;
  EXPECT_NEAR(y.data<float>()[2], 1 / z, 1e-6);
}

TEST(Softmax, Opset13NormalizesAlongOneAxis) {
  // axis 1: pairs (x[i,0,k], x[i,1,k]) differ by 2: softmax = 1/(1+e^2), e^2/(1+e^2).
  Tensor y = ops::evaluate(node("Softmax", 1), 13, {cube()})[0];
  const float lo = float(1 / (1 + std::exp(2.0))), hi = float(std::exp(2.0) / (1 + std::exp(2.0)));
  std::vector<float> want = {lo, lo, hi, hi, lo, lo, hi, hi};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6) << i;
  // Default axis -1: pairs differ by 1.
  y = ops::evaluate(node("Softmax"), 13, {cube()})[0];
  const float a = float(1 / (1 + std::exp(1.0))), b = 1 - a;
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], i % 2 ? b : a, 1e-6) << i;
  // Negative axis -3 is axis 0.
  y = ops::evaluate(node("Softmax", -3), 13, {cube()})[0];
  const float c = float(1 / (1 + std::exp(4.0)));
  EXPECT_NEAR(y.data<float>()[0], c, 1e-6);
  EXPECT_NEAR(y.data<float>()[4], 1 - c, 1e-6);
}

TEST(Softmax, BeforeOpset13CoercesTo2D) {
  // Default axis 1: each sample's 4 values form one row.
  Tensor y = ops::evaluate(node("Softmax"), 11, {cube()})[0];
  double z = 0;
  for (int i = 0; i < 4; ++i) z += std::exp(double(i));
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(y.data<float>()[i], std::exp(double(i)) / z, 1e-6) << i;
    EXPECT_NEAR(y.data<float>()[4 + i], std::exp(double(i)) / z, 1e-6) << i;
  }
  // axis 0: all 8 values form one row.
  y = ops::evaluate(node("LogSoftmax", 0), 11, {cube()})[0];
  z = 0;
  for (int i = 0; i < 8; ++i) z += std::exp(double(i));
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(y.data<float>()[i], i - std::log(z), 1e-5) << i;
}

TEST(Hardmax, FirstMaximumPerAxis) {
  Tensor x = Tensor::from_vector<float>({2, 3}, {3, 1, 3, -1, 5, 2});
  Tensor y = ops::evaluate(node("Hardmax"), 13, {x})[0];
  std::vector<float> want = {1, 0, 0, 0, 1, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], want[i]) << i;
  y = ops::evaluate(node("Hardmax", 0), 13, {x})[0];  // along columns
  want = {1, 0, 1, 0, 1, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], want[i]) << i;
  y = ops::evaluate(node("Hardmax", 0), 11, {x})[0];  // one row of all 6
  want = {0, 0, 0, 0, 1, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.data<float>()[i], want[i]) << i;
}

TEST(Softmax, DoubleAndEmpty) {
  Tensor x = Tensor::from_vector<double>({2}, {0, 0});
  Tensor y = ops::evaluate(node("Softmax"), 13, {x})[0];
  EXPECT_DOUBLE_EQ(y.data<double>()[1], 0.5);
  Tensor e = ops::evaluate(node("Softmax"), 13, {Tensor(DType::kF32, {0, 3})})[0];
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
}

TEST(Softmax, BadAxisNamesTheNode) {
  try {
    ops::evaluate(node("Softmax", 3), 13, {cube()});
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("prob"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("axis"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::evaluate(node("Softmax"), 13, {Tensor::scalar<float>(1)}), UserError);
  EXPECT_THROW(ops::evaluate(node("Softmax"), 13, {Tensor(DType::kF16, {2})}), UnsupportedError);
}
