// End-to-end training on a few hundred Fashion-MNIST samples: learning happens,
// runs are bit-reproducible, resuming from a checkpoint is bit-identical to an
// uninterrupted run, the exported model scores like the trainer, and bad input fails
// with one clear line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "frugal/ir/onnx_io.h"
#include "frugal/runtime/session.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

TrainConfig small_config() {
  TrainConfig c;
  c.limit = 256;
  c.batch = 32;
  c.lr = 0.05f;
  c.optimizer.momentum = 0.9f;
  c.epochs = 2;
  c.seed = 3;
  return c;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("frugal_train_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

bool same_weights(const ir::Graph& a, const ir::Graph& b) {
  if (a.initializers.size() != b.initializers.size()) return false;
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return true;
}

TEST(Trainer, LearnsAndIsDeterministic) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.batch = 16;
  c.lr = 0.003f;
  c.optimizer.kind = OptimizerKind::kAdam;
  std::vector<EpochStats> stats;
  Trainer a(zoo::build("lenet5", 0), c);
  a.run([&](const EpochStats& s) { stats.push_back(s); });
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_LT(stats[1].train_loss, stats[0].train_loss);
  EXPECT_LT(stats[1].train_loss, 2.1);  // chance is ln 10 = 2.30
  ASSERT_TRUE(stats[1].test_accuracy.has_value());
  EXPECT_GT(*stats[1].test_accuracy, 0.15);  // chance is 0.1
  Trainer b(zoo::build("lenet5", 0), c);
  b.run({});
  EXPECT_TRUE(same_weights(a.model(), b.model()));
  // Another seed gives other weights (shuffling differs).
  c.seed = 4;
  Trainer d(zoo::build("lenet5", 0), c);
  d.run({});
  EXPECT_FALSE(same_weights(a.model(), d.model()));
}

TEST(Trainer, ResumeIsBitIdentical) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  // resnet8_fmnist: BatchNorm running statistics and optimizer momentum must both resume.
  TrainConfig c = small_config();
  c.limit = 96;
  c.lr_schedule = "warmup:1,cosine";
  c.augment = Augment::parse("crop:2,flip");
  c.val_split = 0.25;
  c.optimizer.kind = OptimizerKind::kAdamW;
  c.optimizer.weight_decay = 0.01f;
  c.lr = 0.002f;
  Trainer straight(zoo::build("resnet8_fmnist", 1), c);
  straight.run({});

  const std::string ckpt = temp_path("resume.ckpt");
  TrainConfig first = c;
  first.checkpoint = ckpt;
  first.stop_after = 1;
  Trainer part1(zoo::build("resnet8_fmnist", 1), first);
  part1.run({});
  EXPECT_FALSE(same_weights(part1.model(), straight.model()));
  EXPECT_FALSE(std::filesystem::exists(ckpt + ".tmp"));
  TrainConfig second = c;
  second.resume = ckpt;
  Trainer part2(zoo::build("resnet8_fmnist", 1), second);
  EXPECT_EQ(part2.first_epoch(), 2);
  int epochs = 0;
  part2.run([&](const EpochStats& s) {
    EXPECT_EQ(s.epoch, 2);
    ++epochs;
  });
  EXPECT_EQ(epochs, 1);
  EXPECT_TRUE(same_weights(part2.model(), straight.model()));
  // A checkpoint of another seed or model is refused.
  TrainConfig other = second;
  other.seed = 99;
  EXPECT_THROW(Trainer(zoo::build("resnet8_fmnist", 1), other), UserError);
  EXPECT_THROW(Trainer(zoo::build("lenet5", 1), second), UserError);
  std::filesystem::remove(ckpt);
}

TEST(Trainer, ExportedModelScoresLikeTheTrainer) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.epochs = 1;
  Trainer t(zoo::build("resnet8_fmnist", 2), c);  // BatchNorm: exported in inference form
  t.run({});
  const std::string path = temp_path("export.onnx");
  ir::save_onnx(t.model(), path);
  const ir::Graph loaded = ir::load_onnx(path);
  std::filesystem::remove(path);
  runtime::Session ref(loaded);  // reference backend, batch 1
  TrainGraph mine(t.model());
  const int64_t n = 48;
  Batch batch = t.test_set()->get_range(0, n);
  const Tensor logits = mine.forward(batch.images, false);
  int64_t agree = 0, correct_ref = 0, correct_mine = 0;
  const auto labels = batch.labels.to_int64();
  for (int64_t i = 0; i < n; ++i) {
    Tensor x(DType::kF32, {1, 1, 28, 28});
    std::copy_n(batch.images.data<float>() + i * 784, 784, x.data<float>());
    const Tensor y = ref.run({x})[0];
    int64_t am = 0, ar = 0;
    for (int64_t j = 0; j < 10; ++j) {
      EXPECT_NEAR(y.data<float>()[j], logits.data<float>()[i * 10 + j], 1e-3);
      if (y.data<float>()[j] > y.data<float>()[ar]) ar = j;
      if (logits.data<float>()[i * 10 + j] > logits.data<float>()[i * 10 + am]) am = j;
    }
    agree += am == ar;
    correct_ref += ar == labels[i];
    correct_mine += am == labels[i];
  }
  EXPECT_EQ(agree, n);
  EXPECT_EQ(correct_ref, correct_mine);
  EXPECT_NEAR(t.evaluate(*t.test_set(), n), static_cast<double>(correct_mine) / n, 1e-12);
}

TEST(Trainer, LowPrecisionPolicyTrains) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.epochs = 1;
  c.format = "W=e4m3,A=e4m3,E=e5m2,G=e5m2";
  c.rounding = "W=stochastic,default=nearest";
  c.loss_scale = "dynamic";
  std::vector<EpochStats> stats;
  Trainer t(zoo::build("lenet5", 0), c);
  t.run([&](const EpochStats& s) { stats.push_back(s); });
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_TRUE(std::isfinite(stats[0].train_loss));
  // Master-weight-free: weights themselves stay in the weight format after every update.
  c.format = "W=bf16,M=W";
  c.rounding = "W=stochastic";
  c.loss_scale = "none";
  Trainer m(zoo::build("lenet5", 0), c);
  m.run({});
  const Tensor& w = *m.model().initializer("conv1.weight");
  for (float v : w.span<float>()) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    ASSERT_EQ(bits & 0xFFFFu, 0u) << v;  // a bf16 value has 16 zero low bits
  }
}

TEST(Trainer, WarnsOnceWhenTheLossDoesNotMove) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();  // 8 steps an epoch, 2 epochs
  c.test_data = "fashion-mnist:test";
  // Vanishing logits (the zoo's former N(0, 0.01) Linear init, in the extreme) and a tiny
  // learning rate: every step's loss is ln 10.
  ir::Graph stuck = zoo::build("lenet5", 0);
  for (const char* p : {"fc3.weight", "fc3.bias"})
    for (float& v : stuck.initializers.at(p).span<float>()) v = 0.0f;
  c.lr = 1e-6f;
  std::vector<EpochStats> stats;
  Trainer(stuck, c).run([&](const EpochStats& s) { stats.push_back(s); });
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_NE(stats[0].warning.find("has not moved by 1% after epoch 1"), std::string::npos)
      << stats[0].warning;
  EXPECT_NE(stats[0].warning.find("--lr"), std::string::npos);
  EXPECT_EQ(stats[0].warning.find('\n'), std::string::npos);  // one line
  EXPECT_EQ(stats[1].warning, "");                            // once per run
  // The same model learning gets no warning (32 steps an epoch).
  c = small_config();
  c.limit = 1024;
  c.test_data = "fashion-mnist:test";
  stats.clear();
  Trainer(zoo::build("lenet5", 0), c).run([&](const EpochStats& s) { stats.push_back(s); });
  for (const EpochStats& s : stats) EXPECT_EQ(s.warning, "") << "epoch " << s.epoch;
}

TEST(Trainer, BadInputIsOneLineUserError) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  };
  TrainConfig c = small_config();
  c.lr = 1e30f;
  c.limit = 64;
  const std::string diverged = message([&] { Trainer(zoo::build("lenet5", 0), c).run({}); });
  EXPECT_NE(diverged.find("non-finite"), std::string::npos) << diverged;
  EXPECT_NE(diverged.find("iteration"), std::string::npos) << diverged;
  EXPECT_NE(diverged.find("hint"), std::string::npos) << diverged;
  c = small_config();
  const std::string shape = message([&] { Trainer(zoo::build("squeezenet1_1", 0), c); });
  EXPECT_NE(shape.find("3x224x224"), std::string::npos) << shape;
  c.lr_schedule = "cosine:fast";
  EXPECT_NE(message([&] { Trainer(zoo::build("lenet5", 0), c); }).find("invalid schedule"),
            std::string::npos);
  c = small_config();
  c.precision_schedule = "0:e4m3,x";
  EXPECT_NE(message([&] { Trainer(zoo::build("lenet5", 0), c); }).find("--precision-schedule"),
            std::string::npos);
  EXPECT_NE(message([&] {
              Trainer(zoo::build("shufflenet_v2_x1_0", 0), small_config());
            }).find("no backward"),
            std::string::npos);
}

}  // namespace
}  // namespace frugal::train
