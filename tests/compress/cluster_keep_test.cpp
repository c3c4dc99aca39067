// frugal train --cluster keep: a cluster's gradients are summed into its centroid (every
// member gets the sum, the zero cluster none), and a short fine-tune keeps every layer's
// cluster assignment and zeros while the centroids move.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "frugal/compress/cluster.h"
#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/train/cluster_keep.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

ir::Graph clustered_lenet300() {
  const ir::Graph g = zoo::build("lenet300_100", 4);
  return compress::cluster(compress::prune(g, compress::PruneSpec::parse("0.8", "--prune")).graph,
                           compress::parse_cluster_spec("fc=4"))
      .graph;
}

}  // namespace

TEST(ClusterKeep, GradientsSumPerClusterAndZerosGetNone) {
  const ir::Graph g = clustered_lenet300();
  const train::ClusterKeep keep(g, {"fc1.weight", "fc2.weight", "fc3.weight", "fc1.bias"});
  EXPECT_EQ(keep.layers(), 3u);
  const Tensor& w = g.initializers.at("fc3.weight");
  Tensor grad(DType::kF32, w.shape());
  for (int64_t i = 0; i < grad.numel(); ++i)
    grad.data<float>()[i] = static_cast<float>(i % 7) - 3.0f;
  Tensor tied = grad.clone();
  keep.tie_gradient("fc3.weight", tied);
  std::map<float, double> sum;
  for (int64_t i = 0; i < w.numel(); ++i) sum[w.data<float>()[i]] += grad.data<float>()[i];
  for (int64_t i = 0; i < w.numel(); ++i) {
    const float v = w.data<float>()[i];
    EXPECT_FLOAT_EQ(tied.data<float>()[i], v == 0.0f ? 0.0f : static_cast<float>(sum[v])) << i;
  }
  Tensor bias_grad = grad.clone();
  keep.tie_gradient("fc1.bias", bias_grad);  // not a shared layer: untouched
  EXPECT_TRUE(bias_grad.equals(grad));
  EXPECT_THROW(train::ClusterKeep(zoo::build("lenet300_100", 1), {"fc1.weight"}), UserError);
}

TEST(ClusterKeep, FineTuningMovesCentroidsAndKeepsIndices) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed";
  const ir::Graph g = clustered_lenet300();
  train::TrainConfig c;
  c.limit = 256;
  c.batch = 64;
  c.lr = 0.0005f;
  c.epochs = 1;
  c.cluster = "keep";
  train::Trainer t(g, c);
  t.run([](const train::EpochStats&) {});
  const ir::Graph& after = t.model();
  for (const char* name : {"fc1.weight", "fc2.weight", "fc3.weight"}) {
    const Tensor& a = g.initializers.at(name);
    const Tensor& b = after.initializers.at(name);
    std::map<float, float> moved;  // old centroid -> new
    for (int64_t i = 0; i < a.numel(); ++i) {
      const float x = a.data<float>()[i], y = b.data<float>()[i];
      if (x == 0.0f) {
        EXPECT_EQ(y, 0.0f) << name << " " << i;
      }
      const auto it = moved.emplace(x, y).first;
      EXPECT_EQ(it->second, y) << name << ": a cluster split at " << i;
    }
    EXPECT_FALSE(b.equals(a)) << name << ": no centroid moved";
  }
}
