// Quantization-aware training (train/qat.h): the fake quantization is the export's grid bit
// for bit, the straight-through estimator passes gradients inside the range and stops them
// outside, ranges survive a checkpoint and a ranges file, resuming is bit-identical, and the
// exported QDQ model predicts what the training-time fake-quant forward predicts.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "frugal/compress/quantize.h"
#include "frugal/core/rng.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ops/op.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/runtime/session.h"
#include "frugal/train/qat.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::train {
namespace {

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("frugal_qat_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

Tensor random_tensor(const Shape& s, uint64_t stream, float scale) {
  Tensor t(DType::kF32, s);
  Philox rng(77, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.equals(b);
}

TEST(QatSpec, ParsesAndRefuses) {
  const QatSpec d = QatSpec::parse("int8");
  EXPECT_TRUE(d.quant.per_channel);
  EXPECT_FALSE(d.quant.symmetric);
  EXPECT_EQ(d.start, 0);
  EXPECT_EQ(d.freeze, -1);
  const QatSpec s = QatSpec::parse("int8:per-tensor,sym,calib=percentile:99.9,start=1,freeze=3");
  EXPECT_FALSE(s.quant.per_channel);
  EXPECT_TRUE(s.quant.symmetric);
  EXPECT_EQ(s.quant.calib.method, runtime::CalibMethod::kPercentile);
  EXPECT_EQ(s.start, 1);
  EXPECT_EQ(s.freeze, 3);
  EXPECT_EQ(QatSpec::parse(s.name()).name(), s.name());
  for (const char* bad : {"", "int4", "int8:dynamic", "int8,calib=mse", "int8,samples=64",
                          "int8,cle", "int8,start=x", "int8,start=2,freeze=1", "fp8"}) {
    try {
      QatSpec::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("--qat"), std::string::npos) << e.what();
    }
  }
}

// Weights: exactly compress::quantize_weight's grid. Activations: exactly QuantizeLinear ->
// DequantizeLinear of the reference kernels with compress::activation_params.
TEST(Qat, FakeQuantIsTheExportGrid) {
  const ir::Graph model = zoo::build("lenet5", 1);
  for (const char* text : {"int8", "int8:per-tensor,sym"}) {
    const QatSpec spec = QatSpec::parse(text);
    QatState q(spec, model, trainable_initializers(model));
    q.begin_forward(true, 0);
    int64_t checked = 0;
    for (const auto& n : model.nodes) {
      if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
      const Tensor& w = *model.initializer(n.inputs[1]);
      Tensor t = w.clone();
      q.apply(TensorClass::kWeight, n.inputs[1], t, model);
      std::string why;
      const auto site = compress::detail::weight_site(model, n, why);
      ASSERT_TRUE(site) << why;
      const int64_t axis = spec.quant.per_channel ? site->out_axis : -1;
      EXPECT_TRUE(
          bit_equal(t, compress::dequantize_weight(compress::quantize_weight(w, axis), axis)))
          << n.name;
      ++checked;
    }
    EXPECT_GE(checked, 4);

    ASSERT_FALSE(q.quantized_activations().empty());
    const std::string v = *q.quantized_activations().begin();
    // Values around the range with exact ties: x / s = k + 0.5.
    Tensor x = random_tensor({4, 3, 5, 5}, 1, 2.0f);
    q.restore({{v, QatRange{-1.5f, 3.0f, true}}}, 0);
    const compress::ActivationParams p =
        compress::activation_params(kernels::ValueRange{-1.5f, 3.0f}, spec.quant.symmetric);
    for (int64_t i = 0; i < 10; ++i) x.data<float>()[i] = (static_cast<float>(i) + 0.5f) * p.scale;
    q.begin_forward(false, 0);  // inference: the range stays
    Tensor y = x;
    q.apply(TensorClass::kActivation, v, y, model);
    ir::Node qn, dn;
    qn.op_type = "QuantizeLinear";
    qn.inputs = {"x", "s", "z"};
    qn.outputs = {"q"};
    dn.op_type = "DequantizeLinear";
    dn.inputs = {"q", "s", "z"};
    dn.outputs = {"y"};
    const Tensor scale = Tensor::scalar<float>(p.scale);
    const Tensor zp = spec.quant.symmetric
                          ? Tensor::scalar<int8_t>(0)
                          : Tensor::scalar<uint8_t>(static_cast<uint8_t>(p.zero_point));
    const Tensor qv = ops::evaluate(qn, 13, {x, scale, zp})[0];
    const Tensor ref = ops::evaluate(dn, 13, {qv, scale, zp})[0];
    EXPECT_TRUE(bit_equal(y, ref)) << text;
  }
}

// Straight-through estimator: weights' gradient is the gradient at the fake-quantized
// weight (the hook only replaces the forward value); an activation's error passes where its
// input was inside the representable range and is zero where it was clipped.
TEST(Qat, StraightThroughEstimator) {
  // Biases zeroed: a bias's int32 grid takes the scale of its input's range, which the
  // forward below sets mid-way and the replay cannot take over before its own forward; this
  // test is about the weights' and activations' straight-through estimator.
  ir::Graph model = zoo::build("lenet5", 1);
  for (const auto& n : model.nodes)
    if ((n.op_type == "Conv" || n.op_type == "Gemm") && n.inputs.size() > 2)
      for (float& v : model.initializers.at(n.inputs[2]).span<float>()) v = 0.0f;
  QatState q(QatSpec::parse("int8,freeze=0"), model, trainable_initializers(model));
  const std::string v = *q.quantized_activations().begin();
  q.restore({{v, QatRange{0.0f, 1.0f, true}}}, 0);  // u8 over [0, 1]: clips x < 0 and x > 1
  q.begin_forward(true, 0);                         // freeze=0: ranges do not move
  const Tensor x = random_tensor({2, 4, 6, 6}, 2, 1.0f);
  Tensor y = x;
  q.apply(TensorClass::kActivation, v, y, model);
  EXPECT_EQ(q.ranges().at(v).max, 1.0f);
  Tensor g = Tensor(DType::kF32, x.shape());
  for (float& e : g.span<float>()) e = 1.0f;
  const Tensor shared = g;  // the hook must not write into a shared error
  q.apply(TensorClass::kError, v, g, model);
  int64_t inside = 0, outside = 0;
  const float step = 1.0f / 255.0f;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float xi = x.data<float>()[i];
    const float gi = g.data<float>()[i];
    EXPECT_EQ(shared.data<float>()[i], 1.0f);
    if (xi > -step / 2 && xi < 1.0f + step / 2) {
      EXPECT_EQ(gi, 1.0f) << xi;
      ++inside;
      EXPECT_LE(std::fabs(y.data<float>()[i] - xi), step / 2 + 1e-7f);
    } else {
      EXPECT_EQ(gi, 0.0f) << xi;
      ++outside;
    }
  }
  EXPECT_GT(inside, 50);
  EXPECT_GT(outside, 50);

  // Through the autograd: a fake-quantized weight's gradient equals the gradient of a
  // graph whose weight *is* the fake-quantized one (identity STE).
  TrainGraph tg(model);
  QatState q2(QatSpec::parse("int8"), model, tg.params());
  tg.set_hook(
      [&](TensorClass c, const std::string& n, Tensor& t) { q2.apply(c, n, t, tg.graph()); });
  const Tensor in = random_tensor({2, 1, 28, 28}, 3, 1.0f);
  // The replay's weights: fake-quantized now, before any range exists (so that biases, which
  // need the input's range, stay float as in the first forward).
  ir::Graph fq = model;
  q2.begin_forward(true, 0);
  for (const auto& p : tg.params()) {
    Tensor t = model.initializer(p)->clone();
    q2.apply(TensorClass::kWeight, p, t, model);
    fq.initializers[p] = t;
  }
  q2.begin_forward(true, 0);
  const Tensor logits = tg.forward(q2.input(tg.input_name(), in), true, 0);
  Tensor d(DType::kF32, logits.shape());
  for (int64_t i = 0; i < d.numel(); ++i) d.data<float>()[i] = (i % 3 == 0) ? 1.0f : -0.5f;
  tg.backward(d);
  const std::string w0 = tg.params().front();
  // Replay with the weights replaced by their fake-quantized values and the same ranges,
  // activations fake-quantized without observing.
  QatState q3(QatSpec::parse("int8,freeze=0"), model, tg.params());
  q3.restore(q2.ranges(), 0);
  TrainGraph tg2(fq);
  tg2.set_hook([&](TensorClass c, const std::string& n, Tensor& t) {
    if (c != TensorClass::kWeight) q3.apply(c, n, t, tg2.graph());
  });
  // The first forward set each range from the batch it then quantized: the replay, frozen
  // at those ranges, computes the same logits.
  q3.begin_forward(true, 0);
  const Tensor logits2 = tg2.forward(q3.input(tg2.input_name(), in), true, 0);
  ASSERT_TRUE(bit_equal(logits, logits2));
  tg2.backward(d);
  EXPECT_TRUE(bit_equal(tg.grad(w0), tg2.grad(w0)));
}

TrainConfig qat_config(const std::string& spec) {
  TrainConfig c;
  c.limit = 128;
  c.batch = 32;
  c.lr = 0.02f;
  c.optimizer.momentum = 0.9f;
  c.epochs = 2;
  c.seed = 5;
  c.qat = spec;
  return c;
}

bool same_initializers(const ir::Graph& a, const ir::Graph& b) {
  if (a.initializers.size() != b.initializers.size()) return false;
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return true;
}

bool same_ranges(const QatState& a, const QatState& b) {
  if (a.ranges().size() != b.ranges().size()) return false;
  for (const auto& [name, r] : a.ranges()) {
    auto it = b.ranges().find(name);
    if (it == b.ranges().end() || it->second.min != r.min || it->second.max != r.max ||
        it->second.seen != r.seen)
      return false;
  }
  return true;
}

// Ranges go through a checkpoint and a ranges file; a run resumed after one epoch ends
// bit-identical to an uninterrupted one (weights, BN statistics, ranges, QDQ export).
TEST(Qat, ResumeIsBitIdenticalAndRangesRoundTrip) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c = qat_config("int8:per-tensor,start=0");
  c.limit = 64;
  const std::string ckpt = temp_path("resume.ckpt");
  Trainer full(zoo::build("resnet8_fmnist", 2), c);
  full.run({});
  TrainConfig c1 = c;
  c1.stop_after = 1;
  c1.checkpoint = ckpt;
  Trainer first(zoo::build("resnet8_fmnist", 2), c1);
  first.run({});
  TrainConfig c2 = c;
  c2.resume = ckpt;
  Trainer second(zoo::build("resnet8_fmnist", 2), c2);
  second.run({});
  EXPECT_TRUE(same_initializers(full.model(), second.model()));
  ASSERT_TRUE(full.qat() && second.qat());
  EXPECT_TRUE(same_ranges(*full.qat(), *second.qat()));
  EXPECT_TRUE(same_initializers(full.qat()->export_int8(full.model()).graph,
                                second.qat()->export_int8(second.model()).graph));
  // Resuming without --qat, or with another spec, is refused.
  TrainConfig c3 = c;
  c3.resume = ckpt;
  c3.qat.clear();
  EXPECT_THROW(Trainer(zoo::build("resnet8_fmnist", 2), c3), UserError);
  c3.qat = "int8";
  EXPECT_THROW(Trainer(zoo::build("resnet8_fmnist", 2), c3), UserError);
  std::filesystem::remove(ckpt);

  // The ranges file holds the learned ranges exactly.
  const runtime::RangesFile rf = full.qat()->ranges_file();
  const runtime::RangesFile back = runtime::ranges_from_json(runtime::ranges_to_json(rf), "t");
  ASSERT_EQ(back.ranges.size(), rf.ranges.size());
  for (const auto& [name, r] : rf.ranges) {
    EXPECT_EQ(back.ranges.at(name).min, r.min) << name;
    EXPECT_EQ(back.ranges.at(name).max, r.max) << name;
  }
  EXPECT_EQ(back.method, "qat-ema:minmax");
  EXPECT_EQ(back.samples, 2 * 64);
}

// Predictions of the training-time fake-quant forward (TrainGraph + QatState in inference
// mode) against the exported QDQ model on the reference backend.
void compare_export(Trainer& t, const std::string& spec, int64_t n, int64_t min_agree,
                    float logit_tol) {
  const std::string path = temp_path("qdq.onnx");
  ir::save_onnx(t.qat()->export_int8(t.model()).graph, path);
  const ir::Graph loaded = ir::load_onnx(path);
  std::filesystem::remove(path);
  runtime::Session ref(loaded);
  TrainGraph mine(t.model());
  QatState q(QatSpec::parse(spec), t.model(), mine.params());
  q.restore(t.qat()->ranges(), 0);
  mine.set_hook(
      [&](TensorClass c, const std::string& v, Tensor& x) { q.apply(c, v, x, mine.graph()); });
  Batch batch = t.test_set()->get_range(0, n);
  q.begin_forward(false, 0);
  const Tensor logits = mine.forward(q.input(mine.input_name(), batch.images), false);
  const auto labels = batch.labels.to_int64();
  int64_t agree = 0, correct_mine = 0, correct_ref = 0;
  float worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    Tensor x(DType::kF32, {1, 1, 28, 28});
    std::copy_n(batch.images.data<float>() + i * 784, 784, x.data<float>());
    const Tensor y = ref.run({x})[0];
    int64_t am = 0, ar = 0;
    for (int64_t j = 0; j < 10; ++j) {
      worst = std::max(worst, std::fabs(y.data<float>()[j] - logits.data<float>()[i * 10 + j]));
      if (y.data<float>()[j] > y.data<float>()[ar]) ar = j;
      if (logits.data<float>()[i * 10 + j] > logits.data<float>()[i * 10 + am]) am = j;
    }
    agree += am == ar;
    correct_mine += am == labels[static_cast<size_t>(i)];
    correct_ref += ar == labels[static_cast<size_t>(i)];
  }
  std::printf("%s: %lld/%lld predictions agree, max logit difference %.3g\n", spec.c_str(),
              static_cast<long long>(agree), static_cast<long long>(n), worst);
  EXPECT_GE(agree, min_agree) << spec;
  EXPECT_LE(worst, logit_tol) << spec;
  // The trainer reports the exported model's accuracy (its QDQ graph on the training
  // kernels): the reference session's.
  EXPECT_NEAR(t.evaluate(*t.test_set(), n), static_cast<double>(correct_ref) / n, 1e-12);
}

TEST(Qat, ExportedQdqPredictsLikeTraining) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  // LeNet-5 (no BatchNorm): weights, biases and activations on the export's grid, so only
  // the float summation order differs.
  TrainConfig c = qat_config("int8");
  c.limit = 256;
  c.epochs = 1;
  Trainer lenet(zoo::build("lenet5", 1), c);
  lenet.run({});
  compare_export(lenet, "int8", 64, 64, 1e-3f);
  // resnet8 per tensor: BatchNorm folded at export, the fake quantization of the folded
  // weight unfolded in training: equal up to float rounding of the fold.
  TrainConfig r = qat_config("int8:per-tensor");
  r.limit = 64;
  r.epochs = 1;
  Trainer resnet(zoo::build("resnet8_fmnist", 2), r);
  resnet.run({});
  compare_export(resnet, "int8:per-tensor", 32, 31, 0.05f);
}

TEST(Qat, RefusesWhatItCannotQuantize) {
  TrainConfig c = qat_config("int8");
  c.format = "W=e4m3";
  try {
    Trainer t(zoo::build("lenet5", 1), c);
    ADD_FAILURE() << "--qat with W= accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--qat"), std::string::npos) << e.what();
  }
  c.format.clear();
  c.qat = "int8,start=2";
  EXPECT_THROW(Trainer(zoo::build("lenet5", 1), c), UserError);
}

}  // namespace
}  // namespace frugal::train
