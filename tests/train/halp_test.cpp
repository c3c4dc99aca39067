// HALP (train/halp.h): the spec grammar; the centre/offset arithmetic bit for bit (the
// offset is the nearest point of the rescaled b-bit grid, saturating; the weights are
// centre + offset in binary32; a recentre folds the offset into the centre exactly); the
// checkpoint round trip; a model without trainable layers is refused; a run resumes
// bit-identically.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "frugal/train/halp.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"
#include "graph_testing.h"

namespace frugal::train {
namespace {

Tensor vec(std::vector<float> v) {
  Tensor t(DType::kF32, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

bool bits_equal(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(Halp, SpecGrammar) {
  EXPECT_EQ(HalpSpec::parse("8").bits, 8);
  EXPECT_EQ(HalpSpec::parse("8").epoch_len, 0);
  EXPECT_EQ(HalpSpec::parse("16:250").epoch_len, 250);
  EXPECT_EQ(HalpSpec::parse("2").bits, 2);
  for (const char* bad : {"1", "17", "0", "-8", "x", "8:", "8:0", "8:x", ""})
    EXPECT_THROW(HalpSpec::parse(bad), UserError) << bad;
}

TEST(Halp, CentreAndOffsetArithmeticBitForBit) {
  const float mu = 2.0f, lr = 0.37f;
  Halp h(HalpSpec::parse("4"), mu, {"w"}, numeric::Rounding::nearest_even());
  Tensor w = vec({0.5f, -1.25f, 3.0f, 0.1f, -0.7f});
  const Tensor full = vec({0.2f, -0.4f, 0.1f, 0.05f, 0.3f});
  h.recentre({{"w", &w}}, {{"w", full}}, 10, 100);
  double n2 = 0;
  for (float v : full.span<float>()) n2 += static_cast<double>(v) * v;
  const float delta = static_cast<float>(std::sqrt(n2) / (mu * 7.0));  // 2^(4-1) - 1 levels
  EXPECT_TRUE(bits_equal(h.scale("w"), delta));
  EXPECT_TRUE(h.centre("w").equals(w));

  // One inner step: z = Q(0 - lr ((g1 - g0) + g~)); the last element saturates at -8 delta.
  const Tensor g1 = vec({1.0f, 0.0f, -0.5f, 0.25f, 40.0f});
  const Tensor g0 = vec({0.5f, 0.1f, -0.5f, 0.0f, 0.0f});
  Tensor weights = w.clone();
  std::map<std::string, Tensor*> wm{{"w", &weights}};
  h.inner_step(wm, {{"w", &g1}}, {{"w", &g0}}, lr, 4, 100);
  for (int64_t i = 0; i < 5; ++i) {
    const float t =
        0.0f - lr * ((g1.data<float>()[i] - g0.data<float>()[i]) + full.data<float>()[i]);
    const double q = std::clamp(std::nearbyint(static_cast<double>(t) / delta), -8.0, 7.0);
    const float z = static_cast<float>(q * delta);
    EXPECT_TRUE(bits_equal(h.offset("w").data<float>()[i], z))
        << i << ": " << h.offset("w").data<float>()[i] << " vs " << z;
    EXPECT_TRUE(bits_equal(weights.data<float>()[i], w.data<float>()[i] + z)) << i;
  }
  EXPECT_EQ(h.offset("w").data<float>()[4], -8.0f * delta);  // saturated

  // Recentre: the new centre is the weights (old centre + offset) exactly, offsets zero.
  const Tensor full2 = vec({0.01f, 0.02f, 0.0f, 0.0f, -0.02f});
  h.recentre({{"w", &weights}}, {{"w", full2}}, 10, 100);
  EXPECT_TRUE(h.centre("w").equals(weights));
  for (float v : h.offset("w").span<float>()) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(h.traffic().outer_epochs, 2);
  EXPECT_EQ(h.traffic().host_to_accel_bytes, 2 * (8 * 5 + 4));
  EXPECT_EQ(h.traffic().accel_to_host_bytes, 2 * ((5 * 4 + 7) / 8));
  EXPECT_EQ(h.traffic().host_macs, 2 * 3 * 100 * 10);
  EXPECT_EQ(h.traffic().accel_macs, 2 * 3 * 100 * 4);

  Halp back(HalpSpec::parse("4"), mu, {"w"}, numeric::Rounding::nearest_even());
  back.restore(h.state());
  EXPECT_TRUE(back.centre("w").equals(h.centre("w")));
  EXPECT_TRUE(bits_equal(back.scale("w"), h.scale("w")));
  EXPECT_EQ(back.inner_steps(), 1);
  EXPECT_EQ(back.traffic().accel_macs, h.traffic().accel_macs);
}

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

TEST(Halp, ModelWithoutTrainableLayersIsRefused) {
  // x -> Flatten -> y: nothing to train.
  ir::Node flat;
  flat.name = "flat";
  flat.op_type = "Flatten";
  flat.inputs = {"x"};
  flat.outputs = {"y"};
  TrainConfig c;
  c.halp = "8";
  try {
    Trainer t(testing::make_graph({1, 1, 28, 28}, {flat}, {}), c);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--halp: the model has no trainable layers"),
              std::string::npos)
        << e.what();
  }
  c.halp = "17";
  EXPECT_THROW(Trainer(zoo::build("lenet5", 0), c), UserError);
}

bool same_weights(const ir::Graph& a, const ir::Graph& b) {
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return true;
}

TEST(Halp, TrainsAndResumesBitIdentically) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c;
  c.limit = 96;
  c.batch = 16;
  c.epochs = 2;
  c.seed = 6;
  c.lr = 0.05f;
  c.optimizer.momentum = 0;
  c.halp = "8:4";  // recentres mid-epoch: the checkpoint must carry centre and offsets
  c.format = "W=fixed2.6";
  c.full_loss = true;
  std::vector<EpochStats> stats;
  Trainer straight(zoo::build("lenet5", 3), c);
  straight.run([&](const EpochStats& s) { stats.push_back(s); });
  ASSERT_EQ(stats.size(), 2u);
  ASSERT_TRUE(stats[1].full_train_loss.has_value());
  EXPECT_LT(*stats[1].full_train_loss, *stats[0].full_train_loss);
  EXPECT_NE(straight.halp_summary().find("8-bit offsets, 3 outer epochs, 12 inner steps"),
            std::string::npos)
      << straight.halp_summary();

  const std::string ckpt = (std::filesystem::temp_directory_path() /
                            ("frugal_halp_test_" + std::to_string(::getpid()) + ".ckpt"))
                               .string();
  TrainConfig first = c;
  first.checkpoint = ckpt;
  first.stop_after = 1;
  Trainer part1(zoo::build("lenet5", 3), first);
  part1.run({});
  TrainConfig second = c;
  second.resume = ckpt;
  Trainer part2(zoo::build("lenet5", 3), second);
  part2.run({});
  EXPECT_TRUE(same_weights(part2.model(), straight.model()));
  EXPECT_EQ(part2.halp_summary(), straight.halp_summary());
  std::filesystem::remove(ckpt);
}

}  // namespace
}  // namespace frugal::train
