// Determinism at two threads: two runs with the same seed at --threads 2 give bit-identical
// weights and per-epoch losses, and a run resumed from a checkpoint at 2 threads continues
// bit-identically. Small (a few hundred samples) so that it takes seconds.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

bool same_weights(const ir::Graph& a, const ir::Graph& b) {
  if (a.initializers.size() != b.initializers.size()) return false;
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return true;
}

TrainConfig two_thread_config() {
  TrainConfig c;
  c.limit = 192;
  c.batch = 32;
  c.lr = 0.05f;
  c.optimizer.momentum = 0.9f;
  c.lr_schedule = "warmup:1,cosine";
  c.epochs = 2;
  c.seed = 11;
  c.threads = 2;
  return c;
}

std::vector<double> run(Trainer& t) {
  std::vector<double> losses;
  t.run([&](const EpochStats& s) { losses.push_back(s.train_loss); });
  return losses;
}

void expect_bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof(double)), 0) << "epoch " << i + 1;
}

TEST(TwoThreads, SameSeedIsBitIdenticalAndResumes) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  for (const char* model : {"lenet5", "resnet8_fmnist"}) {
    SCOPED_TRACE(model);
    TrainConfig c = two_thread_config();
    if (std::string(model) == "resnet8_fmnist") c.limit = 64;  // BatchNorm, residual adds
    Trainer a(zoo::build(model, 0), c);
    const std::vector<double> la = run(a);
    Trainer b(zoo::build(model, 0), c);
    const std::vector<double> lb = run(b);
    ASSERT_EQ(la.size(), 2u);
    expect_bitwise_equal(la, lb);
    EXPECT_TRUE(same_weights(a.model(), b.model()));

    const std::string ckpt = (std::filesystem::temp_directory_path() /
                              ("frugal_threads_test_" + std::to_string(::getpid()) + ".ckpt"))
                                 .string();
    TrainConfig first = c;
    first.checkpoint = ckpt;
    first.stop_after = 1;
    Trainer part1(zoo::build(model, 0), first);
    const std::vector<double> l1 = run(part1);
    TrainConfig second = c;
    second.resume = ckpt;
    Trainer part2(zoo::build(model, 0), second);
    const std::vector<double> l2 = run(part2);
    ASSERT_EQ(l1.size(), 1u);
    ASSERT_EQ(l2.size(), 1u);
    expect_bitwise_equal({l1[0], l2[0]}, la);
    EXPECT_TRUE(same_weights(part2.model(), a.model()));
    std::filesystem::remove(ckpt);
  }
}

// The emulated accumulators split rows of C over threads without changing any sum: the
// same run at 1 and 2 threads is bit-identical (LeNet-5 has no other threaded reduction).
TEST(TwoThreads, EmulatedAccumulatorDoesNotDependOnThreads) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = two_thread_config();
  c.limit = 96;
  c.epochs = 1;
  c.format = "ACC=bf16:chunk=32";
  Trainer two(zoo::build("lenet5", 0), c);
  const std::vector<double> l2 = run(two);
  c.threads = 1;
  Trainer one(zoo::build("lenet5", 0), c);
  const std::vector<double> l1 = run(one);
  expect_bitwise_equal(l1, l2);
  EXPECT_TRUE(same_weights(one.model(), two.model()));
}

}  // namespace
}  // namespace frugal::train
