// The small Fashion-MNIST models: parameter counts against the hand count in
// small_fmnist.cpp (conv weights + linear weight/bias + BN scale/bias; running statistics
// excluded), input/output shapes, and that they run.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

namespace frugal::zoo {
namespace {

int64_t trainable_parameters(const ir::Graph& g) {
  std::set<std::string> running;
  for (const ir::Node& n : g.nodes)
    if (n.op_type == "BatchNormalization") {
      running.insert(n.inputs.at(3));
      running.insert(n.inputs.at(4));
    }
  int64_t total = 0;
  for (const auto& [name, t] : g.initializers)
    if (t.dtype() == DType::kF32 && !running.count(name) && t.rank() > 0) total += t.numel();
  return total;
}

// resnet8_fmnist, layer by layer (weights, then BN scale + bias).
constexpr int64_t kResnet8 = (16 * 1 * 9 + 2 * 16) +                                     // stem
                             2 * (16 * 16 * 9 + 2 * 16) +                                // layer1
                             (32 * 16 * 9 + 64) + (32 * 32 * 9 + 64) + (32 * 16 + 64) +  // layer2
                             (64 * 32 * 9 + 128) + (64 * 64 * 9 + 128) +
                             (64 * 32 + 128) +  // layer3
                             (64 * 10 + 10);    // fc
// mobilenet_fmnist: (expand 1x1 + BN, depthwise 3x3 + BN, project 1x1 + BN) per block.
constexpr int64_t block(int64_t in, int64_t out, int64_t t) {
  return (in * in * t + 2 * in * t) + (in * t * 9 + 2 * in * t) + (in * t * out + 2 * out);
}
constexpr int64_t kMobilenet = (16 * 9 + 32) + block(16, 16, 2) + block(16, 24, 4) +
                               block(24, 24, 4) + block(24, 32, 4) + block(32, 32, 4) +
                               (32 * 128 + 256) + (128 * 10 + 10);

TEST(SmallModels, ParameterCounts) {
  EXPECT_EQ(kResnet8, 77754);
  EXPECT_EQ(kMobilenet, 33242);
  EXPECT_EQ(trainable_parameters(build("resnet8_fmnist", 0)), kResnet8);
  EXPECT_EQ(trainable_parameters(build("mobilenet_fmnist", 0)), kMobilenet);
}

TEST(SmallModels, Lenet300_100IsThe784_300_100_10Mlp) {
  constexpr int64_t kMlp = (784 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10);
  EXPECT_EQ(kMlp, 266610);
  const ir::Graph g = build("lenet300_100", 0);
  EXPECT_EQ(trainable_parameters(g), kMlp);
  runtime::Session s(g);
  ASSERT_EQ(s.inputs().at(0).shape, (Shape{1, 1, 28, 28}));
  Tensor x(DType::kF32, {1, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 5) * 0.2f;
  const std::vector<Tensor> y = s.run({x});
  ASSERT_EQ(y.at(0).shape(), (Shape{1, 10}));
  for (float v : y[0].span<float>()) EXPECT_TRUE(std::isfinite(v));
}

TEST(SmallModels, RunOnA28x28Image) {
  for (const char* name : {"resnet8_fmnist", "mobilenet_fmnist"}) {
    SCOPED_TRACE(name);
    const ir::Graph g = build(name, 1);
    runtime::Session s(g);
    ASSERT_EQ(s.inputs().at(0).shape, (Shape{1, 1, 28, 28}));
    Tensor x(DType::kF32, {1, 1, 28, 28});
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) * 0.1f;
    const std::vector<Tensor> y = s.run({x});
    ASSERT_EQ(y.at(0).shape(), (Shape{1, 10}));
    for (float v : y[0].span<float>()) EXPECT_TRUE(std::isfinite(v));
    // Residual models: some BN layers and Adds must be present.
    int bn = 0, add = 0;
    for (const auto& n : g.nodes) {
      bn += n.op_type == "BatchNormalization";
      add += n.op_type == "Add";
    }
    EXPECT_GE(bn, 7);
    EXPECT_GE(add, 3);
  }
}

}  // namespace
}  // namespace frugal::zoo
