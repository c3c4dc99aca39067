// Binary/ternary training with the straight-through estimator (train/binarize_train.h):
// the training forward is the compress --binarize export's inference, the weight gradient
// reaching the shadow weights is dL/dW_b, the activation STE is zero where |x| > 1, a
// short fine-tuning beats the un-fine-tuned binarized model, resuming is bit-identical, and
// incompatible options are refused.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "frugal/compress/binarize_layers.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/train/binarize_train.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"
#include "graph_testing.h"

namespace frugal::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

Tensor random_tensor(const Shape& s, uint64_t stream, float scale) {
  Tensor t(DType::kF32, s);
  Philox rng(31, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

// A training graph with the STE hook, as the trainer wires it.
struct Wired {
  BinarizeTrain bin;
  std::unique_ptr<TrainGraph> graph;
  Wired(const ir::Graph& model, const std::string& spec, GraphOptions o = {})
      : bin(compress::parse_binarize_spec(spec), false, model) {
    graph = std::make_unique<TrainGraph>(bin.training_graph(model), o);
    graph->set_hook([this](TensorClass c, const std::string& v, Tensor& t) { bin.apply(c, v, t); });
  }
};

float max_abs_diff(const Tensor& a, const Tensor& b, float* scale) {
  float d = 0, s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    d = std::max(d, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    s = std::max(s, std::abs(b.data<float>()[i]));
  }
  *scale = s;
  return d;
}

// The training forward (inference mode) against the exported graph on the reference
// backend, with and without binary activations, on a plain CNN and a residual one with
// BatchNorm (whose block inputs feed both a binarized conv and the shortcut).
TEST(BinarizeTrain, ForwardIsTheExportedModel) {
  struct Case {
    const char* model;
    const char* spec;
  };
  for (const Case& k :
       {Case{"lenet5", "binary"}, Case{"lenet5", "ternary"}, Case{"lenet5", "binary:all:acts"},
        Case{"lenet5", "ternary:acts:packed"}, Case{"resnet8_fmnist", "binary:acts"}}) {
    SCOPED_TRACE(std::string(k.model) + " " + k.spec);
    const ir::Graph model = zoo::build(k.model, 3);
    Wired w(model, k.spec);
    const Tensor x = random_tensor({4, 1, 28, 28}, 1, 1.0f);
    const Tensor mine = w.graph->forward(x, false);
    const ir::Graph exported = w.bin.export_binarized(w.graph->graph()).graph;
    runtime::SessionOptions o;
    o.infer.input_shapes[exported.inputs[0].name] = x.shape();
    runtime::Session ref(exported, o);
    const Tensor theirs = ref.run({x})[0];
    ASSERT_EQ(mine.shape(), theirs.shape());
    float scale = 0;
    EXPECT_LE(max_abs_diff(mine, theirs, &scale), 1e-4f * std::max(scale, 1.0f));
    // The float model is the input graph's nodes again, with the shadow weights.
    const ir::Graph back = w.bin.float_model(w.graph->graph());
    EXPECT_EQ(back.nodes.size(), model.nodes.size());
  }
}

// y = Gemm(beta sign(x), alpha S) + b on one layer (:all): the shadow weight's gradient is
// dL/dW_b = g^T x_b, and the input's gradient is g W_b where |x| <= 1, zero elsewhere.
TEST(BinarizeTrain, StraightThroughGradients) {
  for (const char* spec : {"binary:all", "ternary:all", "binary:all:acts", "ternary:all:acts"}) {
    SCOPED_TRACE(spec);
    const bool acts = std::string(spec).find("acts") != std::string::npos;
    const bool ternary = std::string(spec).rfind("ternary", 0) == 0;
    ir::Node n;
    n.name = "fc";
    n.op_type = "Gemm";
    n.inputs = {"x", "W", "b"};
    n.outputs = {"y"};
    n.attrs["transB"] = ir::Attribute{.value = int64_t{1}};
    const int64_t batch = 3, in = 7, out = 4;
    const Tensor W = random_tensor({out, in}, 2, 0.5f), b = random_tensor({out}, 3, 0.1f);
    const ir::Graph model = testing::make_graph({batch, in}, {n}, {{"W", W}, {"b", b}});
    GraphOptions o;
    o.input_grad = true;
    Wired w(model, spec, o);
    const Tensor x = random_tensor({batch, in}, 4, 1.5f);  // many |x| > 1
    const Tensor g = random_tensor({batch, out}, 5, 1.0f);
    w.graph->forward(x, true);
    w.graph->backward(g);

    compress::PrunableLayer l = compress::prunable_layers(model)[0];
    const compress::BinaryWeight bw = compress::binarize_weight(W, l, ternary);
    const Tensor xb = acts ? binary_activation(x) : x;
    const Tensor& dw = w.graph->grad("W");
    const Tensor& dx = w.graph->input_grad();
    int64_t blocked = 0;
    for (int64_t o2 = 0; o2 < out; ++o2)
      for (int64_t i = 0; i < in; ++i) {
        double want = 0;
        for (int64_t s = 0; s < batch; ++s)
          want += double(g.data<float>()[s * out + o2]) * xb.data<float>()[s * in + i];
        EXPECT_NEAR(dw.data<float>()[o2 * in + i], want, 1e-5) << o2 << "," << i;
      }
    for (int64_t s = 0; s < batch; ++s)
      for (int64_t i = 0; i < in; ++i) {
        double want = 0;
        for (int64_t o2 = 0; o2 < out; ++o2)
          want += double(g.data<float>()[s * out + o2]) * bw.alpha.data<float>()[o2] *
                  bw.signs.data<float>()[o2 * in + i];
        const float xv = x.data<float>()[s * in + i];
        if (acts && std::abs(xv) > 1.0f) {
          want = 0;
          ++blocked;
        }
        EXPECT_NEAR(dx.data<float>()[s * in + i], want, 1e-5) << s << "," << i;
      }
    if (acts) {
      EXPECT_GT(blocked, 0);  // the case was exercised
    }
  }
}

TEST(BinarizeTrain, BinaryActivationIsSignTimesMeanAbs) {
  Tensor x(DType::kF32, {2, 3});
  const float v[] = {-2.0f, 0.0f, 1.0f, 0.5f, -0.5f, 0.25f};
  std::copy(v, v + 6, x.data<float>());
  std::vector<uint8_t> blocked;
  const Tensor y = binary_activation(x, &blocked);
  const float want[] = {-1.0f, 0.0f, 1.0f, 0.41666666f, -0.41666666f, 0.41666666f};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6f) << i;
  EXPECT_EQ(blocked, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0}));
}

TrainConfig small_config() {
  TrainConfig c;
  c.limit = 1024;
  c.batch = 32;
  c.lr = 0.02f;
  c.epochs = 2;
  c.seed = 3;
  return c;
}

// A float LeNet-5 trained on 1024 images, then ternary: fine-tuning 2 epochs with the STE
// beats the ternarized model without fine-tuning by more than the noise of 1024 test images
// (binomial standard deviation about 1.6 points; measured: 47.3 % -> 56.6 %).
TEST(BinarizeTrain, FineTuningBeatsNoFineTuning) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.epochs = 3;
  Trainer fp(zoo::build("lenet5", 1), c);
  fp.run({});
  const ir::Graph trained = fp.model();
  TrainConfig b = small_config();
  b.binarize = "ternary";
  Trainer tern(trained, b);
  const double before = tern.evaluate(*tern.test_set(), b.limit);
  tern.run({});
  const double after = tern.evaluate(*tern.test_set(), b.limit);
  EXPECT_GT(after, before + 0.05) << "before " << before << " after " << after;
}

// Stopping after one epoch and resuming ends bit-identical to an uninterrupted run: the
// checkpoint holds the shadow weights.
TEST(BinarizeTrain, ResumeIsBitIdentical) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = small_config();
  c.limit = 64;
  c.binarize = "binary:acts";
  const std::string ckpt = (std::filesystem::temp_directory_path() /
                            ("frugal_bin_train_" + std::to_string(::getpid()) + ".ckpt"))
                               .string();
  Trainer full(zoo::build("lenet5", 2), c);
  full.run({});
  TrainConfig c1 = c;
  c1.stop_after = 1;
  c1.checkpoint = ckpt;
  Trainer first(zoo::build("lenet5", 2), c1);
  first.run({});
  TrainConfig c2 = c;
  c2.resume = ckpt;
  Trainer second(zoo::build("lenet5", 2), c2);
  second.run({});
  std::filesystem::remove(ckpt);
  const ir::Graph& a = full.model();
  const ir::Graph& bm = second.model();
  ASSERT_EQ(a.initializers.size(), bm.initializers.size());
  for (const auto& [name, t] : a.initializers)
    EXPECT_TRUE(t.equals(bm.initializers.at(name))) << name;
}

TEST(BinarizeTrain, RefusesBadSpecsAndCombinations) {
  auto refused = [](TrainConfig c, const std::string& what) {
    try {
      Trainer t(zoo::build("lenet5", 1), c);
      ADD_FAILURE() << "accepted: " << what;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  TrainConfig c;
  c.limit = 32;
  c.binarize = "quaternary";
  refused(c, "--binarize 'quaternary'");
  c.binarize = "binary";
  c.qat = "int8";
  refused(c, "--binarize cannot be combined with --qat");
  c.qat.clear();
  c.circulant = "4";
  refused(c, "--binarize cannot be combined with --circulant");
  c.circulant.clear();
  c.cluster = "keep";
  refused(c, "--binarize cannot be combined with --cluster");
  c.cluster.clear();
  c.prune = "0.5";
  refused(c, "--binarize cannot be combined with --prune");
  c.prune.clear();
  c.binarize_exclude = "conv2,fc1,fc2";
  refused(c, "no Conv/Gemm/MatMul layer to binarize");
  c.binarize.clear();
  refused(c, "--binarize-exclude and --binarize-clip need --binarize");
}

}  // namespace
}  // namespace frugal::train
