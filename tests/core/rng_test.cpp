#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/rng.h"

using frugal::Philox;

// Known-answer test from the Random123 distribution (philox4x32_10, kat_vectors):
// counter {0,0,0,0}, key {0,0} -> {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}.
TEST(Philox, KnownAnswerZero) {
  Philox p(0, 0);
  auto b = p.block(0);
  EXPECT_EQ(b[0], 0x6627e8d5u);
  EXPECT_EQ(b[1], 0xe169c58du);
  EXPECT_EQ(b[2], 0xbc57ac4cu);
  EXPECT_EQ(b[3], 0x9b00dbd8u);
}

TEST(Philox, UniformMeanAndNormalMoments) {
  Philox p(42);
  double s = 0, s1 = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    float u = p.uniform(i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    s += u;
    double z = p.normal(i);
    s1 += z;
    s2 += z * z;
  }
  EXPECT_NEAR(s / n, 0.5, 0.005);
  EXPECT_NEAR(s1 / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
}

TEST(Philox, SeedsAndStreamsDiffer) {
  EXPECT_NE(Philox(1).u32(0), Philox(2).u32(0));
  EXPECT_NE(Philox(1, 0).u32(0), Philox(1, 1).u32(0));
  EXPECT_EQ(Philox(7).u32(123), Philox(7).u32(123));
}
