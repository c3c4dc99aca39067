// Per-step schedules through the training loop: a short run (several epochs of a few
// steps each) records the forward format and the learning rate every step used, and each
// is checked against the schedule's definition (docs/training.md): a piecewise format
// applies from its epoch on, a cyclic one follows its cosine over the step's start, the
// adaptive one changes only between epochs, a step learning-rate schedule changes exactly
// at its milestones. The epoch's log field names the format(s) the epoch used.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>

#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

struct Step {
  int64_t epoch = 0, it = 0;  // 0-based
  std::string format;
  int mantissa_bits = 23;
  float lr = 0;
};

struct Recorded {
  std::vector<Step> steps;
  std::vector<EpochStats> epochs;
  int64_t iters = 0;
};

// `iters` steps of 32 images per epoch, LeNet-5, no test set (the format is what matters).
Recorded run_recorded(const std::string& precision_schedule, const std::string& lr_schedule,
                      int64_t epochs, int64_t iters, float lr = 0.01f) {
  TrainConfig c;
  c.batch = 32;
  c.limit = 32 * iters;
  c.epochs = epochs;
  c.lr = lr;
  c.seed = 5;
  c.lr_schedule = lr_schedule;
  c.precision_schedule = precision_schedule;
  c.test_data = "fashion-mnist:test";
  if (!precision_schedule.empty()) c.format = "E=e5m2,G=e5m2";
  c.loss_scale = "dynamic";
  Trainer t(zoo::build("lenet5", 0), c);
  Recorded r;
  r.iters = iters;
  t.run([&](const EpochStats& s) { r.epochs.push_back(s); },
        [&](int64_t epoch, int64_t done, int64_t total, double) {
          EXPECT_EQ(total, iters);
          const auto& f = t.policy().of(TensorClass::kWeight).format;
          r.steps.push_back({epoch - 1, done - 1, f ? numeric::to_string(*f) : "fp32",
                             f ? f->mantissa_bits : 23, t.step_lr()});
        });
  EXPECT_EQ(r.steps.size(), static_cast<size_t>(epochs * iters));
  EXPECT_EQ(r.epochs.size(), static_cast<size_t>(epochs));
  return r;
}

std::string fmt(const std::string& name) {
  return numeric::to_string(numeric::parse_format(name));
}

// The e4 format of a cyclic or adaptive schedule at `m` mantissa bits: its minimum
// format (e4m1) widened, as the definition says.
std::string e4(int m) {
  numeric::NumberFormat f = numeric::parse_format("e4m1");
  f.mantissa_bits = m;
  return numeric::to_string(f);
}

TEST(ScheduleSteps, PiecewiseFormatFromItsEpochOn) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  const Recorded r = run_recorded("0:e5m2,1:e4m3,2:bf16", "const", 4, 3);
  const std::vector<std::string> want = {fmt("e5m2"), fmt("e4m3"), "bf16", "bf16"};
  for (const Step& s : r.steps) {
    SCOPED_TRACE("epoch " + std::to_string(s.epoch) + " step " + std::to_string(s.it));
    EXPECT_EQ(s.format, want[static_cast<size_t>(s.epoch)]);  // the last step included
  }
  for (size_t e = 0; e < r.epochs.size(); ++e) EXPECT_EQ(r.epochs[e].forward_format, want[e]);
}

TEST(ScheduleSteps, CyclicFollowsItsCosineAndTheLogNamesTheRange) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  // 2 cycles over 4 epochs of 4 steps: a cycle is 2 epochs, 8 steps.
  const Recorded r = run_recorded("cyclic:e4m1..e4m5:cycles=2", "const", 4, 4);
  for (const Step& s : r.steps) {
    SCOPED_TRACE("epoch " + std::to_string(s.epoch) + " step " + std::to_string(s.it));
    // Definition: m = round(1 + 4 (1 - cos(pi p)) / 2), p the phase of the step's start.
    const double start = static_cast<double>(s.epoch) + static_cast<double>(s.it) / 4.0;
    const double p = std::fmod(start, 2.0) / 2.0;
    const int m = static_cast<int>(std::lround(1 + 2.0 * (1 - std::cos(std::numbers::pi * p))));
    EXPECT_EQ(s.format, e4(m));
  }
  // The cycle's first step is the narrowest, its last one the widest (p = 7/8: 4.85 -> 5).
  EXPECT_EQ(r.steps[0].format, e4(1));
  EXPECT_EQ(r.steps[8].format, e4(1));
  EXPECT_EQ(r.steps[7].format, e4(5));
  EXPECT_EQ(r.steps[15].format, e4(5));
  for (size_t e = 0; e < r.epochs.size(); ++e) {  // the log names the epoch's range
    int lo = 99, hi = -1;
    for (const Step& s : r.steps)
      if (static_cast<size_t>(s.epoch) == e) {
        lo = std::min(lo, s.mantissa_bits);
        hi = std::max(hi, s.mantissa_bits);
      }
    EXPECT_EQ(r.epochs[e].forward_format, lo == hi ? e4(lo) : e4(lo) + ".." + e4(hi))
        << "epoch " << e + 1;
  }
  EXPECT_EQ(r.epochs[0].forward_format, e4(1) + ".." + e4(2));  // 1, 1, 2, 2
  EXPECT_EQ(r.epochs[1].forward_format, e4(3) + ".." + e4(5));  // 3, 4, 4, 5
}

TEST(ScheduleSteps, AdaptiveWidensOnlyBetweenEpochs) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  // A tiny learning rate: the loss stalls, so the rule widens the format.
  const Recorded r = run_recorded("adaptive:e4m1..e4m3", "const", 4, 2, 1e-6f);
  int bits = 1, stalled = 0;
  double best = 1e300;
  for (size_t e = 0; e < r.epochs.size(); ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e));
    for (const Step& s : r.steps) {
      if (static_cast<size_t>(s.epoch) == e) {
        EXPECT_EQ(s.format, e4(bits));
      }
    }
    EXPECT_EQ(r.epochs[e].forward_format, e4(bits));
    // Definition: widen by one bit after `patience` (1) epochs not 1% below the best.
    const double loss = r.epochs[e].train_loss;
    if (loss < best * 0.99) {
      best = loss;
      stalled = 0;
    } else {
      best = std::min(best, loss);
      if (++stalled >= 1 && bits < 3) {
        ++bits;
        stalled = 0;
      }
    }
  }
  EXPECT_GT(bits, 1);  // the run did stall and widen at least once
}

TEST(ScheduleSteps, LearningRateSchedulesAtEpochBoundaries) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  const float base = 0.01f;
  {  // step: x0.5 from epoch 2 on; the last step of epoch 1 still at the base rate.
    const Recorded r = run_recorded("", "step:2:0.5", 4, 3);
    for (const Step& s : r.steps) {
      SCOPED_TRACE("epoch " + std::to_string(s.epoch) + " step " + std::to_string(s.it));
      EXPECT_FLOAT_EQ(s.lr, s.epoch >= 2 ? 0.5f * base : base);
    }
    EXPECT_FLOAT_EQ(r.epochs[1].lr, base);
    EXPECT_FLOAT_EQ(r.epochs[2].lr, 0.5f * base);
  }
  {  // warm-up over 1 epoch then cosine: sampled at the step's end (epochs done after it).
    const Recorded r = run_recorded("", "warmup:1,cosine", 3, 4);
    for (const Step& s : r.steps) {
      SCOPED_TRACE("epoch " + std::to_string(s.epoch) + " step " + std::to_string(s.it));
      const double end = static_cast<double>(s.epoch) + static_cast<double>(s.it + 1) / 4.0;
      const double cosine = 0.5 * (1 + std::cos(std::numbers::pi * end / 3.0));
      const double want = base * cosine * std::min(1.0, end);
      EXPECT_NEAR(s.lr, want, 1e-7);
    }
    EXPECT_GT(r.steps.front().lr, 0.0f);            // the first step learns
    EXPECT_NEAR(r.steps[3].lr, base * 0.75, 1e-7);  // warm-up done at the end of epoch 0
    EXPECT_NEAR(r.steps.back().lr, 0.0, 1e-9);      // cosine reaches 0 at the run's end
  }
}

}  // namespace
}  // namespace frugal::train
