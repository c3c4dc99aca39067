// Zoo models end to end on cpu:int8,cpu (Conv/Gemm in int8, the rest float32) against
// float32 cpu (itself tested against ref), with ranges calibrated by min/max on inputs
// other than the test inputs.
//
// Bound on the logits: each quantized layer adds an error of about one input step and
// one weight step relative to its output (1/255 and 1/127 of the ranges; with min/max
// ranges of N(0,1)-like activations that is ~1% of the typical magnitude); over L layers
// independent errors grow like sqrt(L), so resnet18 (21 quantized layers) and
// mobilenet_v2 (53) end at ~5-7% of max|logits|, lenet5 (5 layers) at ~2% (observed: 4%,
// its ranges from 3 samples being set by rare outliers, so its steps are coarse). The
// bounds below (0.08 for lenet5, 0.15 for the deep ones) leave a factor ~2 over that estimate
// and are far below what a wrong scale, zero point or channel order gives (errors of the
// order of the logits themselves, relative error ~1).
//
// Top-1: with every logit within e of its float32 value, the argmax cannot change when
// float32's top-1 leads its runner-up by more than 2e; the test requires agreement on those
// inputs and reports the others (random-weight models have near ties).
// The deep models run at 112x112 (a quarter of the work of 224x224) to keep the suite fast.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "frugal/runtime/calibrate.h"
#include "frugal/zoo/zoo.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

int64_t argmax(const Tensor& t) {
  int64_t best = 0;
  for (int64_t i = 1; i < t.numel(); ++i)
    if (t.at_double(i) > t.at_double(best)) best = i;
  return best;
}

// The largest and second largest values.
std::pair<double, double> top2(const Tensor& t) {
  double a = -INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = t.at_double(i);
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) {
      b = v;
    }
  }
  return {a, b};
}

double max_abs_diff(const Tensor& x, const Tensor& y) {
  double m = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    m = std::max(m, std::fabs(x.at_double(i) - y.at_double(i)));
  return m;
}

struct ZooCase {
  std::string name;
  double bound;
  Shape input;  // empty: the model's own
};

class Int8Zoo : public ::testing::TestWithParam<ZooCase> {};

}  // namespace

TEST_P(Int8Zoo, AgreesWithFloat32) {
  const ZooCase c = GetParam();
  const ir::Graph g = zoo::build(c.name, 3);
  runtime::SessionOptions fp32;
  fp32.backends = {"cpu", "ref"};
  if (!c.input.empty()) fp32.infer.input_shapes["input"] = c.input;
  runtime::Session reference(g, fp32);
  const Shape shape = reference.inputs()[0].shape;

  std::vector<std::vector<Tensor>> calibration;
  for (uint64_t s = 0; s < 3; ++s) calibration.push_back({random_tensor(shape, 100 + s)});
  runtime::SessionOptions int8 = fp32;
  int8.backends = {"cpu:int8", "cpu", "ref"};
  int8.backend_config.ranges = runtime::calibrate_minmax(g, calibration, fp32);
  runtime::Session quantized(g, int8);

  // Every Conv and Gemm runs in int8, with oneDNN's implementation named.
  int quantized_nodes = 0;
  for (const auto& a : quantized.assignments()) {
    if (a.op_type != "Conv" && a.op_type != "Gemm") continue;
    EXPECT_EQ(a.backend, "cpu:int8")
        << c.name << ": " << a.node_name << " " << (a.declined.empty() ? "" : a.declined[0]);
    quantized_nodes += a.backend == "cpu:int8";
  }
  EXPECT_GT(quantized_nodes, 0);

  int agree = 0, decided = 0;
  double worst = 0;
  const int inputs = 3;
  for (uint64_t s = 0; s < inputs; ++s) {
    const Tensor x = random_tensor(shape, 200 + s);
    const Tensor want = reference.run({x})[0];
    const Tensor got = quantized.run({x})[0];
    worst = std::max(worst, relative_error(got, want));
    const bool same = argmax(got) == argmax(want);
    agree += same;
    const auto [first, second] = top2(want);
    if (first - second > 2 * max_abs_diff(got, want)) {
      ++decided;
      EXPECT_TRUE(same) << c.name << " input " << s << ": top-1 changed despite a clear lead";
    }
  }
  std::cout << "[ observed ] " << c.name << ": " << quantized_nodes
            << " int8 nodes, max|int8 - fp32| / max|fp32| = " << worst << ", top-1 agreement "
            << agree << "/" << inputs << " (" << decided << " with a lead above 2x the error)\n";
  EXPECT_LE(worst, c.bound) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Models, Int8Zoo,
                         ::testing::Values(ZooCase{"lenet5", 0.08, {}},
                                           ZooCase{"resnet18", 0.15, {1, 3, 112, 112}},
                                           ZooCase{"mobilenet_v2", 0.15, {1, 3, 112, 112}}),
                         [](const auto& info) { return info.param.name; });
