// Optimizers, learning-rate schedules, loss scaling and the precision policy against
// hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/train/optimizer.h"
#include "frugal/train/precision.h"

namespace frugal::train {
namespace {

float one_step(Optimizer& opt, Tensor& p, float g, float lr) {
  opt.begin_step();
  opt.update("p", p, Tensor::from_vector<float>({1}, {g}), lr);
  return p.data<float>()[0];
}

TEST(Optimizer, PlainSgd) {
  Optimizer opt({OptimizerKind::kSgd});
  Tensor p = Tensor::from_vector<float>({1}, {1.0f});
  EXPECT_FLOAT_EQ(one_step(opt, p, 0.5f, 0.1f), 0.95f);
}

TEST(Optimizer, SgdMomentumAndWeightDecay) {
  OptimizerConfig c;
  c.momentum = 0.9f;
  c.weight_decay = 0.1f;
  Optimizer opt(c);
  Tensor p = Tensor::from_vector<float>({1}, {1.0f});
  // d = 0.5 + 0.1 * 1 = 0.6, buf = 0.6, p = 1 - 0.06.
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.94, 1e-6);
  // d = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, p = 0.94 - 0.1134.
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.8266, 1e-6);
}

TEST(Optimizer, Nesterov) {
  OptimizerConfig c;
  c.momentum = 0.9f;
  c.nesterov = true;
  c.weight_decay = 0.1f;
  Optimizer opt(c);
  Tensor p = Tensor::from_vector<float>({1}, {1.0f});
  // d = 0.6, buf = 0.6, step direction d + 0.9 buf = 1.14.
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.886, 1e-6);
}

TEST(Optimizer, Adam) {
  Optimizer opt({OptimizerKind::kAdam});
  Tensor p = Tensor::from_vector<float>({1}, {1.0f});
  // Constant gradient: bias-corrected m / sqrt(v) = 1, so each step moves by lr.
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.9, 1e-6);
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.8, 1e-6);
  // A gradient of the other sign: m = 0.9 * 0.095 - 0.05 = 0.0355, v = 0.00074925 (t = 3).
  const double m = 0.0355 / (1 - std::pow(0.9, 3)), v = 0.000749250250 / (1 - std::pow(0.999, 3));
  EXPECT_NEAR(one_step(opt, p, -0.5f, 0.1f), 0.8 - 0.1 * m / (std::sqrt(v) + 1e-8), 1e-5);
}

TEST(Optimizer, AdamWDecouplesWeightDecay) {
  OptimizerConfig c;
  c.kind = OptimizerKind::kAdamW;
  c.weight_decay = 0.1f;
  Optimizer opt(c);
  Tensor p = Tensor::from_vector<float>({1}, {1.0f});
  // p * (1 - lr * wd) = 0.99, then the unit Adam step of lr.
  EXPECT_NEAR(one_step(opt, p, 0.5f, 0.1f), 0.89, 1e-6);
}

TEST(Optimizer, ParseNames) {
  EXPECT_EQ(parse_optimizer("adamw"), OptimizerKind::kAdamW);
  EXPECT_THROW(parse_optimizer("rmsprop"), UserError);
}

TEST(LrSchedule, Shapes) {
  const float lr = 0.1f;
  EXPECT_FLOAT_EQ(LrSchedule::parse("const").lr(lr, 3.5, 10), 0.1f);
  const LrSchedule cos = LrSchedule::parse("cosine");
  EXPECT_NEAR(cos.lr(lr, 5.0, 10), 0.05, 1e-7);
  EXPECT_NEAR(cos.lr(lr, 10.0, 10), 0.0, 1e-7);
  const LrSchedule step = LrSchedule::parse("step:2+4:0.5");
  EXPECT_NEAR(step.lr(lr, 1.0, 10), 0.1, 1e-7);   // end of epoch 1 (index 0)
  EXPECT_NEAR(step.lr(lr, 2.5, 10), 0.05, 1e-7);  // epoch index 2
  EXPECT_NEAR(step.lr(lr, 4.1, 10), 0.025, 1e-7);
  const LrSchedule warm = LrSchedule::parse("warmup:2,const");
  EXPECT_NEAR(warm.lr(lr, 0.5, 10), 0.025, 1e-7);
  EXPECT_NEAR(warm.lr(lr, 3.0, 10), 0.1, 1e-7);
  const LrSchedule one = LrSchedule::parse("onecycle");
  EXPECT_NEAR(one.lr(lr, 0.0, 10), 0.004, 1e-7);
  EXPECT_NEAR(one.lr(lr, 3.0, 10), 0.1, 1e-7);
  EXPECT_NEAR(one.lr(lr, 10.0, 10), 0.004 / 1e4, 1e-9);
}

TEST(LrSchedule, InvalidStringsAreUserErrors) {
  for (const char* bad :
       {"", "bogus", "step:", "step:a", "step:1.5", "warmup:2", "warmup:x,const", "cosine2"}) {
    SCOPED_TRACE(bad);
    try {
      LrSchedule::parse(bad);
      FAIL();
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("invalid schedule"), std::string::npos) << e.what();
    }
  }
}

TEST(LossScaler, DynamicHalvesOnOverflowAndGrows) {
  LossScaler s = LossScaler::dynamic(1024.0f, 2);
  EXPECT_FALSE(s.update(false));
  EXPECT_FLOAT_EQ(s.scale(), 512.0f);
  EXPECT_TRUE(s.update(true));
  EXPECT_FLOAT_EQ(s.scale(), 512.0f);
  EXPECT_TRUE(s.update(true));
  EXPECT_FLOAT_EQ(s.scale(), 1024.0f);
  EXPECT_FLOAT_EQ(LossScaler::parse("128").scale(), 128.0f);
  EXPECT_FALSE(LossScaler::parse("128").is_dynamic());
  EXPECT_THROW(LossScaler::parse("-1"), UserError);
}

TEST(Precision, PolicyParsesAndRoundsPerClass) {
  PrecisionPolicy p = PrecisionPolicy::parse("W=e4m3,A=e4m3,E=e5m2,G=e5m2,M=fp32", "", 1);
  EXPECT_TRUE(p.active());
  EXPECT_FALSE(p.master().format.has_value());
  Tensor t = Tensor::from_vector<float>({2}, {0.3f, 100.0f});
  p.apply(TensorClass::kWeight, "w", t, 0);
  // e4m3: 0.3 = 1.2 * 2^-2 -> 1.25 * 2^-2 (3 mantissa bits); 100 -> 96 (1.5 * 2^6).
  EXPECT_FLOAT_EQ(t.data<float>()[0], 0.3125f);
  EXPECT_FLOAT_EQ(t.data<float>()[1], 96.0f);
  Tensor e = Tensor::from_vector<float>({1}, {0.3f});
  p.apply(TensorClass::kError, "e", e, 0);
  // e5m2: 0.3 -> 1.25 * 2^-2 (2 mantissa bits: 1.0, 1.25, 1.5, 1.75).
  EXPECT_FLOAT_EQ(e.data<float>()[0], 0.3125f);
  EXPECT_THROW(PrecisionPolicy::parse("Q=e4m3", "", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("W", "", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("W=e4m3", "W=sideways", 0), UserError);
  EXPECT_TRUE(PrecisionPolicy::parse("W=bf16,M=W", "W=stochastic", 0).master_in_weight_format());
}

TEST(Precision, StochasticRoundingIsUnbiasedAndDeterministic) {
  PrecisionPolicy p = PrecisionPolicy::parse("W=e4m3", "W=stochastic,default=nearest", 7);
  Tensor t(DType::kF32, {20000});
  for (float& v : t.span<float>()) v = 0.3f;
  Tensor u = t.clone();
  p.apply(TensorClass::kWeight, "w", t, 5);
  p.apply(TensorClass::kWeight, "w", u, 5);
  EXPECT_TRUE(t.equals(u));
  double mean = 0;
  for (float v : t.span<float>()) {
    EXPECT_TRUE(v == 0.28125f || v == 0.3125f) << v;
    mean += v;
  }
  EXPECT_NEAR(mean / 20000, 0.3, 0.002);
  // Another step draws other bits.
  for (float& v : u.span<float>()) v = 0.3f;
  p.apply(TensorClass::kWeight, "w", u, 6);
  EXPECT_FALSE(t.equals(u));
}

TEST(Precision, Schedules) {
  const PrecisionSchedule pw = PrecisionSchedule::parse("0:e5m2,3:e4m3,8:bf16");
  EXPECT_EQ(numeric::to_string(pw.format_at(0.5, 10)),
            numeric::to_string(numeric::parse_format("e5m2")));
  EXPECT_EQ(numeric::to_string(pw.format_at(3.2, 10)),
            numeric::to_string(numeric::parse_format("e4m3")));
  EXPECT_EQ(numeric::to_string(pw.format_at(9.0, 10)), "bf16");
  const PrecisionSchedule cyc = PrecisionSchedule::parse("cyclic:e4m1..e4m5:cycles=2");
  EXPECT_EQ(cyc.format_at(0.0, 10).mantissa_bits, 1);   // start of a cycle: narrowest
  EXPECT_EQ(cyc.format_at(2.5, 10).mantissa_bits, 3);   // half way up
  EXPECT_EQ(cyc.format_at(4.99, 10).mantissa_bits, 5);  // end of the first cycle: widest
  EXPECT_EQ(cyc.format_at(5.0, 10).mantissa_bits, 1);
  PrecisionSchedule ad = PrecisionSchedule::parse("adaptive:e4m2..e4m4:patience=1");
  EXPECT_EQ(ad.format_at(0, 10).mantissa_bits, 2);
  ad.end_epoch(1.0);  // improves on +inf
  ad.end_epoch(0.5);  // improves
  EXPECT_EQ(ad.format_at(2, 10).mantissa_bits, 2);
  ad.end_epoch(0.499);  // less than 1% better: stalled, widen
  EXPECT_EQ(ad.format_at(3, 10).mantissa_bits, 3);
  for (const char* bad : {"1:e4m3", "0:e4m3,0:e5m2", "0:nope", "x:e4m3", "cyclic:e4m1",
                          "cyclic:e4m3..e5m2", "adaptive:e4m1..e4m3:speed=2"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(PrecisionSchedule::parse(bad), UserError);
  }
}

}  // namespace
}  // namespace frugal::train
