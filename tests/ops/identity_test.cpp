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
