// The cost model reproduces Horowitz's 45 nm figures (ISSCC 2014) exactly and behaves
// sensibly between them.
#include <gtest/gtest.h>

#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"

namespace fn = frugal::numeric;

TEST(CostModel, HorowitzAnchorsComeOutExactly) {
  // Energy (pJ) and area (um^2) per operation, 45 nm, as published.
  EXPECT_DOUBLE_EQ(fn::add_cost(fn::parse_format("int8")).energy_pj, 0.03);
  EXPECT_DOUBLE_EQ(fn::add_cost(fn::parse_format("int16")).energy_pj, 0.05);
  EXPECT_DOUBLE_EQ(fn::int_add_cost(32).energy_pj, 0.1);
  EXPECT_DOUBLE_EQ(fn::mul_cost(fn::parse_format("int8")).energy_pj, 0.2);
  EXPECT_DOUBLE_EQ(fn::int_mul_cost(32).energy_pj, 3.1);
  EXPECT_DOUBLE_EQ(fn::add_cost(fn::parse_format("fp16")).energy_pj, 0.4);
  EXPECT_DOUBLE_EQ(fn::add_cost(fn::parse_format("fp32")).energy_pj, 0.9);
  EXPECT_DOUBLE_EQ(fn::mul_cost(fn::parse_format("fp16")).energy_pj, 1.1);
  EXPECT_DOUBLE_EQ(fn::mul_cost(fn::parse_format("fp32")).energy_pj, 3.7);
  EXPECT_DOUBLE_EQ(fn::add_cost(fn::parse_format("int8")).area_um2, 36);
  EXPECT_DOUBLE_EQ(fn::int_add_cost(16).area_um2, 67);
  EXPECT_DOUBLE_EQ(fn::int_add_cost(32).area_um2, 137);
  EXPECT_DOUBLE_EQ(fn::int_mul_cost(8).area_um2, 282);
  EXPECT_DOUBLE_EQ(fn::int_mul_cost(32).area_um2, 3495);
  EXPECT_DOUBLE_EQ(fn::fp_add_cost(11).area_um2, 1360);
  EXPECT_DOUBLE_EQ(fn::fp_add_cost(24).area_um2, 4184);
  EXPECT_DOUBLE_EQ(fn::fp_mul_cost(11).area_um2, 1640);
  EXPECT_DOUBLE_EQ(fn::fp_mul_cost(24).area_um2, 7700);
  // MACs: fp32 = 3.7 + 0.9; int8 multiply into an int32 accumulator = 0.2 + 0.1.
  EXPECT_DOUBLE_EQ(fn::mac_cost(fn::parse_format("fp32")).energy_pj, 4.6);
  EXPECT_DOUBLE_EQ(fn::mac_cost(fn::parse_format("fp32")).relative_area, 1.0);
  EXPECT_DOUBLE_EQ(fn::mac_cost(fn::parse_format("int8")).energy_pj, 0.3);
  EXPECT_DOUBLE_EQ(fn::mac_cost(fn::parse_format("fp16"), fn::parse_format("fp32")).energy_pj,
                   1.1 + 0.9);
  // Memory per 64-bit word: 8 KB cache 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ, DRAM 1.3 nJ.
  EXPECT_DOUBLE_EQ(fn::sram_access_pj(8 * 1024), 10);
  EXPECT_DOUBLE_EQ(fn::sram_access_pj(32 * 1024), 20);
  EXPECT_DOUBLE_EQ(fn::sram_access_pj(1024 * 1024), 100);
  EXPECT_DOUBLE_EQ(fn::dram_access_pj(), 1300);
}

TEST(CostModel, InterpolatesMonotonicallyAndFollowsTheFittedLaws) {
  double last_add = 0, last_mul = 0;
  for (int w = 1; w <= 32; ++w) {
    const double add = fn::int_add_cost(w).energy_pj, mul = fn::int_mul_cost(w).energy_pj;
    EXPECT_GT(add, last_add) << w;
    EXPECT_GT(mul, last_mul) << w;
    last_add = add;
    last_mul = mul;
  }
  // Beyond the anchors the laws hold exactly: adders linear, multipliers quadratic.
  EXPECT_NEAR(fn::int_add_cost(4).energy_pj, 0.03 / 2, 1e-12);
  EXPECT_NEAR(fn::int_mul_cost(4).energy_pj, 0.2 / 4, 1e-12);
  EXPECT_NEAR(fn::fp_mul_cost(48).energy_pj, 3.7 * 4, 1e-12);
  // Between anchors the value lies between the neighbours.
  const double int12 = fn::int_mul_cost(12).energy_pj;
  EXPECT_GT(int12, 0.2);
  EXPECT_LT(int12, 3.1);
  // Low-precision floats are cheaper than fp16; bf16 multiplies cost less than fp16's.
  EXPECT_LT(fn::mul_cost(fn::parse_format("e4m3")).energy_pj, 1.1);
  EXPECT_LT(fn::mul_cost(fn::parse_format("bf16")).energy_pj,
            fn::mul_cost(fn::parse_format("fp16")).energy_pj);
  EXPECT_LT(fn::mac_cost(fn::parse_format("e2m1")).energy_pj,
            fn::mac_cost(fn::parse_format("e4m3")).energy_pj);
  // A block format pays one 8-bit add per block on top of its element MAC.
  EXPECT_NEAR(fn::mac_cost(fn::parse_format("mxfp8")).energy_pj,
              fn::mac_cost(fn::parse_format("e4m3")).energy_pj + 0.03 / 32, 1e-12);
  // The fits are least squares: for the int adder, k = sum(w E) / sum(w^2) = 4.24 / 1344.
  EXPECT_NEAR(fn::cost_fits()[0].energy_coefficient, 4.24 / 1344, 1e-15);
}
