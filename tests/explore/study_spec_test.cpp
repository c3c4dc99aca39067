#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "frugal/compress/methods.h"
#include "frugal/explore/study.h"

using namespace frugal::explore;

namespace {
std::set<std::string> values(const std::vector<Point>& points, const std::string& model,
                             std::string (*field)(const Point&)) {
  std::set<std::string> s;
  for (const auto& p : points)
    if (p.model.label == model) s.insert(field(p));
  return s;
}
std::string transform_of(const Point& p) {
  return p.transform.label;
}
std::string backend_of(const Point& p) {
  return p.backend;
}
}  // namespace

// The transform axis is the compress pipeline's list: every method reaches every model, the
// trained ones fine-tuned after pruning and calibrated on data, the zoo ones not.
TEST(StudySpec, EveryCompressMethodOnEveryModel) {
  SweepSpec spec = parse_sweep_spec(study_spec_yaml(false), "study", "");
  const size_t methods = frugal::compress::study_methods().size();
  for (const char* model : {"lenet5", "resnet8_fmnist", "mobilenet_fmnist", "squeezenet1_1",
                            "mobilenet_v2", "resnet18"}) {
    auto t = values(spec.points, model, transform_of);
    EXPECT_EQ(t.size(), methods + 1) << model;
    EXPECT_TRUE(t.count("none")) << model;
  }
  for (const auto& p : spec.points) {
    if (p.train) continue;  // training points: their own test below
    bool trained = !p.model.data.empty();
    for (const auto& step : p.transform.steps) {
      if (step.find("--quant") != std::string::npos) {
        EXPECT_NE(step.find(trained ? "--calib-data fashion-mnist" : "--calibration random:"),
                  std::string::npos)
            << p.key() << ": " << step;
      }
      if (step.rfind("train ", 0) == 0) {
        EXPECT_TRUE(trained) << p.key();
      }
    }
    if (trained) {
      EXPECT_EQ(p.model.limit, 0) << "all 10,000 test images: " << p.key();
    }
    // Compressed models run on the engine they are made for.
    bool quantized = p.transform.label.find("int8") != std::string::npos;
    if (p.transform.label != "none") {
      EXPECT_EQ(p.precision, quantized ? "int8" : "fp32") << p.key();
    }
  }
}

TEST(StudySpec, DevicesAndPipelines) {
  SweepSpec spec = parse_sweep_spec(study_spec_yaml(false), "study", "");
  auto b = values(spec.points, "resnet18", backend_of);
  EXPECT_TRUE(b.count("cpu,ref"));
  EXPECT_TRUE(b.count("cpu,ref"));
  std::set<std::string> cpu_engines, ks;
  for (const auto& p : spec.points) {
    if (p.model.label == "lenet5" && p.backend == "cpu,ref" && !p.pipelined())
      cpu_engines.insert(p.precision + " t" + std::to_string(p.threads));
    if (p.pipelined()) ks.insert(p.devices + " " + std::to_string(p.stages));
  }
  EXPECT_EQ(cpu_engines, (std::set<std::string>{"fp32 t1", "fp32 t2", "bf16 t1", "bf16 t2",
                                                "int8 t1", "int8 t2"}));
  EXPECT_EQ(ks, (std::set<std::string>{"host-cores 1", "host-cores 2", "edgetpu-x8 1",
                                       "edgetpu-x8 2", "edgetpu-x8 4"}));
}

TEST(StudySpec, TrainingFormatsOnLeNet5) {
  std::set<std::string> formats;
  for (const auto& p : parse_sweep_spec(study_spec_yaml(false), "study", "").points)
    if (p.train) formats.insert(p.key());
  EXPECT_EQ(formats.size(), 12u);
  EXPECT_EQ(std::count_if(formats.begin(), formats.end(),
                          [](const std::string& k) {
                            return k.find("|train|e4m3|acc=fp32|stochastic|") != std::string::npos;
                          }),
            1);
}

TEST(StudySpec, QuickIsSmaller) {
  auto full = parse_sweep_spec(study_spec_yaml(false), "study", "").points.size();
  auto quick = parse_sweep_spec(study_spec_yaml(true), "study --quick", "").points.size();
  EXPECT_LT(quick, full / 2);
  EXPECT_GT(quick, 10u);
}

// What the compress pipeline lists for the study: unique labels, each a valid pipeline whose
// options `frugal compress` takes.
TEST(StudySpec, CompressMethodsAreValidPipelines) {
  std::set<std::string> labels;
  for (const auto& m : frugal::compress::study_methods()) {
    EXPECT_TRUE(labels.insert(m.label).second) << m.label;
    EXPECT_NO_THROW(frugal::compress::make_pipeline(m.spec)) << m.label;
    EXPECT_FALSE(m.compress_args().empty()) << m.label;
  }
  EXPECT_GE(labels.size(), 5u);
}

// Each fine-tuning pass trains on as many images as its method's recipe asks (fewer after
// the light compressions), and every pruned-90% variant shares one pass (one cached step).
TEST(StudySpec, FineTuningImagesFollowTheRecipe) {
  SweepSpec spec = parse_sweep_spec(study_spec_yaml(false), "study", "");
  std::set<std::string> steps, limits, asked;
  for (const auto& p : spec.points) {
    if (p.model.label != "resnet8_fmnist") continue;
    for (const auto& step : p.transform.steps)
      if (step.rfind("train ", 0) == 0) {
        steps.insert(step);
        limits.insert(step.substr(step.rfind("--limit ") + 8));
      }
  }
  size_t fine_tuned = 0;
  for (const auto& m : frugal::compress::study_methods()) {
    if (!m.needs().fine_tuning) continue;
    ++fine_tuned;
    asked.insert(std::to_string(m.fine_tune_images));
  }
  EXPECT_EQ(limits, asked);
  EXPECT_EQ(fine_tuned, 6u);
  EXPECT_EQ(steps.size(), 3u);  // prune50, prune90 (shared by three methods), low-rank (two)
}
