// Accuracy on a hand-built model whose predictions are known: Flatten then a Gemm whose
// weights are a permutation, so the logit of class k is pixel (k + 1) % 6. The data set
// is an NPZ archive written here (stored ZIP entries), read back through open_dataset.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/npy.h"
#include "frugal/measure/eval.h"
#include "frugal/train/data/dataset.h"

using namespace frugal;
using namespace frugal::measure;
namespace fs = std::filesystem;

namespace {

#define EXPECT_USER_ERROR(stmt, text)                                                          \
  try {                                                                                        \
    stmt;                                                                                      \
    ADD_FAILURE() << "no UserError from " #stmt;                                               \
  } catch (const frugal::UserError& e) {                                                       \
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << "message: " << e.what(); \
  }

std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("frugal-eval-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

// A ZIP archive of stored (uncompressed) entries NAME.npy, as numpy.savez writes them
// (APPNOTE.TXT: local headers, central directory, end record).
void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays) {
  std::string out, central;
  uint16_t count = 0;
  for (const auto& [key, t] : arrays) {
    const std::vector<uint8_t> data = encode_npy(t);
    const std::string name = key + ".npy";
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    auto common = [&](std::string& s) {
      put16(s, 20);    // version needed
      put16(s, 0);     // flags
      put16(s, 0);     // stored
      put16(s, 0);     // time
      put16(s, 0x21);  // date 1980-01-01
      put32(s, crc);
      put32(s, static_cast<uint32_t>(data.size()));
      put32(s, static_cast<uint32_t>(data.size()));
      put16(s, static_cast<uint32_t>(name.size()));
      put16(s, 0);  // extra
    };
    put32(out, 0x04034b50);
    common(out);
    out += name;
    out.append(reinterpret_cast<const char*>(data.data()), data.size());
    put32(central, 0x02014b50);
    put16(central, 20);  // made by
    common(central);
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += name;
    ++count;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, count);
  put16(out, count);
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  std::ofstream(path, std::ios::binary) << out;
}

ir::ValueInfo value(const std::string& name, Shape shape) {
  ir::ValueInfo v;
  v.name = name;
  v.dtype = DType::kF32;
  std::vector<ir::Dim> dims;
  for (int64_t d : shape) dims.push_back(ir::Dim{d, ""});
  v.shape = dims;
  return v;
}

constexpr int64_t kClasses = 6;

// images [3, 1, 2, 3] -> Flatten -> Gemm with W[j][k] = (j == (k + shift) % 6).
runtime::Session picker(int shift, int64_t batch = 3) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(value("input", {batch, 1, 2, 3}));
  g.outputs.push_back(value("logits", {batch, kClasses}));
  std::vector<float> w(kClasses * kClasses, 0.0f);
  for (int k = 0; k < kClasses; ++k) w[((k + shift) % kClasses) * kClasses + k] = 1.0f;
  g.initializers["w"] = Tensor::from_vector<float>({kClasses, kClasses}, w);
  g.nodes.push_back(
      ir::Node{.name = "flat", .op_type = "Flatten", .inputs = {"input"}, .outputs = {"f"}});
  g.nodes.push_back(
      ir::Node{.name = "pick", .op_type = "Gemm", .inputs = {"f", "w"}, .outputs = {"logits"}});
  g.validate_and_sort();
  return runtime::Session(g);
}

// Logits wanted per sample and the true labels; pixel (k + 1) % 6 carries logit k.
const std::vector<std::vector<float>> kLogits = {
    {5, 1, 0, 0, 0, 0},  // label 0: rank 0
    {0, 5, 1, 0, 0, 0},  // label 2: rank 1, predicted 1
    {0, 0, 0, 0, 0, 9},  // label 5: rank 0
    {6, 5, 4, 3, 2, 1},  // label 5: rank 5 (outside the top 5), predicted 0
    {1, 1, 1, 1, 1, 1},  // label 3: ties go to lower classes, rank 3, predicted 0
    {0, 0, 3, 0, 0, 0},  // label 2: rank 0
    {0, 0, 0, 7, 0, 0},  // label 1: rank 2 (class 3 higher, class 0 equal and lower)
};
const std::vector<int64_t> kLabels = {0, 2, 5, 5, 3, 2, 1};

Tensor images_for(const std::vector<std::vector<float>>& logits, int shift) {
  const int64_t n = static_cast<int64_t>(logits.size());
  Tensor x(DType::kF32, {n, 1, 2, 3});
  float* p = x.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < kClasses; ++k) p[i * kClasses + (k + shift) % kClasses] = logits[i][k];
  return x;
}

std::string write_data(const std::string& name, Tensor images, std::vector<int64_t> labels) {
  const std::string path = temp_file(name);
  write_npz(path,
            {{"x", images},
             {"y", Tensor::from_vector<int64_t>({static_cast<int64_t>(labels.size())}, labels)}});
  return path;
}

}  // namespace

TEST(Eval, SoftmaxAndKlByHand) {
  // p = softmax(0, ln 3) = (1/4, 3/4), q = (1/2, 1/2):
  // KL = 1/4 ln(1/2) + 3/4 ln(3/2) = 0.130812035...
  const std::vector<float> a{0.0f, static_cast<float>(std::log(3.0))};
  const auto p = softmax(a);
  EXPECT_NEAR(p[0], 0.25, 1e-7);
  EXPECT_NEAR(p[1], 0.75, 1e-7);
  const std::vector<double> q{0.5, 0.5};
  EXPECT_NEAR(kl_divergence(p, q), 0.1308120343, 1e-7);
  // Large logits do not overflow.
  const auto big = softmax(std::vector<float>{1000.0f, 1000.0f});
  EXPECT_DOUBLE_EQ(big[0], 0.5);
  const std::vector<float> scores{1, 3, 3, 0};
  EXPECT_EQ(argmax(scores), 1);
  EXPECT_EQ(rank_of(scores, 2), 1);
  EXPECT_EQ(rank_of(scores, 3), 3);
}

TEST(Eval, ExactAccuracyAndConfusion) {
  const std::string path = write_data("ok.npz", images_for(kLogits, 1), kLabels);
  auto model = picker(1);
  train::DataOptions d;
  d.expected_sample_shape = {1, 2, 3};
  d.num_classes = kClasses;
  auto data = train::open_dataset("npz:" + path, d);
  int64_t progress_calls = 0;
  EvalOptions eo;
  eo.progress = [&](int64_t done, int64_t total) {
    ++progress_calls;
    EXPECT_EQ(total, 7);
  };
  EvalResult r = evaluate(model, "picker", *data, path, eo);
  EXPECT_EQ(progress_calls, 3);  // batches of 3, 3 and 1 (padded)
  EXPECT_EQ(r.samples, 7);
  EXPECT_EQ(r.batch, 3);
  EXPECT_EQ(r.classes, 6);
  EXPECT_EQ(r.top1_correct, 3);
  EXPECT_EQ(r.top5_correct, 6);
  EXPECT_DOUBLE_EQ(r.top1, 3.0 / 7);
  EXPECT_DOUBLE_EQ(r.top5, 6.0 / 7);
  std::vector<std::vector<int64_t>> confusion(6, std::vector<int64_t>(6, 0));
  confusion[0][0] = 1;
  confusion[2][1] = 1;
  confusion[5][5] = 1;
  confusion[5][0] = 1;
  confusion[3][0] = 1;
  confusion[2][2] = 1;
  confusion[1][3] = 1;
  EXPECT_EQ(r.confusion, confusion);
  const std::vector<std::pair<int64_t, int64_t>> per_class = {{1, 1}, {1, 0}, {2, 1},
                                                              {1, 0}, {0, 0}, {2, 1}};
  for (size_t c = 0; c < 6; ++c) {
    EXPECT_EQ(r.per_class[c].samples, per_class[c].first) << c;
    EXPECT_EQ(r.per_class[c].correct, per_class[c].second) << c;
  }
  EXPECT_FALSE(r.reference);
  // --limit takes the first samples only.
  eo.progress = nullptr;
  eo.limit = 4;
  EvalResult first4 = evaluate(model, "picker", *data, path, eo);
  EXPECT_EQ(first4.samples, 4);
  EXPECT_EQ(first4.top1_correct, 2);
  fs::remove(path);
}

TEST(Eval, AgreementWithAReference) {
  const std::string path = write_data("ref.npz", images_for(kLogits, 1), kLabels);
  auto model = picker(1);      // logit k = pixel (k + 1) % 6
  auto reference = picker(2);  // logit k = pixel (k + 2) % 6 = model's logit k + 1
  auto data = train::open_dataset(path);
  EvalResult r = evaluate(model, "picker", *data, path, {}, &reference, "shifted");
  ASSERT_TRUE(r.reference);
  // Naively: the reference's logits are the model's rotated by one class.
  int agree = 0;
  double kl = 0;
  for (const auto& l : kLogits) {
    std::vector<double> ref(6), mod(l.begin(), l.end());
    for (int k = 0; k < 6; ++k) ref[k] = l[(k + 1) % 6];
    auto arg = [](const std::vector<double>& v) {
      int b = 0;
      for (int k = 1; k < 6; ++k)
        if (v[k] > v[b]) b = k;
      return b;
    };
    agree += arg(ref) == arg(mod);
    double zr = 0, zm = 0;
    for (int k = 0; k < 6; ++k) {
      zr += std::exp(ref[k]);
      zm += std::exp(mod[k]);
    }
    for (int k = 0; k < 6; ++k) {
      const double p = std::exp(ref[k]) / zr, q = std::exp(mod[k]) / zm;
      kl += p * std::log(p / q);
    }
  }
  EXPECT_DOUBLE_EQ(r.reference->top1_agreement, agree / 7.0);
  EXPECT_NEAR(r.reference->mean_kl, kl / 7, 1e-9);
  EXPECT_EQ(r.reference->model, "shifted");
  // A model against itself agrees fully with zero divergence.
  auto same = picker(1);
  EvalResult self = evaluate(model, "picker", *data, path, {}, &same, "same");
  EXPECT_DOUBLE_EQ(self.reference->top1_agreement, 1.0);
  EXPECT_NEAR(self.reference->mean_kl, 0.0, 1e-12);
  fs::remove(path);
}

TEST(Eval, BadInputGivesOneLineReasons) {
  auto model = picker(1);
  // Image size: 1x3x3 samples for a 1x2x3 model, caught when opening (naming the file) and
  // by evaluate itself.
  const std::string wrong_size = write_data("size.npz", Tensor(DType::kF32, {2, 1, 3, 3}), {0, 1});
  train::DataOptions d;
  d.expected_sample_shape = {1, 2, 3};
  d.num_classes = kClasses;
  EXPECT_USER_ERROR(train::open_dataset(wrong_size, d), wrong_size);
  auto sized = train::open_dataset(wrong_size);
  EXPECT_USER_ERROR(evaluate(model, "picker", *sized, wrong_size), "size differ");
  // Channels: 3x2x3 samples.
  const std::string wrong_channels =
      write_data("channels.npz", Tensor(DType::kF32, {2, 3, 2, 3}), {0, 1});
  auto coloured = train::open_dataset(wrong_channels);
  EXPECT_USER_ERROR(evaluate(model, "picker", *coloured, wrong_channels), "channels differ");
  // A label beyond the model's 6 classes.
  const std::string bad_label = write_data("label.npz", Tensor(DType::kF32, {2, 1, 2, 3}), {0, 6});
  EXPECT_USER_ERROR(train::open_dataset(bad_label, d), "label 6 of sample 1 is out of range");
  auto seven = train::open_dataset(bad_label);  // 7 classes inferred
  EXPECT_USER_ERROR(evaluate(model, "picker", *seven, bad_label), "scores only 6");
  // Negative label.
  const std::string negative =
      write_data("negative.npz", Tensor(DType::kF32, {2, 1, 2, 3}), {0, -1});
  EXPECT_USER_ERROR(train::open_dataset(negative, d), "label -1");
  // Count mismatch: 3 labels for 2 images.
  const std::string count = write_data("count.npz", Tensor(DType::kF32, {2, 1, 2, 3}), {0, 1, 2});
  EXPECT_USER_ERROR(train::open_dataset(count, d), "3 labels for 2 samples");
  // A reference with another batch.
  auto ok = train::open_dataset(write_data("fine.npz", images_for(kLogits, 1), kLabels));
  auto other_batch = picker(1, 2);
  EXPECT_USER_ERROR(evaluate(model, "picker", *ok, "fine", {}, &other_batch, "b2"), "b2");
  EvalOptions neg;
  neg.limit = -1;
  EXPECT_USER_ERROR(evaluate(model, "picker", *ok, "fine", neg), "--limit");
  for (const auto& f :
       {wrong_size, wrong_channels, bad_label, negative, count, temp_file("fine.npz")})
    fs::remove(f);
}

// Issue 24: a score row holding NaN compares false with everything, so ranking it made the
// true class "top-1"; such rows are wrong and counted apart, out of the confusion matrix.
TEST(Eval, NonFiniteScoresAreNeverCorrect) {
  auto rows = kLogits;
  rows[0][3] = std::nanf("");  // label 0 was rank 0
  rows[2][1] = INFINITY;       // label 5 was rank 0
  const std::string path = write_data("nan.npz", images_for(rows, 1), kLabels);
  auto model = picker(1);
  auto data = train::open_dataset(path);
  EvalResult r = evaluate(model, "picker", *data, path);
  EXPECT_EQ(r.samples, 7);
  EXPECT_EQ(r.nonfinite, 2);
  EXPECT_EQ(r.top1_correct, 1);  // only sample 5 stays correct
  EXPECT_EQ(r.top5_correct, 4);
  EXPECT_DOUBLE_EQ(r.top1, 1.0 / 7);
  int64_t filed = 0;
  for (const auto& row : r.confusion)
    for (int64_t c : row) filed += c;
  EXPECT_EQ(filed, 5);
  EXPECT_EQ(r.confusion[0][0], 0);
  EXPECT_EQ(r.per_class[0].samples, 1);
  EXPECT_EQ(r.per_class[0].correct, 0);
  // All-NaN input: nothing is correct (this used to report top-1 = 1.0).
  Tensor nan_images(DType::kF32, {4, 1, 2, 3});
  for (int64_t i = 0; i < nan_images.numel(); ++i) nan_images.data<float>()[i] = std::nanf("");
  const std::string all_nan = write_data("allnan.npz", nan_images, {0, 0, 0, 0});
  auto nan_data = train::open_dataset(all_nan);
  EvalResult n = evaluate(model, "picker", *nan_data, all_nan);
  EXPECT_EQ(n.nonfinite, 4);
  EXPECT_EQ(n.top1_correct, 0);
  EXPECT_EQ(n.top1, 0.0);
  fs::remove(path);
  fs::remove(all_nan);
}

// A backend may turn a NaN input finite (oneDNN's ReLU and max pooling drop NaN), so a
// sample whose input holds NaN or an infinity is never correct either, whatever the scores
// say. Here the model never reads the second image row, where the NaN is.
TEST(Eval, NonFiniteInputsAreNeverCorrect) {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(value("input", {1, 1, 2, 3}));
  g.outputs.push_back(value("logits", {1, 3}));
  auto ints = [](std::vector<int64_t> v) {
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  };
  g.initializers["starts"] = ints({0});
  g.initializers["ends"] = ints({1});
  g.initializers["axes"] = ints({2});
  std::vector<float> eye(9, 0.0f);
  for (int k = 0; k < 3; ++k) eye[k * 3 + k] = 1.0f;
  g.initializers["w"] = Tensor::from_vector<float>({3, 3}, eye);
  g.nodes.push_back(ir::Node{.name = "top_row",
                             .op_type = "Slice",
                             .inputs = {"input", "starts", "ends", "axes"},
                             .outputs = {"row"}});
  g.nodes.push_back(
      ir::Node{.name = "flat", .op_type = "Flatten", .inputs = {"row"}, .outputs = {"f"}});
  g.nodes.push_back(
      ir::Node{.name = "pick", .op_type = "Gemm", .inputs = {"f", "w"}, .outputs = {"logits"}});
  g.validate_and_sort();
  runtime::Session model(g);
  Tensor x = Tensor::from_vector<float>({2, 1, 2, 3}, {9, 0, 0, 0, 0, 0,  //
                                                       9, 0, 0, std::nanf(""), 0, 0});
  const std::string path = write_data("nan-row.npz", x, {0, 0});
  auto data = train::open_dataset(path);
  EvalResult r = evaluate(model, "top-row", *data, path);
  EXPECT_EQ(r.samples, 2);
  EXPECT_EQ(r.nonfinite, 1);
  EXPECT_EQ(r.top1_correct, 1);
  fs::remove(path);
}

TEST(Eval, EmptyDataSetIsRefused) {
  const std::string path = write_data("empty.npz", Tensor(DType::kF32, {0, 1, 2, 3}), {});
  auto model = picker(1);
  try {
    auto data = train::open_dataset(path);
    EXPECT_USER_ERROR(evaluate(model, "picker", *data, path), "holds no samples");
  } catch (const frugal::UserError& e) {
    // Refused already when opening: the message must still name the file.
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::remove(path);
}
