// The zoo's models against published facts: torchvision's parameter counts, MACs
// (conv + linear) computed here by an independent shape walker, state-dict names,
// initialisation statistics, determinism in the seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/ir/graph.h"
#include "frugal/ops/infer.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/builder.h"
#include "frugal/zoo/zoo.h"

namespace frugal {
namespace {

struct Published {
  std::string name;
  int64_t params;
  double macs;  // conv + linear multiply-accumulates, batch 1
  Shape input;
  int64_t classes;
  int64_t conv_count;
  Shape output = {};  // empty: {1, classes} (a classifier's logits)
};

Shape output_of(const Published& p) {
  return p.output.empty() ? Shape{1, p.classes} : p.output;
}

// Parameter counts: torchvision's model metadata ("num_params"); LeNet-5 by hand:
// (6*25+6) + (16*6*25+16) + (400*120+120) + (120*84+84) + (84*10+10) = 61,706.
// MACs: torchvision's "_ops" tables / papers; LeNet-5 by hand:
// 28*28*6*25 + 10*10*16*150 + 400*120 + 120*84 + 84*10 = 416,520.
// Conv counts: layers in torchvision's definitions (SE fc1/fc2 are convs).
const std::vector<Published>& published() {
  static const std::vector<Published> table{
      {"lenet5", 61706, 416520.0, {1, 1, 28, 28}, 10, 2},
      {"resnet18", 11689512, 1.814e9, {1, 3, 224, 224}, 1000, 20},
      {"resnet50", 25557032, 4.09e9, {1, 3, 224, 224}, 1000, 53},
      // torchvision's ResNeXt50_32X4D_Weights: 25,028,904 parameters, 4.23 GFLOPS ("_ops").
      {"resnext50_32x4d", 25028904, 4.23e9, {1, 3, 224, 224}, 1000, 53},
      {"mobilenet_v2", 3504872, 0.300e9, {1, 3, 224, 224}, 1000, 52},
      {"mobilenet_v3_small", 2542856, 0.057e9, {1, 3, 224, 224}, 1000, 52},
      {"mobilenet_v3_large", 5483032, 0.217e9, {1, 3, 224, 224}, 1000, 62},
      {"squeezenet1_1", 1235496, 0.349e9, {1, 3, 224, 224}, 1000, 26},
      {"shufflenet_v2_x1_0", 2278604, 0.146e9, {1, 3, 224, 224}, 1000, 56},
      {"vgg16", 138357544, 15.47e9, {1, 3, 224, 224}, 1000, 13},
      // torchvision's num_params, 27,161,264, includes the auxiliary classifier (3,326,696),
      // which an inference model leaves out.
      {"inception_v3", 23834568, 5.71e9, {1, 3, 299, 299}, 1000, 94},
      // MACs of the next three: torchvision's "_ops" (GFLOPS as it counts them: 0.386,
      // 2.834, 4.456), within 1%. Convs: EfficientNet-B0 1 + 4 + 15 x 5 + 1 (SE fc1/fc2
      // included), DenseNet-121 1 + 58 x 2 + 3, ConvNeXt-Tiny 1 + 18 + 3.
      {"efficientnet_b0", 5288548, 0.386e9, {1, 3, 224, 224}, 1000, 81},
      {"densenet121", 7978856, 2.834e9, {1, 3, 224, 224}, 1000, 120},
      {"convnext_tiny", 28589128, 4.456e9, {1, 3, 224, 224}, 1000, 22},
      // torchvision's num_params and "_ops" (GFLOPS as it counts them: 0.402, 0.314, 1.498,
      // 11.398). Convs: RegNetY-400MF 1 + 16 x 5 (SE fc1/fc2 included) + 4 projections,
      // MNASNet-1.0 3 + 16 x 3 + 1, GoogLeNet 3 + 9 x 6, Wide ResNet-50-2 as ResNet-50.
      {"regnet_y_400mf", 4344144, 0.402e9, {1, 3, 224, 224}, 1000, 85},
      {"mnasnet1_0", 4383312, 0.314e9, {1, 3, 224, 224}, 1000, 52},
      {"googlenet", 6624904, 1.498e9, {1, 3, 224, 224}, 1000, 57},
      {"wide_resnet50_2", 68883240, 11.398e9, {1, 3, 224, 224}, 1000, 53},
      // torchvision's num_params (3,221,538; the backbone's features 2,971,952 + the head's
      // 249,586). MACs at 224x224 by hand from the definition (torchvision's "_ops", 2.086
      // GFLOPS, are at 520x520): the dilated backbone keeps its last stage at 14x14. Convs:
      // MobileNetV3-Large's 62 less none (its classifier is Linear) + cbr, scale and the two
      // classifiers.
      {"lraspp_mobilenet_v3_large", 3221538, 0.3793e9, {1, 3, 224, 224}, 21, 66, {1, 21, 224, 224}},
      // Ultralytics' model summary: 3,157,200 parameters (the DFL's 16 fixed weights
      // included: 3,157,184 gradients); its README's 8.7 GFLOPs at 640x640 are 2 x 4.35 G
      // MACs. Convs: backbone 5 + C2f 4, 6, 6, 4 + SPPF 2; neck 2 + C2f 4 x 4; Detect 3 x 6
      // + the DFL's.
      {"yolov8n", 3157200, 4.35e9, {1, 3, 640, 640}, 80, 64, {1, 84, 8400}},
      // torchvision's Swin_T_Weights: num_params 28,288,354 (each relative position bias
      // table's 169 x heads entries, which the export folds into a [1, heads, 49, 49]
      // constant: counted here from that constant, folded_table_parameters) and "_ops" 4.491
      // GFLOPS, the Linear and patch Conv MACs (4.350 G) plus attention's two products q kᵀ
      // and p v (0.140 G), which the walker counts as MatMuls of two values. One Conv (the
      // patch embedding).
      {"swin_t", 28288354, 4.491e9, {1, 3, 224, 224}, 1000, 1},
  };
  return table;
}

// Built once per process (seed 1) and validated: the larger models take a while.
const ir::Graph& model(const std::string& name) {
  static std::map<std::string, ir::Graph> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    ir::Graph g = zoo::build(name, 1);
    g.validate_and_sort();
    it = cache.emplace(name, std::move(g)).first;
  }
  return it->second;
}

// Initializer inputs that are trainable parameters: Conv/Gemm weight and bias, BN and
// LayerNorm scale and shift, a MatMul's weight, and the tensors (not the scalars) an Add
// or Mul takes (a Linear's bias after its MatMul, ConvNeXt's layer scale). BN running
// statistics, scalar constants (GELU's) and shape/split/clip constants are not.
// YOLOv8's anchor grid and strides: buffers Detect computes from the input size
// (make_anchors), constants in the export, not parameters.
// Swin's attention masks (computed by shifted_window_attention from the map size) likewise.
const std::set<std::string> kBuffers = {"model.22.anchors", "model.22.strides"};
bool is_buffer(const std::string& name) {
  return kBuffers.count(name) || name.ends_with(".attn_mask");
}

// Swin's relative position bias: the export gathers each block's table [(2w-1)^2, heads]
// by the tokens' relative offsets into a constant [1, heads, w*w, w*w]. The table's entries
// (its parameters) are the bias's values per head and offset: every pair of tokens at one
// offset must hold one value. Returns heads x (2w-1)^2, or 0 (a test failure) otherwise.
bool is_folded_table(const std::string& name) {
  return name.ends_with(".relative_position_bias");
}
int64_t folded_table_parameters(const Tensor& bias) {
  const auto w = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(bias.dim(2)))));
  EXPECT_EQ(bias.rank(), 4);
  EXPECT_EQ(w * w, bias.dim(2));
  const int64_t n = w * w, heads = bias.dim(1);
  std::map<std::pair<int64_t, int64_t>, float> table;  // (head, offset) -> entry
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const int64_t offset = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1);
        const float v = bias.data<float>()[(h * n + i) * n + j];
        auto [it, fresh] = table.try_emplace({h, offset}, v);
        if (!fresh && it->second != v) {
          ADD_FAILURE() << "bias of head " << h << " differs at one offset";
          return 0;
        }
      }
  return static_cast<int64_t>(table.size());
}

std::set<std::string> parameter_names(const ir::Graph& g) {
  std::set<std::string> out;
  for (const auto& n : g.nodes) {
    const bool weights = n.op_type == "Conv" || n.op_type == "Gemm" ||
                         n.op_type == "BatchNormalization" || n.op_type == "LayerNormalization";
    const bool operands = n.op_type == "MatMul" || n.op_type == "Add" || n.op_type == "Mul";
    if (!weights && !operands) continue;
    for (size_t i = weights ? 1 : 0; i < n.inputs.size() && (!weights || i <= 2); ++i) {
      const Tensor* t = g.initializer(n.inputs[i]);
      if (t && t->rank() > 0 && !is_buffer(n.inputs[i])) out.insert(n.inputs[i]);
    }
  }
  return out;
}

// ---- An independent shape walker over the ops the zoo uses -------------------------

int64_t pooled(int64_t in, int64_t k, int64_t s, int64_t pad_begin, int64_t pad_end, int64_t d,
               bool ceil_mode) {
  double span = static_cast<double>(in + pad_begin + pad_end - d * (k - 1) - 1);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(span / s) : std::floor(span / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + pad_begin) --out;  // window starting in the padding
  return out;
}

struct WalkResult {
  std::map<std::string, Shape> shapes;
  double macs = 0;
};

// Zoo models export the batch dimension symbolic ("N") and every other one fixed; the
// shape at batch 1, or a test failure naming the value.
Shape at_batch_1(const ir::ValueInfo& v) {
  Shape s;
  EXPECT_TRUE(v.shape && !v.shape->empty()) << v.name;
  if (!v.shape) return s;
  for (size_t i = 0; i < v.shape->size(); ++i) {
    const ir::Dim& d = (*v.shape)[i];
    if (i == 0) {
      EXPECT_FALSE(d.known()) << v.name << ": batch dimension should be symbolic";
      EXPECT_EQ(d.param, "N") << v.name;
      s.push_back(1);
    } else {
      EXPECT_TRUE(d.known()) << v.name << ": dimension " << i << " should be fixed";
      s.push_back(d.value);
    }
  }
  return s;
}

WalkResult walk(const ir::Graph& g) {
  WalkResult r;
  auto& sh = r.shapes;
  for (const auto& in : g.inputs) sh[in.name] = at_batch_1(in);
  for (const auto& [name, t] : g.initializers) sh[name] = t.shape();
  for (const auto& n : g.nodes) {
    const std::string& op = n.op_type;
    const Shape& x = sh.at(n.inputs.at(0));
    Shape y;
    if (op == "Conv" || op == "MaxPool" || op == "AveragePool") {
      auto k = op == "Conv" ? Shape{sh.at(n.inputs[1])[2], sh.at(n.inputs[1])[3]}
                            : n.attr_ints("kernel_shape");
      auto s = n.attr_ints("strides", {1, 1});
      auto p = n.attr_ints("pads", {0, 0, 0, 0});
      auto d = n.attr_ints("dilations", {1, 1});
      bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
      int64_t c = op == "Conv" ? sh.at(n.inputs[1])[0] : x[1];
      y = {x[0], c, pooled(x[2], k[0], s[0], p[0], p[2], d[0], ceil_mode),
           pooled(x[3], k[1], s[1], p[1], p[3], d[1], ceil_mode)};
      if (op == "Conv") {
        const Shape& w = sh.at(n.inputs[1]);
        EXPECT_EQ(x[1], w[1] * n.attr_int("group", 1)) << n.describe();
        r.macs += static_cast<double>(y[0] * y[1] * y[2] * y[3]) *
                  static_cast<double>(w[1] * w[2] * w[3]);
      }
    } else if (op == "MatMul") {
      // [K, N] (a Linear's weight) or [..., K, N] with x's leading dimensions (attention).
      const Shape& w = sh.at(n.inputs[1]);
      const int64_t k = w[w.size() - 2];
      EXPECT_EQ(x.back(), k) << n.describe();
      EXPECT_TRUE(w.size() == 2 || std::equal(w.begin(), w.end() - 2, x.begin())) << n.describe();
      y = x;
      y.back() = w.back();
      double rows = 1;
      for (size_t i = 0; i + 1 < x.size(); ++i) rows *= static_cast<double>(x[i]);
      r.macs += rows * static_cast<double>(k * w.back());
    } else if (op == "Slice") {  // constant starts, ends, axes, steps (positive)
      const auto starts = g.initializer(n.inputs.at(1))->to_int64();
      const auto ends = g.initializer(n.inputs.at(2))->to_int64();
      const auto axes = g.initializer(n.inputs.at(3))->to_int64();
      const auto steps = n.inputs.size() > 4 ? g.initializer(n.inputs[4])->to_int64()
                                             : std::vector<int64_t>(axes.size(), 1);
      y = x;
      for (size_t i = 0; i < axes.size(); ++i) {
        const int64_t len = x.at(axes[i]);
        auto at = [len](int64_t v) { return std::clamp(v < 0 ? v + len : v, int64_t{0}, len); };
        const int64_t b = at(starts[i]), e = at(ends[i]);
        y[axes[i]] = e > b ? (e - b + steps[i] - 1) / steps[i] : 0;
      }
    } else if (op == "Gather") {  // a scalar index: the axis goes
      EXPECT_EQ(g.initializer(n.inputs.at(1))->rank(), 0) << n.describe();
      y = x;
      y.erase(y.begin() + n.attr_int("axis", 0));
    } else if (op == "Gemm") {
      const Shape& w = sh.at(n.inputs[1]);
      EXPECT_EQ(n.attr_int("transB", 0), 1) << n.describe();
      EXPECT_EQ(x[1], w[1]) << n.describe();
      y = {x[0], w[0]};
      r.macs += static_cast<double>(x[0] * w[0] * w[1]);
    } else if (op == "BatchNormalization" || op == "Relu" || op == "Clip" || op == "HardSwish" ||
               op == "HardSigmoid" || op == "Dropout" || op == "Sigmoid" || op == "Erf" ||
               op == "LayerNormalization" || op == "Softmax") {
      y = x;
    } else if (op == "Add" || op == "Mul" || op == "Div" || op == "Sub") {
      // numpy broadcasting: trailing axes aligned (a bias [C], a layer scale [C, 1, 1], a scalar)
      const Shape& a = x;
      const Shape& b = sh.at(n.inputs[1]);
      const size_t rank = std::max(a.size(), b.size());
      y.assign(rank, 1);
      for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        EXPECT_TRUE(da == db || da == 1 || db == 1) << n.describe();
        y[i] = std::max(da, db);
      }
    } else if (op == "Resize") {  // constant scales (the zoo's bilinear upsampling)
      const std::vector<double> scales = g.initializer(n.inputs.at(2))->to_double();
      for (size_t i = 0; i < x.size(); ++i)
        y.push_back(static_cast<int64_t>(std::floor(static_cast<double>(x[i]) * scales.at(i))));
    } else if (op == "GlobalAveragePool") {
      y = {x[0], x[1], 1, 1};
    } else if (op == "ReduceMean") {
      const std::vector<int64_t> axes = n.attr_ints("axes");
      const bool keep = n.attr_int("keepdims", 1) != 0;
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end())
          y.push_back(x[i]);
        else if (keep)
          y.push_back(1);
      }
    } else if (op == "Flatten") {
      int64_t axis = n.attr_int("axis", 1), outer = 1, inner = 1;
      for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i)
        (i < axis ? outer : inner) *= x[i];
      y = {outer, inner};
    } else if (op == "Concat") {
      int64_t axis = n.attr_int("axis");
      y = x;
      for (size_t i = 1; i < n.inputs.size(); ++i) y[axis] += sh.at(n.inputs[i])[axis];
    } else if (op == "Reshape") {
      std::vector<int64_t> target = g.initializer(n.inputs.at(1))->to_int64();
      int64_t known = 1, total = 1, infer_at = -1;
      for (int64_t d : x) total *= d;
      for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] == 0) target[i] = x.at(i);
        if (target[i] == -1)
          infer_at = static_cast<int64_t>(i);
        else
          known *= target[i];
      }
      if (infer_at >= 0) target[infer_at] = total / known;
      y = target;
    } else if (op == "Transpose") {
      for (int64_t p : n.attr_ints("perm")) y.push_back(x.at(p));
    } else if (op == "Split") {
      int64_t axis = n.attr_int("axis");
      std::vector<int64_t> sizes = g.initializer(n.inputs.at(1))->to_int64();
      EXPECT_EQ(sizes.size(), n.outputs.size()) << n.describe();
      for (size_t i = 0; i < n.outputs.size(); ++i) {
        Shape part = x;
        part[axis] = sizes[i];
        sh[n.outputs[i]] = part;
      }
      continue;
    } else {
      ADD_FAILURE() << "unexpected op in the zoo: " << n.describe();
      continue;
    }
    sh[n.outputs.at(0)] = y;
  }
  return r;
}

class ZooModel : public ::testing::TestWithParam<Published> {};

TEST_P(ZooModel, ParameterCountMatchesPublished) {
  const ir::Graph& g = model(GetParam().name);
  int64_t params = 0;
  for (const auto& name : parameter_names(g))
    params += is_folded_table(name) ? folded_table_parameters(*g.initializer(name))
                                    : g.initializer(name)->numel();
  EXPECT_EQ(params, GetParam().params);
}

TEST_P(ZooModel, EveryInitializerIsAParameterBnStatisticOrConstant) {
  const ir::Graph& g = model(GetParam().name);
  std::set<std::string> accounted = parameter_names(g);
  accounted.insert(kBuffers.begin(), kBuffers.end());
  for (const auto& [name, t] : g.initializers)
    if (is_buffer(name)) accounted.insert(name);
  for (const auto& n : g.nodes) {
    if (n.op_type == "BatchNormalization") {
      ASSERT_EQ(n.inputs.size(), 5u) << n.describe();
      accounted.insert(n.inputs[3]);
      accounted.insert(n.inputs[4]);
    }
    if (n.op_type == "Clip" || n.op_type == "Reshape" || n.op_type == "Split" ||
        n.op_type == "Resize" || n.op_type == "Slice" || n.op_type == "Gather" ||
        n.op_type == "Dropout")
      for (size_t i = 1; i < n.inputs.size(); ++i) accounted.insert(n.inputs[i]);
    for (const auto& in : n.inputs)  // GELU's scalars (sqrt 2, 1, 0.5)
      if (const Tensor* t = g.initializer(in);
          t && t->rank() == 0 && (n.op_type == "Div" || n.op_type == "Add" || n.op_type == "Mul"))
        accounted.insert(in);
  }
  for (const auto& [name, t] : g.initializers) EXPECT_TRUE(accounted.count(name)) << name;
}

TEST_P(ZooModel, GraphIsValidOpset17WithOneInputAndOutput) {
  const ir::Graph& g = model(GetParam().name);  // validate_and_sort ran in model()
  EXPECT_EQ(g.opset(""), 17);
  EXPECT_EQ(g.ir_version, 8);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(at_batch_1(g.inputs[0]), GetParam().input);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(at_batch_1(g.outputs[0]), output_of(GetParam()));
  std::set<std::string> node_names;
  for (const auto& n : g.nodes) {
    EXPECT_TRUE(n.domain.empty()) << n.describe();
    EXPECT_TRUE(node_names.insert(n.name).second) << "duplicate node name " << n.name;
  }
  int64_t convs = std::count_if(g.nodes.begin(), g.nodes.end(),
                                [](const ir::Node& n) { return n.op_type == "Conv"; });
  EXPECT_EQ(convs, GetParam().conv_count);
}

TEST_P(ZooModel, WalkedShapesAgreeAndMacsMatchPublished) {
  const ir::Graph& g = model(GetParam().name);
  WalkResult r = walk(g);
  EXPECT_EQ(r.shapes.at(g.outputs[0].name), output_of(GetParam()));
  for (const auto& [name, info] : g.value_info)
    EXPECT_EQ(at_batch_1(info), r.shapes.at(name)) << name;
  EXPECT_NEAR(r.macs / GetParam().macs, 1.0, 0.01) << GetParam().name << ": " << r.macs << " MACs";
}

// The engine's own shape inference accepts every node and agrees with the builder.
TEST_P(ZooModel, EngineShapeInferenceSupportsEveryNode) {
  const ir::Graph& g = model(GetParam().name);
  ops::GraphInfo info = ops::infer_graph(g);
  ASSERT_TRUE(info.supported()) << info.unsupported_summary();
  EXPECT_EQ(info.at(g.outputs[0].name).shape, output_of(GetParam()));
  for (const auto& [name, vi] : g.value_info)
    EXPECT_EQ(info.at(name).shape, at_batch_1(vi)) << name;
}

TEST_P(ZooModel, SameSeedSameWeightsOtherSeedDifferent) {
  // Seeding does not depend on the model; building vgg16's 138 M weights (wide_resnet50_2's
  // 69 M) twice more would cost about 10 s (5 s).
  if (GetParam().name == "vgg16" || GetParam().name == "wide_resnet50_2")
    GTEST_SKIP() << "seeding checked on the other models";
  const ir::Graph& a = model(GetParam().name);
  ir::Graph same = zoo::build(GetParam().name, 1);
  ir::Graph other = zoo::build(GetParam().name, 2);
  ASSERT_EQ(same.initializers.size(), a.initializers.size());
  for (const auto& [name, t] : a.initializers) {
    ASSERT_TRUE(same.initializers.count(name)) << name;
    EXPECT_TRUE(same.initializers.at(name).equals(t)) << name;
  }
  // Every random tensor (weights, BN running statistics) changes with the seed.
  for (const auto& n : a.nodes) {
    std::vector<size_t> random_inputs;
    if ((n.op_type == "Conv" && n.name != "model.22.dfl.conv") || n.op_type == "Gemm")
      random_inputs = {1};  // YOLOv8's DFL weights are fixed (0..15)
    if (n.op_type == "BatchNormalization") random_inputs = {3, 4};
    for (size_t i : random_inputs)
      EXPECT_FALSE(other.initializers.at(n.inputs[i]).equals(a.initializers.at(n.inputs[i])))
          << n.inputs[i];
  }
}

TEST_P(ZooModel, InitialisationFollowsTorchvision) {
  const ir::Graph& g = model(GetParam().name);
  for (const auto& n : g.nodes) {
    if (n.op_type == "BatchNormalization") {
      // LRASPP's backbone is MobileNetV3's; its head's BatchNorm2d keeps the default.
      const bool eps_1e3 =
          GetParam().name == "mobilenet_v3_small" || GetParam().name == "mobilenet_v3_large" ||
          GetParam().name == "inception_v3" || GetParam().name == "googlenet" ||
          GetParam().name == "yolov8n" ||
          (GetParam().name == "lraspp_mobilenet_v3_large" && n.name.starts_with("backbone."));
      EXPECT_FLOAT_EQ(n.attr_float("epsilon", 0), eps_1e3 ? 1e-3f : 1e-5f);
      for (double v : g.initializer(n.inputs[1])->to_double()) ASSERT_EQ(v, 1.0) << n.name;
      for (double v : g.initializer(n.inputs[2])->to_double()) ASSERT_EQ(v, 0.0) << n.name;
      for (double v : g.initializer(n.inputs[4])->to_double()) {
        ASSERT_GE(v, 0.5) << n.name;
        ASSERT_LT(v, 1.5) << n.name;
      }
    }
    // Conv and Gemm weights and biases: tests/zoo/init_test.cpp, per reference rule.
  }
}

INSTANTIATE_TEST_SUITE_P(All, ZooModel, ::testing::ValuesIn(published()),
                         [](const ::testing::TestParamInfo<Published>& info) {
                           return info.param.name;
                         });

TEST(Zoo, NamesListEveryModelOnce) {
  std::vector<std::string> expected;
  for (const auto& p : published()) expected.push_back(p.name);
  // The small 28x28 training models (tests/zoo/small_models_test.cpp holds their counts).
  expected.push_back("resnet8_fmnist");
  expected.push_back("mobilenet_fmnist");
  expected.push_back("lenet300_100");
  expected.push_back("logreg_fmnist");
  EXPECT_EQ(zoo::names(), expected);
}

TEST(Zoo, UnknownNameIsAUserErrorListingTheKnownOnes) {
  try {
    zoo::build("resnet19", 0);
    FAIL() << "no error";
  } catch (const UserError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("resnet19"), std::string::npos) << what;
    for (const auto& p : published()) EXPECT_NE(what.find(p.name), std::string::npos) << what;
  }
}

// Tensor names follow torchvision's state dict, so that weights map one to one.
TEST(Zoo, InitializerNamesFollowTorchvisionStateDict) {
  const std::map<std::string, std::vector<std::string>> expected{
      {"lenet5", {"conv1.weight", "conv2.bias", "fc3.weight"}},
      {"resnet18",
       {"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_mean", "layer4.1.bn2.bias", "fc.weight", "fc.bias"}},
      {"resnet50",
       {"layer1.0.downsample.0.weight", "layer3.5.conv3.weight", "layer4.2.bn3.weight"}},
      {"resnext50_32x4d",
       {"layer1.0.conv2.weight", "layer2.0.downsample.0.weight", "layer4.2.bn3.running_var"}},
      {"mobilenet_v2",
       {"features.0.0.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
        "features.1.conv.2.running_var", "features.2.conv.3.weight", "features.18.0.weight",
        "classifier.1.weight"}},
      {"mobilenet_v3_small",
       {"features.1.block.0.0.weight", "features.1.block.1.fc1.weight",
        "features.1.block.1.fc2.bias", "features.1.block.2.1.weight",
        "features.4.block.2.fc1.weight", "features.4.block.3.0.weight", "features.12.0.weight",
        "classifier.0.weight", "classifier.3.weight"}},
      {"squeezenet1_1",
       {"features.0.weight", "features.3.squeeze.weight", "features.12.expand3x3.bias",
        "classifier.1.weight"}},
      {"shufflenet_v2_x1_0",
       {"conv1.0.weight", "stage2.0.branch1.0.weight", "stage2.0.branch1.3.running_var",
        "stage2.1.branch2.7" /* a ReLU: no tensor */, "stage4.3.branch2.6.weight", "conv5.1.bias",
        "fc.weight"}},
      {"regnet_y_400mf",
       {"stem.0.weight", "trunk_output.block1.block1-0.proj.0.weight",
        "trunk_output.block2.block2-2.f.b.1.running_var",
        "trunk_output.block4.block4-5.f.se.fc1.bias", "trunk_output.block4.block4-5.f.c.0.weight",
        "fc.bias"}},
      {"mnasnet1_0",
       {"layers.0.weight", "layers.3.weight", "layers.7.running_mean", "layers.8.0.layers.3.weight",
        "layers.13.0.layers.7.bias", "layers.14.weight", "layers.15.running_var",
        "classifier.1.weight"}},
      {"googlenet",
       {"conv1.conv.weight", "conv3.bn.running_var", "inception3a.branch2.1.conv.weight",
        "inception4e.branch4.1.bn.bias", "inception5b.branch3.0.conv.weight", "fc.bias"}},
      {"wide_resnet50_2", {"layer1.0.conv2.weight", "layer4.2.bn3.running_var", "fc.weight"}},
      {"lraspp_mobilenet_v3_large",
       {"backbone.0.0.weight", "backbone.4.block.2.fc1.weight", "backbone.13.block.1.0.weight",
        "backbone.16.1.running_var", "classifier.cbr.0.weight", "classifier.cbr.1.running_mean",
        "classifier.scale.1.weight", "classifier.low_classifier.bias",
        "classifier.high_classifier.weight"}},
  };
  for (const auto& [model_name, tensors] : expected) {
    const ir::Graph& g = model(model_name);
    for (const auto& t : tensors) {
      if (t == "stage2.1.branch2.7") {
        EXPECT_EQ(g.initializer(t), nullptr);
        continue;
      }
      EXPECT_NE(g.initializer(t), nullptr) << model_name << ": " << t;
    }
  }
}

// ShuffleNet's channel shuffle with 2 groups: N x 2 x C/2 x H x W, swap axes 1 and 2.
TEST(Zoo, ShuffleNetChannelShuffleIsReshapeTransposeReshape) {
  const ir::Graph& g = model("shufflenet_v2_x1_0");
  auto find = [&](const std::string& name) -> const ir::Node& {
    for (const auto& n : g.nodes)
      if (n.name == name) return n;
    throw InternalError("no node " + name);
  };
  // stage2.1 works on 116 channels at 28x28.
  const ir::Node& grouped = find("stage2.1.channel_shuffle.reshape_grouped");
  const ir::Node& transpose = find("stage2.1.channel_shuffle.transpose");
  const ir::Node& flat = find("stage2.1.channel_shuffle.reshape_flat");
  EXPECT_EQ(g.initializer(grouped.inputs[1])->to_int64(),
            (std::vector<int64_t>{-1, 2, 58, 28, 28}));
  EXPECT_EQ(transpose.attr_ints("perm"), (std::vector<int64_t>{0, 2, 1, 3, 4}));
  EXPECT_EQ(g.initializer(flat.inputs[1])->to_int64(), (std::vector<int64_t>{-1, 116, 28, 28}));
  const ir::Node& chunk = find("stage2.1.chunk");
  EXPECT_EQ(g.initializer(chunk.inputs[1])->to_int64(), (std::vector<int64_t>{58, 58}));
}

// Run through the reference engine: channel c' of the output is input channel
// (c' % 2) * C/2 + c' / 2, i.e. the halves interleave (torch's view-transpose-view).
TEST(Zoo, ChannelShuffleInterleavesTheHalves) {
  zoo::GraphBuilder b("shuffle", 0);
  std::string x = b.add_input("input", {1, 6, 1, 2});
  x = b.add_channel_shuffle("shuffle", x, 2);
  ir::Graph g = b.finish(x, "output");
  std::vector<float> in(12);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);  // channel c: 2c, 2c+1
  runtime::SessionOptions
      options;  // named: a defaulted temporary trips GCC 12's -Wmaybe-uninitialized
  runtime::Session session(g, options);
  std::vector<Tensor> out = session.run({Tensor::from_vector<float>({1, 6, 1, 2}, in)});
  ASSERT_EQ(out.size(), 1u);
  const int source_channel[6] = {0, 3, 1, 4, 2, 5};
  std::vector<float> expected;
  for (int c : source_channel) {
    expected.push_back(static_cast<float>(2 * c));
    expected.push_back(static_cast<float>(2 * c + 1));
  }
  std::vector<double> got = out[0].to_double();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << i;
}

TEST(Zoo, ActivationConstantsMatchTorch) {
  const ir::Graph& v2 = model("mobilenet_v2");
  const ir::Graph& v3 = model("mobilenet_v3_small");
  int clips = 0, hardsigmoids = 0;
  for (const auto& n : v2.nodes) {
    if (n.op_type != "Clip") continue;
    ++clips;
    EXPECT_EQ(v2.initializer(n.inputs[1])->at_double(0), 0.0);
    EXPECT_EQ(v2.initializer(n.inputs[2])->at_double(0), 6.0);
  }
  for (const auto& n : v3.nodes) {
    if (n.op_type != "HardSigmoid") continue;
    ++hardsigmoids;
    EXPECT_FLOAT_EQ(n.attr_float("alpha", 0), 1.0f / 6.0f);
    EXPECT_FLOAT_EQ(n.attr_float("beta", 0), 0.5f);
  }
  EXPECT_EQ(clips, 35);        // 1 + 1 + 16 * 2 + 1 ReLU6 in MobileNetV2
  EXPECT_EQ(hardsigmoids, 9);  // one per squeeze-excitation block
}

// swin_t's shifted-window masks as torchvision's shifted_window_attention builds them: an
// H x W map of region labels filled slice by slice (rows [0, H-7), [H-7, H-3), [H-3, H),
// columns the same), partitioned into 7x7 windows; -100 between tokens of a window whose
// labels differ. Blocks 1 of stages 1-3 are shifted (their masks [1, nW, 1, 49, 49]); no
// block of the last stage (7x7: one window) and no even block has a mask.
TEST(Zoo, SwinShiftedWindowMasksAsTorchvisionBuildsThem) {
  const ir::Graph& g = model("swin_t");
  const int64_t w = 7, s = 3;
  int masks = 0;
  for (const auto& [name, t] : g.initializers) {
    if (!name.ends_with(".attn_mask")) continue;
    ++masks;
    const int64_t windows = t.dim(1),
                  side = w *
                         static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(windows))));
    ASSERT_EQ(t.shape(), (Shape{1, windows, 1, w * w, w * w})) << name;
    std::vector<int> label(static_cast<size_t>(side * side));
    const int64_t cuts[4] = {0, side - w, side - s, side};
    int count = 0;
    for (int hi = 0; hi < 3; ++hi)
      for (int wi = 0; wi < 3; ++wi, ++count)
        for (int64_t y = cuts[hi]; y < cuts[hi + 1]; ++y)
          for (int64_t x = cuts[wi]; x < cuts[wi + 1]; ++x)
            label[static_cast<size_t>(y * side + x)] = count;
    for (int64_t win = 0; win < windows; ++win)
      for (int64_t i = 0; i < w * w; ++i)
        for (int64_t j = 0; j < w * w; ++j) {
          auto at = [&](int64_t token) {
            const int64_t y = (win / (side / w)) * w + token / w,
                          x = (win % (side / w)) * w + token % w;
            return label[static_cast<size_t>(y * side + x)];
          };
          const float want = at(i) == at(j) ? 0.0f : -100.0f;
          ASSERT_EQ(t.data<float>()[(win * w * w + i) * w * w + j], want)
              << name << " window " << win << " tokens " << i << ", " << j;
        }
  }
  EXPECT_EQ(masks, 1 + 1 + 3);
}

}  // namespace
}  // namespace frugal
