// Pruning while training: the cubic schedule's values, masks that keep pruned weights
// exactly zero through SGD momentum and AdamW steps, and a run resumed from a checkpoint
// that is bit-identical to an uninterrupted one with pruning on.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "frugal/compress/prune.h"
#include "frugal/train/prune_schedule.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::train;

namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

std::vector<std::string> weight_names(const ir::Graph& g) {
  std::vector<std::string> v;
  for (const auto& [k, t] : g.initializers) v.push_back(k);
  return v;
}

int64_t zeros(const Tensor& t) {
  int64_t z = 0;
  for (float v : t.span<float>()) z += v == 0.0f;
  return z;
}

TrainConfig small_config() {
  TrainConfig c;
  c.limit = 256;
  c.batch = 32;  // 8 iterations per epoch
  c.lr = 0.05f;
  c.optimizer.momentum = 0.9f;
  c.epochs = 3;
  c.seed = 5;
  return c;
}

}  // namespace

TEST(PruneSchedule, CubicValuesAndUpdateSteps) {
  const ir::Graph g = zoo::build("lenet5", 1);
  // 100 iterations per epoch, 10 epochs: start=1 -> step 100, end=5 -> step 500.
  PruneSchedule s("0.9:schedule=cubic,start=1,end=5,every=50,initial=0.1", "", g, weight_names(g),
                  100, 10);
  EXPECT_EQ(s.start_step(), 100);
  EXPECT_EQ(s.end_step(), 500);
  EXPECT_DOUBLE_EQ(s.sparsity_at(100, 0.9), 0.1);
  EXPECT_NEAR(s.sparsity_at(300, 0.9), 0.9 + (0.1 - 0.9) * 0.125, 1e-12);  // halfway: (1/2)^3
  EXPECT_DOUBLE_EQ(s.sparsity_at(500, 0.9), 0.9);
  EXPECT_DOUBLE_EQ(s.sparsity_at(900, 0.9), 0.9);
  EXPECT_FALSE(s.is_update_step(99));
  EXPECT_TRUE(s.is_update_step(100));
  EXPECT_FALSE(s.is_update_step(120));
  EXPECT_TRUE(s.is_update_step(150));
  EXPECT_TRUE(s.is_update_step(500));
  EXPECT_FALSE(s.is_update_step(550));
  // One-shot: the target at `start`, once.
  PruneSchedule o("global:0.5", "", g, weight_names(g), 100, 10);
  EXPECT_EQ(o.start_step(), 0);
  EXPECT_EQ(o.end_step(), 0);
  EXPECT_TRUE(o.is_update_step(0));
  EXPECT_FALSE(o.is_update_step(1));
}

TEST(PruneSchedule, BadSpecs) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const auto w = weight_names(g);
  EXPECT_THROW(PruneSchedule("0.9:schedule=cubic,end=11", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.9:schedule=cubic,start=5,end=2", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.9:schedule=linear", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.9:every=0", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.9:colour=red", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("channels:0.5", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("fc9=0.5", "", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.5", "conv9", g, w, 10, 10), UserError);
  EXPECT_THROW(PruneSchedule("0.5", "", g, {"conv1.weight"}, 10, 10), UserError);  // frozen
}

TEST(PruneSchedule, MaskedWeightsStayZeroThroughMomentumAndAdam) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdamW}) {
    TrainConfig c = small_config();
    c.optimizer.kind = kind;
    if (kind == OptimizerKind::kAdamW) c.lr = 0.002f, c.optimizer.weight_decay = 0.01f;
    // Cubic over the first 1.5 epochs, updated every 2 iterations, then 1.5 epochs masked.
    c.prune = "0.8:schedule=cubic,start=0,end=1.5,every=2";
    c.prune_exclude = "last";
    Trainer t(zoo::build("lenet5", 2), c);
    std::vector<std::map<std::string, int64_t>> per_epoch;
    t.run([&](const EpochStats&) {
      std::map<std::string, int64_t> z;
      for (const auto& l : compress::prunable_layers(t.model()))
        z[l.name] = zeros(*t.model().initializer(l.weight));
      per_epoch.push_back(z);
    });
    ASSERT_EQ(per_epoch.size(), 3u);
    for (const auto& l : compress::prunable_layers(t.model())) {
      const int64_t n = l.numel();
      if (l.name == "fc3") {
        EXPECT_EQ(per_epoch[2].at(l.name), 0) << "excluded";
        continue;
      }
      // Exactly the target after the schedule ends, and still exactly that 1.5 epochs later.
      EXPECT_EQ(per_epoch[1].at(l.name), std::llround(0.8 * static_cast<double>(n))) << l.name;
      EXPECT_EQ(per_epoch[2].at(l.name), per_epoch[1].at(l.name)) << l.name;
      EXPECT_LT(per_epoch[0].at(l.name), per_epoch[1].at(l.name)) << l.name;  // gradual
    }
    EXPECT_NE(t.prune_summary().find("cubic"), std::string::npos);
  }
}

TEST(PruneSchedule, NMAndKeepWhileTraining) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.epochs = 1;
  c.prune = "nm:2:4";
  Trainer t(zoo::build("lenet5", 3), c);
  t.run({});
  for (const auto& l : compress::prunable_layers(t.model())) {
    const Tensor& w = *t.model().initializer(l.weight);
    if (l.in_channels % 4 == 0)
      EXPECT_TRUE(compress::satisfies_nm(l, w, 2, 4)) << l.name;
    else
      EXPECT_EQ(zeros(w), 0) << l.name;
  }
  // keep: the zeros of a pruned model survive fine-tuning.
  const ir::Graph pruned =
      compress::prune(zoo::build("lenet5", 3), compress::PruneSpec::parse("0.7")).graph;
  c.prune = "keep";
  Trainer k(pruned, c);
  k.run({});
  for (const auto& l : compress::prunable_layers(pruned)) {
    const Tensor& before = *pruned.initializer(l.weight);
    const Tensor& after = *k.model().initializer(l.weight);
    for (int64_t i = 0; i < before.numel(); ++i)
      if (before.data<float>()[i] == 0.0f) {
        ASSERT_EQ(after.data<float>()[i], 0.0f) << l.name;
      }
    EXPECT_FALSE(after.equals(before));  // and it did train
  }
}

TEST(PruneSchedule, ResumeIsBitIdentical) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.optimizer.kind = OptimizerKind::kAdamW;
  c.lr = 0.002f;
  // The schedule spans the checkpoint (end of epoch 1): start=0.5, end=2.5 epochs.
  c.prune = "global:0.85:schedule=cubic,start=0.5,end=2.5,every=3";
  Trainer straight(zoo::build("lenet5", 4), c);
  straight.run({});
  const std::string ckpt = (std::filesystem::temp_directory_path() /
                            ("frugal_prune_resume_" + std::to_string(::getpid()) + ".ckpt"))
                               .string();
  TrainConfig first = c;
  first.checkpoint = ckpt;
  first.stop_after = 1;
  Trainer part1(zoo::build("lenet5", 4), first);
  part1.run({});
  TrainConfig second = c;
  second.resume = ckpt;
  Trainer part2(zoo::build("lenet5", 4), second);
  part2.run({});
  std::filesystem::remove(ckpt);
  for (const auto& [name, t] : straight.model().initializers)
    EXPECT_TRUE(t.equals(part2.model().initializers.at(name))) << name;
  int64_t z = 0, n = 0;
  for (const auto& l : compress::prunable_layers(straight.model())) {
    z += zeros(*straight.model().initializer(l.weight));
    n += l.numel();
  }
  EXPECT_EQ(z, std::llround(0.85 * static_cast<double>(n)));
}
