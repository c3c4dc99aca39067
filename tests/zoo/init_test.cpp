// Every zoo model starts as its reference implementation initializes it, layer by layer:
// the statistics of each Conv, Gemm and BatchNormalization weight and bias are checked
// against the rule of the model's reference (torchvision's model classes; PyTorch's own
// nn.Conv2d / nn.Linear defaults where the reference does not override them):
//   PyTorch default   weight U(+-1/sqrt(fan_in)) (kaiming_uniform, a = sqrt(5)), bias the same
//   kaiming fan_out   weight N(0, sqrt(2 / fan_out)), bias 0 (torchvision ResNet, MobileNet)
//   kaiming uniform   weight U(+-sqrt(6 / fan_in)), bias 0 (torchvision SqueezeNet)
//   normal 0.01       weight N(0, 0.01), bias 0 (MobileNet Linear, SqueezeNet's last conv,
//                     VGG Linear)
//   normal 0.1        weight N(0, 0.1), bias 0 (torchvision Inception v3's truncated normal,
//                     cut at +-2 = 20 standard deviations)
//   normal 0.02       weight N(0, 0.02), bias 0 (ConvNeXt's truncated normal, cut at +-2)
//   kaiming fan_in    weight N(0, sqrt(2 / fan_in)), bias 0 (torchvision DenseNet)
//   default, bias 0   weight U(+-1/sqrt(fan_in)), bias 0 (DenseNet's Linear)
//   uniform by out    weight U(+-1/sqrt(fan_out)), bias 0 (EfficientNet's Linear)
//   fan_out, default bias  weight N(0, sqrt(2 / fan_out)), bias U(+-1/sqrt(fan_in))
//                     (torchvision RegNet: its init sets weights only)
//   kaiming uniform by out  weight U(+-sqrt(3 / fan_out)), bias 0 (MNASNet's Linear)
//   normal 0.01, default bias  weight N(0, 0.01), bias U(+-1/sqrt(fan_in)) (GoogLeNet's
//                     Linear: truncated normal cut at +-2, weights only)
//   BatchNorm         scale 1, shift 0
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "frugal/zoo/zoo.h"

namespace frugal::zoo {
namespace {

enum class Rule {
  kTorchDefault,
  kKaimingFanOut,
  kKaimingUniform,
  kNormal001,
  kNormal01,
  kNormal002,
  kKaimingFanIn,
  kTorchDefaultZeroBias,
  kUniformByOut,
  kKaimingFanOutDefaultBias,
  kKaimingUniformByOut,
  kNormal001DefaultBias,
};

struct ModelRules {
  Rule conv, linear;
  std::string normal001_conv;  // a conv node initialized N(0, 0.01) ("" none)
  std::string default_convs;   // the conv nodes named from this on follow kTorchDefault
};

// The reference of every zoo model (a model missing here fails the test).
const std::map<std::string, ModelRules>& rules() {
  static const std::map<std::string, ModelRules> r{
      {"lenet5", {Rule::kTorchDefault, Rule::kTorchDefault, ""}},
      {"lenet300_100", {Rule::kTorchDefault, Rule::kTorchDefault, ""}},
      {"logreg_fmnist", {Rule::kTorchDefault, Rule::kTorchDefault, ""}},
      {"resnet18", {Rule::kKaimingFanOut, Rule::kTorchDefault, ""}},
      {"resnet50", {Rule::kKaimingFanOut, Rule::kTorchDefault, ""}},
      {"resnext50_32x4d", {Rule::kKaimingFanOut, Rule::kTorchDefault, ""}},
      {"resnet8_fmnist", {Rule::kKaimingFanOut, Rule::kTorchDefault, ""}},
      {"mobilenet_v2", {Rule::kKaimingFanOut, Rule::kNormal001, ""}},
      {"mobilenet_v3_small", {Rule::kKaimingFanOut, Rule::kNormal001, ""}},
      {"mobilenet_v3_large", {Rule::kKaimingFanOut, Rule::kNormal001, ""}},
      {"mobilenet_fmnist", {Rule::kKaimingFanOut, Rule::kNormal001, ""}},
      {"squeezenet1_1", {Rule::kKaimingUniform, Rule::kTorchDefault, "classifier.1"}},
      {"shufflenet_v2_x1_0", {Rule::kTorchDefault, Rule::kTorchDefault, ""}},
      {"vgg16", {Rule::kKaimingFanOut, Rule::kNormal001, ""}},
      {"inception_v3", {Rule::kNormal01, Rule::kNormal01, ""}},
      {"efficientnet_b0", {Rule::kKaimingFanOut, Rule::kUniformByOut, ""}},
      {"densenet121", {Rule::kKaimingFanIn, Rule::kTorchDefaultZeroBias, ""}},
      {"convnext_tiny", {Rule::kNormal002, Rule::kNormal002, ""}},
      {"regnet_y_400mf", {Rule::kKaimingFanOutDefaultBias, Rule::kNormal001, ""}},
      {"mnasnet1_0", {Rule::kKaimingFanOut, Rule::kKaimingUniformByOut, ""}},
      {"googlenet", {Rule::kNormal001, Rule::kNormal001DefaultBias, ""}},
      {"wide_resnet50_2", {Rule::kKaimingFanOut, Rule::kTorchDefault, ""}},
      // The backbone is MobileNetV3's; LRASPPHead keeps nn.Conv2d's default.
      {"lraspp_mobilenet_v3_large", {Rule::kKaimingFanOut, Rule::kTorchDefault, "", "classifier."}},
      // Ultralytics keeps nn.Conv2d's default (its initialize_weights leaves convs alone).
      {"yolov8n", {Rule::kTorchDefault, Rule::kTorchDefault, ""}},
      // SwinTransformer sets every Linear (its blocks' MLP init is overridden); the patch
      // Conv keeps nn.Conv2d's default.
      {"swin_t", {Rule::kTorchDefault, Rule::kNormal002, ""}},
  };
  return r;
}

struct Stats {
  double mean = 0, std = 0, max_abs = 0;
  int64_t n = 0;
};

Stats stats(const Tensor& t) {
  Stats s;
  s.n = t.numel();
  for (float v : t.span<float>()) {
    s.mean += v;
    s.max_abs = std::max(s.max_abs, static_cast<double>(std::abs(v)));
  }
  s.mean /= static_cast<double>(s.n);
  for (float v : t.span<float>()) s.std += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(s.n));
  return s;
}

// Draws of N(0, sigma): mean and standard deviation within 5 standard errors.
void expect_normal(const Tensor& t, double sigma, const std::string& what) {
  const Stats s = stats(t);
  const double n = static_cast<double>(s.n);
  EXPECT_LE(std::abs(s.mean), 5 * sigma / std::sqrt(n)) << what;
  EXPECT_NEAR(s.std / sigma, 1.0, 5 * std::sqrt(0.5 / n) + 1e-3) << what;
  if (s.n >= 1000) {
    EXPECT_GT(s.max_abs, 1.9 * sigma) << what << ": tails too light for a normal";
  }
}

// Draws of U(-bound, bound): inside the bound, standard deviation bound / sqrt(3).
void expect_uniform(const Tensor& t, double bound, const std::string& what) {
  const Stats s = stats(t);
  const double n = static_cast<double>(s.n);
  EXPECT_LE(s.max_abs, bound * (1 + 1e-6)) << what;
  EXPECT_GT(s.max_abs, 0.0) << what;
  if (s.n < 30) return;  // too few draws for moments (a few biases)
  const double sigma = bound / std::sqrt(3.0);
  EXPECT_LE(std::abs(s.mean), 5 * sigma / std::sqrt(n)) << what;
  EXPECT_NEAR(s.std / sigma, 1.0, 5 * std::sqrt(0.2 / n) + 1e-3) << what;
  EXPECT_GT(s.max_abs, 0.9 * bound) << what;
}

void expect_constant(const Tensor& t, float value, const std::string& what) {
  for (float v : t.span<float>()) ASSERT_EQ(v, value) << what;
}

void check_weight(Rule rule, const Tensor& w, const Tensor* bias, double fan_in, double fan_out,
                  const std::string& node) {
  switch (rule) {
    case Rule::kTorchDefault:
      expect_uniform(w, 1 / std::sqrt(fan_in), node + " weight (PyTorch default)");
      if (bias) expect_uniform(*bias, 1 / std::sqrt(fan_in), node + " bias (PyTorch default)");
      return;
    case Rule::kKaimingFanOut:
      expect_normal(w, std::sqrt(2 / fan_out), node + " weight (Kaiming normal fan_out)");
      break;
    case Rule::kKaimingUniform:
      expect_uniform(w, std::sqrt(6 / fan_in), node + " weight (Kaiming uniform)");
      break;
    case Rule::kNormal001:
      expect_normal(w, 0.01, node + " weight (N(0, 0.01))");
      break;
    case Rule::kNormal01:
      expect_normal(w, 0.1, node + " weight (N(0, 0.1))");
      break;
    case Rule::kNormal002:
      expect_normal(w, 0.02, node + " weight (N(0, 0.02))");
      break;
    case Rule::kKaimingFanIn:
      expect_normal(w, std::sqrt(2 / fan_in), node + " weight (Kaiming normal fan_in)");
      break;
    case Rule::kTorchDefaultZeroBias:
      expect_uniform(w, 1 / std::sqrt(fan_in), node + " weight (PyTorch default)");
      break;
    case Rule::kUniformByOut:
      expect_uniform(w, 1 / std::sqrt(fan_out), node + " weight (U(+-1/sqrt(out)))");
      break;
    case Rule::kKaimingFanOutDefaultBias:
      expect_normal(w, std::sqrt(2 / fan_out), node + " weight (Kaiming normal fan_out)");
      if (bias) expect_uniform(*bias, 1 / std::sqrt(fan_in), node + " bias (PyTorch default)");
      return;
    case Rule::kKaimingUniformByOut:
      expect_uniform(w, std::sqrt(3 / fan_out), node + " weight (U(+-sqrt(3/out)))");
      break;
    case Rule::kNormal001DefaultBias:
      expect_normal(w, 0.01, node + " weight (N(0, 0.01))");
      if (bias) expect_uniform(*bias, 1 / std::sqrt(fan_in), node + " bias (PyTorch default)");
      return;
  }
  if (bias) expect_constant(*bias, 0.0f, node + " bias (zeros)");
}

TEST(ZooInit, EveryLayerFollowsItsReferenceImplementation) {
  for (const std::string& name : names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(rules().count(name)) << "zoo model '" << name << "' has no reference rule here";
    const ModelRules& r = rules().at(name);
    const ir::Graph g = build(name, 7);
    int checked = 0;
    for (const ir::Node& node : g.nodes) {
      auto input = [&](size_t i) -> const Tensor* {
        if (node.inputs.size() <= i) return nullptr;
        auto it = g.initializers.find(node.inputs[i]);
        return it == g.initializers.end() ? nullptr : &it->second;
      };
      if (node.op_type == "Conv" && node.name == "model.22.dfl.conv") {
        // YOLOv8's DFL: a fixed 1x1 conv with weights 0..15 (the expected bin), not trained.
        const Tensor& w = *input(1);
        for (int64_t i = 0; i < w.numel(); ++i) EXPECT_EQ(w.data<float>()[i], float(i));
      } else if (node.op_type == "Conv") {
        const Tensor& w = *input(1);
        const double k = static_cast<double>(w.dim(2) * w.dim(3));
        const bool by_default = !r.default_convs.empty() && node.name.starts_with(r.default_convs);
        const Rule rule = node.name == r.normal001_conv ? Rule::kNormal001
                          : by_default                  ? Rule::kTorchDefault
                                                        : r.conv;
        check_weight(rule, w, input(2), static_cast<double>(w.dim(1)) * k,
                     static_cast<double>(w.dim(0)) * k, node.name);
        ++checked;
      } else if (node.op_type == "Gemm") {
        const Tensor& w = *input(1);  // [out, in] (transB = 1)
        check_weight(r.linear, w, input(2), static_cast<double>(w.dim(1)),
                     static_cast<double>(w.dim(0)), node.name);
        ++checked;
      } else if (node.op_type == "MatMul" && input(1)) {
        const Tensor& w = *input(1);  // [in, out]: a Linear on a value of rank > 2
        check_weight(r.linear, w, nullptr, static_cast<double>(w.dim(0)),
                     static_cast<double>(w.dim(1)), node.name);
        ++checked;
      } else if (node.op_type == "BatchNormalization" || node.op_type == "LayerNormalization") {
        expect_constant(*input(1), 1.0f, node.name + " scale");
        expect_constant(*input(2), 0.0f, node.name + " shift");
        ++checked;
      }
    }
    EXPECT_GT(checked, name == "logreg_fmnist" ? 0 : 2);  // logistic regression: one Gemm
  }
}

// The statistics above can tell the rules apart: LeNet-5 with every Linear at N(0, 0.01)
// (the zoo's former init) would fail them.
TEST(ZooInit, ChecksDistinguishTheRules) {
  Tensor w(DType::kF32, {120, 400});
  auto d = w.span<float>();
  for (size_t i = 0; i < d.size(); ++i)  // a deterministic N(0, 0.01)-like spread
    d[i] = 0.01f * static_cast<float>(std::sin(static_cast<double>(i) * 12.9898) * 1.7);
  testing::TestPartResultArray failures;
  {
    testing::ScopedFakeTestPartResultReporter intercept(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    expect_uniform(w, 1 / std::sqrt(400.0), "fc1");
  }
  EXPECT_GT(failures.size(), 0);
}

}  // namespace
}  // namespace frugal::zoo
