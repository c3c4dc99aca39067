// LRN against the cross-channel formula evaluated by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

TEST(LRN, CrossChannelWindow) {
  // 4 channels of one element: 1 2 3 4. size 3: channel c sums c-1..c+1.
  ir::Node n{.name = "norm1", .op_type = "LRN", .inputs = {"x"}, .outputs = {"y"}};
  n.attrs["size"] = ir::Attribute{int64_t{3}};
  n.attrs["alpha"] = ir::Attribute{0.3f};
  n.attrs["beta"] = ir::Attribute{0.5f};
  n.attrs["bias"] = ir::Attribute{2.0f};
  Tensor x = Tensor::from_vector<float>({1, 4, 1, 1}, {1, 2, 3, 4});
  Tensor y = ops::evaluate(n, 13, {x})[0];
  const double sums[] = {1 + 4, 1 + 4 + 9, 4 + 9 + 16, 9 + 16};
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(y.data<float>()[c], (c + 1) / std::pow(2 + 0.1 * sums[c], 0.5), 1e-6) << c;
}

TEST(LRN, EvenSizeLooksFurtherAhead) {
  // size 2: the window is [c, c + 1] (floor((2-1)/2) = 0 below, ceil(1/2) = 1 above).
  ir::Node n{.name = "norm1", .op_type = "LRN", .inputs = {"x"}, .outputs = {"y"}};
  n.attrs["size"] = ir::Attribute{int64_t{2}};
  n.attrs["alpha"] = ir::Attribute{2.0f};
  n.attrs["beta"] = ir::Attribute{1.0f};
  Tensor x = Tensor::from_vector<float>({1, 3, 1, 2}, {1, 0, 2, 0, 3, 0});
  Tensor y = ops::evaluate(n, 13, {x})[0];
  EXPECT_FLOAT_EQ(y.data<float>()[0], 1.0f / (1 + 1.0f * (1 + 4)));  // default bias 1
  EXPECT_FLOAT_EQ(y.data<float>()[2], 2.0f / (1 + 1.0f * (4 + 9)));
  EXPECT_FLOAT_EQ(y.data<float>()[4], 3.0f / (1 + 1.0f * 9));
  EXPECT_FLOAT_EQ(y.data<float>()[1], 0.0f);
}

TEST(LRN, SizeIsRequired) {
  ir::Node n{.name = "norm1", .op_type = "LRN", .inputs = {"x"}, .outputs = {"y"}};
  try {
    ops::evaluate(n, 13, {Tensor(DType::kF32, {1, 2, 2, 2})});
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("norm1"), std::string::npos) << e.what();
  }
}
