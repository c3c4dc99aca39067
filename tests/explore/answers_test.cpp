#include <gtest/gtest.h>

#include "frugal/explore/answers.h"
#include "frugal/kernels/backend.h"

using namespace frugal::explore;

namespace {

struct Row {
  std::string model = "cnn", transform = "none", backend = "cpu,ref", precision = "fp32";
  int threads = 1, batch = 1;
  std::optional<double> top1 = 0.9;
  double p50 = 1.0, samples = 1000, joules = 0.01, bytes = 1000;
  std::string energy_kind = "measured";
  // Pipelines and training points.
  std::string devices;
  int stages = 1;
  bool estimate = false;
  std::string train_format;
  bool train = false;
};

// An accelerator backend as the answers see one: `auto` ranks it before the CPU. Registered
// for these tests only (never built: no point runs here), so the GPU path is tested on
// machines without a GPU.
const std::string& test_gpu() {
  static const std::string name = [] {
    frugal::kernels::BackendTraits t;
    t.auto_rank = frugal::kernels::backend_traits("cpu").auto_rank - 1;
    t.available = [] { return false; };  // so that no session ever picks it
    frugal::kernels::register_backend(
        "answers_test_gpu", [](const frugal::kernels::BackendConfig&) { return nullptr; }, t);
    return std::string("answers_test_gpu");
  }();
  return name;
}

RecordRow make(const Row& r) {
  nlohmann::json model{{"label", r.model}};
  if (r.top1) model["data"] = "fashion-mnist:test";
  nlohmann::json spec{{"model", model},       {"transform", {{"label", r.transform}}},
                      {"backend", r.backend}, {"precision", r.precision},
                      {"threads", r.threads}, {"batch", r.batch}};
  if (r.train) {
    spec["format"] = r.train_format;
    spec["train"] = {{"accumulator", "fp32"}, {"rounding", "nearest"}};
  }
  nlohmann::json results{{"latency", {{"p50_ms", r.p50}}},
                         {"throughput", {{"samples_per_s", r.samples}}},
                         {"energy", {{"kind", r.energy_kind}, {"joules_per_inference", r.joules}}},
                         {"memory", {{"encoded_bytes", r.bytes}}}};
  if (r.top1) results["accuracy"] = {{"top1", *r.top1}};
  if (r.estimate) results["throughput"]["estimate"] = true;
  if (r.train)  // the sweep's cost-model figure (train_point.cpp): wider formats cost more
    results["training"] = {
        {"mac_cost",
         {{"energy_pj", r.train_format.empty() ? 4.6 : r.train_format.size() / 10.0},
          {"relative_area", 0.1}}}};
  nlohmann::json what = nlohmann::json::object();
  if (!r.devices.empty())
    what = {{"stages", r.stages}, {"devices", r.devices}, {"partition", "optimal"}};
  std::string key = r.model + "|" + r.transform + "|" + r.backend + "|" + r.precision + "|" +
                    std::to_string(r.threads) + "|" + r.devices + std::to_string(r.stages) +
                    r.train_format;
  nlohmann::json where{{"gpu", nullptr}};
  if (r.backend.rfind(test_gpu(), 0) == 0) where["gpu"] = "Test GPU";
  return summarize_record(key, {{"results", results}, {"what", what}, {"where", where}}, spec);
}

const Answer& find(const std::vector<Answer>& answers, const std::string& id) {
  for (const auto& a : answers)
    if (a.id == id) return a;
  throw std::runtime_error("no answer " + id);
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST(Answers, FourInOrderEvenWithoutRows) {
  auto answers = study_answers({});
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0].id, "gpu");
  EXPECT_EQ(answers[1].id, "compression");
  EXPECT_EQ(answers[2].id, "pipeline");
  EXPECT_EQ(answers[3].id, "training");
  for (const auto& a : answers) {
    EXPECT_TRUE(has(a.sentence, "no answer from these rows")) << a.id << ": " << a.sentence;
    EXPECT_TRUE(a.rows.empty());
  }
}

TEST(Answers, NoGpuGivesTheFastestCpuConfigurationWithinOnePoint) {
  Row accurate, faster_but_worse, slow;
  accurate.p50 = 2.0;
  accurate.top1 = 0.905;
  faster_but_worse.p50 = 0.5;  // 4 points below the best: not "as accurate"
  faster_but_worse.top1 = 0.865;
  faster_but_worse.transform = "prune90";
  slow.p50 = 3.0;
  slow.top1 = 0.91;
  slow.threads = 2;
  auto a = find(study_answers({make(accurate), make(faster_but_worse), make(slow)}), "gpu");
  EXPECT_TRUE(has(a.sentence, "No GPU on this machine")) << a.sentence;
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0][1], "cpu");
  EXPECT_EQ(a.rows[0][2], "none, cpu fp32, 1 thread");
  EXPECT_EQ(a.rows[0][3], "90.50 %");
  EXPECT_EQ(a.rows[0].back(), "measured");
}

TEST(Answers, GpuAgainstCpuPerModel) {
  Row cpu, gpu, cpu2, gpu2;
  cpu.p50 = 0.4;
  gpu.backend = test_gpu() + ",cpu";
  gpu.p50 = 0.9;
  cpu2.model = cpu2.model = "resnet";
  cpu2.p50 = 9;
  cpu2.top1.reset();
  gpu2.model = "resnet";
  gpu2.backend = test_gpu();
  gpu2.p50 = 1;
  gpu2.top1.reset();
  gpu2.energy_kind = "estimated";
  auto a = find(study_answers({make(cpu), make(gpu), make(cpu2), make(gpu2)}), "gpu");
  EXPECT_TRUE(has(a.sentence, "for 1 of 2 models (cnn)")) << a.sentence;
  EXPECT_TRUE(has(a.sentence, "the GPU is faster for resnet")) << a.sentence;
  ASSERT_EQ(a.rows.size(), 4u);
  EXPECT_EQ(a.rows[3][1], test_gpu());
  EXPECT_EQ(a.rows[3][3], "random weights: no accuracy");
  EXPECT_EQ(a.rows[3].back(), "measured; energy estimated");
}

TEST(Answers, CompressionAgainstTheUncompressedModelOnTheSameEngine) {
  Row base, base2, pruned, int8, other_engine;
  base.top1 = 0.90;
  base.bytes = 10000;
  base.p50 = 2.0;
  base2 = base;
  base2.threads = 2;
  base2.p50 = 1.2;
  pruned.transform = "prune90";
  pruned.top1 = 0.895;
  pruned.bytes = 2000;
  pruned.p50 = 1.0;
  pruned.threads = 2;  // held against base2
  int8.transform = "int8";
  int8.precision = "int8";
  int8.top1 = 0.85;  // smaller still, but 5 points lost
  int8.bytes = 1000;
  int8.p50 = 0.5;
  other_engine.transform = "cluster";
  other_engine.backend = "emu,ref";  // no uncompressed row on emu: left out
  auto a =
      find(study_answers({make(base), make(base2), make(pruned), make(int8), make(other_engine)}),
           "compression");
  ASSERT_EQ(a.rows.size(), 2u);
  EXPECT_EQ(a.rows[0][1], "int8");
  EXPECT_EQ(a.rows[0][3], "85.00 % (-5.00 pts)");
  EXPECT_EQ(a.rows[1][1], "prune90");
  EXPECT_EQ(a.rows[1][4], "2000 (0.2×)");
  EXPECT_EQ(a.rows[1][5], "1 (0.83×)");
  EXPECT_TRUE(has(a.sentence, "cnn prune90 (5× smaller, -0.50 top-1 points, latency ×0.83)"))
      << a.sentence;
}

TEST(Answers, PipelineBestKForThroughputAndEnergy) {
  std::vector<RecordRow> rows;
  for (int k : {1, 2, 4}) {
    Row r;
    r.devices = "edgetpu-x8";
    r.stages = k;
    r.estimate = true;
    r.samples = k == 2 ? 900 : 100 * k;
    r.joules = 0.001 * k;
    rows.push_back(make(r));
  }
  Row one;
  one.model = "resnet";
  one.devices = "host-cores";
  rows.push_back(make(one));
  auto a = find(study_answers(rows), "pipeline");
  ASSERT_EQ(a.rows.size(), 4u);
  EXPECT_EQ(a.rows[0].back(), "estimated (simulated)");
  EXPECT_TRUE(has(a.sentence, "cnn on edgetpu-x8: K=2 for throughput, K=1 for energy (estimated)"))
      << a.sentence;
  EXPECT_FALSE(has(a.sentence, "resnet")) << "one K only: no finding";
}

// A measured pipeline whose energy comes from the cost model says so for the energy alone.
TEST(Answers, PipelineLabelsMeasuredSpeedAndEstimatedEnergyApart) {
  std::vector<RecordRow> rows;
  for (int k : {1, 2}) {
    Row r;
    r.devices = "host-cores";
    r.stages = k;
    r.energy_kind = "estimated";
    r.samples = 100.0 * k;
    r.joules = 0.001 * k;
    rows.push_back(make(r));
  }
  auto a = find(study_answers(rows), "pipeline");
  EXPECT_TRUE(has(a.sentence,
                  "cnn on host-cores: K=2 for throughput (measured), K=1 for energy (estimated)"))
      << a.sentence;
}

TEST(Answers, TrainingFormatCheapestWithinOnePointOfTheBest) {
  Row fp32, e4m3, e2m1;
  for (Row* r : {&fp32, &e4m3, &e2m1}) r->train = true;
  fp32.top1 = 0.86;
  e4m3.train_format = "W=e4m3,A=e4m3";
  e4m3.top1 = 0.855;
  e2m1.train_format = "W=e2m1,A=e2m1";
  e2m1.top1 = 0.60;
  auto answers = study_answers({make(fp32), make(e4m3), make(e2m1)});
  auto a = find(answers, "training");
  ASSERT_EQ(a.rows.size(), 3u);
  EXPECT_EQ(a.rows[0][1], "fp32");
  EXPECT_EQ(a.rows[2][1], "W=e2m1,A=e2m1");
  EXPECT_TRUE(has(a.rows[0].back(), "estimated (cost model)"));
  EXPECT_TRUE(has(a.sentence, "best top-1 is 86.00 % (fp32)")) << a.sentence;
  EXPECT_TRUE(has(a.sentence, "cheapest MAC is W=e4m3,A=e4m3")) << a.sentence;
  // Training points are not inference rows.
  EXPECT_TRUE(find(answers, "gpu").rows.empty());
}

TEST(Answers, HtmlSectionEscapesAndLabels) {
  Row r;
  r.model = "a<b>";
  r.energy_kind = "estimated";
  std::string html = render_answers_html(study_answers({make(r)}));
  EXPECT_EQ(html.rfind("<section id=\"answers\">", 0), 0u);
  EXPECT_TRUE(has(html, "a&lt;b&gt;"));
  EXPECT_FALSE(has(html, "a<b>"));
  EXPECT_TRUE(has(html, "<td class=\"t estimated\">measured; energy estimated</td>"));
  size_t divs = 0;
  for (size_t at = html.find("<div class=\"answer\""); at != std::string::npos;
       at = html.find("<div class=\"answer\"", at + 1))
    ++divs;
  EXPECT_EQ(divs, 4u);
  std::string text = render_answers_text(study_answers({make(r)}));
  EXPECT_TRUE(
      has(text, "Is a GPU still needed once the network is pruned and quantized?\n  No GPU"));
}
