// frugal eval MODEL --data SPEC: accuracy over a labelled data set (top-1/top-5, per
// class, confusion) and agreement with a reference model. Parses and prints;
// measure/workflows.h (run_eval) does the work.
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/measure/workflows.h"

namespace frugal::cli {
namespace {

struct EvalArgs {
  std::string model;
  std::string data;
  int64_t limit = 0;
  std::string reference;
  EngineArgs engine;
  double scale = -1;  // < 0: the loader's default
  std::string mean, std;
  int64_t resize = 0;
  std::string crop;
  int channels = 3;
  std::string npz_inputs = "x", npz_labels = "y";
  std::string datasets_root = "/usr/share/datasets";
  bool json = false;
};

std::vector<float> parse_floats(const std::string& text, const std::string& option) {
  std::vector<float> v;
  if (text.empty()) return v;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      v.push_back(std::stof(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UserError(option + " " + text + ": '" + part + "' is not a number");
    }
  }
  return v;
}

train::DataOptions data_options(const EvalArgs& a) {
  train::DataOptions d;
  if (a.scale >= 0) d.preprocess.scale = a.scale;
  if (a.scale == 0) throw UserError("--scale: must be positive");
  d.preprocess.mean = parse_floats(a.mean, "--mean");
  d.preprocess.std = parse_floats(a.std, "--std");
  d.resize = a.resize;
  if (a.resize < 0) throw UserError("--resize: must be 0 (none) or positive");
  if (!a.crop.empty()) {
    const Shape c = parse_shape(a.crop, "--crop");
    if (c.size() == 1)
      d.crop_h = d.crop_w = c[0];
    else if (c.size() == 2)
      d.crop_h = c[0], d.crop_w = c[1];
    else
      throw UserError("--crop " + a.crop + ": expected N or HxW");
  }
  if (a.channels != 1 && a.channels != 3) throw UserError("--channels: must be 1 or 3");
  d.channels = a.channels;
  d.inputs_key = a.npz_inputs;
  d.labels_key = a.npz_labels;
  d.datasets_root = a.datasets_root;
  return d;
}

void eval_model(const EvalArgs& a) {
  measure::EvalSettings s;
  s.data = a.data;
  s.data_options = data_options(a);
  s.limit = a.limit;
  s.reference = a.reference;
  const bool progress_line = isatty(STDERR_FILENO) != 0;
  if (progress_line)
    s.progress = [](int64_t done, int64_t total) {
      std::fprintf(stderr, "\r  %lld / %lld samples   ", static_cast<long long>(done),
                   static_cast<long long>(total));
      std::fflush(stderr);
    };
  const measure::EvalRun run = measure::run_eval({nullptr, a.model, ""}, a.engine, s);
  if (progress_line) std::fprintf(stderr, "\r\033[K");
  if (a.json) {
    print_json(run.record);
    return;
  }
  const measure::EvalResult& r = run.result;
  const runtime::SessionOptions& opt = run.options;
  std::printf("frugal eval %s\n", a.model.c_str());
  std::printf("data       %s\n", r.data.c_str());
  std::printf("backend    %s, %d thread%s, batch %lld\n", backend_list(opt).c_str(),
              a.engine.threads, a.engine.threads == 1 ? "" : "s", static_cast<long long>(r.batch));
  std::printf("samples    %lld\n", static_cast<long long>(r.samples));
  std::printf("top-1      %.4f (%lld correct)\n", r.top1, static_cast<long long>(r.top1_correct));
  std::printf("top-%lld      %.4f (%lld correct)\n",
              static_cast<long long>(std::min<int64_t>(5, r.classes)), r.top5,
              static_cast<long long>(r.top5_correct));
  if (r.nonfinite > 0)
    std::printf("non-finite %lld samples whose scores hold NaN or Inf (counted wrong)\n",
                static_cast<long long>(r.nonfinite));
  std::printf("throughput %.1f samples/s (%.3f s, data loading included)\n", r.samples_per_s,
              r.seconds);
  if (r.reference)
    std::printf("reference  %s: top-1 agreement %.4f, mean KL(ref || model) %.6g nats\n",
                r.reference->model.c_str(), r.reference->top1_agreement, r.reference->mean_kl);
  Table t({"class", "samples", "top-1"});
  for (const auto& c : r.per_class)
    if (c.samples > 0) {
      char b[16];
      std::snprintf(b, sizeof(b), "%.4f", c.top1());
      t.add({std::to_string(c.cls), std::to_string(c.samples), b});
    }
  std::printf("\nper class\n%s", t.str().c_str());
  if (r.classes <= 20) {
    std::printf("\nconfusion (row: true class, column: predicted)\n");
    std::vector<std::string> head{"true\\pred"};
    for (int64_t c = 0; c < r.classes; ++c) head.push_back(std::to_string(c));
    Table ct(head);
    for (int64_t i = 0; i < r.classes; ++i) {
      std::vector<std::string> row{std::to_string(i)};
      for (int64_t v : r.confusion[static_cast<size_t>(i)]) row.push_back(std::to_string(v));
      ct.add(row);
    }
    std::printf("%s", ct.str().c_str());
  } else {
    std::printf("(confusion matrix of %lld classes: --json)\n", static_cast<long long>(r.classes));
  }
}

void setup(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* sub = app.add_subcommand("eval", "Accuracy of a classifier over a labelled data set");
  sub->footer(
      "Data specs: fashion-mnist[:train|:test] (/usr/share/datasets, IDX .gz), "
      "idx:IMAGES,LABELS, npy:INPUTS.npy,LABELS.npy, npz:FILE.npz, folder:DIR (a class per "
      "sub-folder, PNG/JPEG).\n"
      "Preprocessing, in this order: folder images resized (shorter side, bilinear) and "
      "centre-cropped; x * scale (default 1/255 for 8-bit pixels, 1 otherwise); then "
      "(x - mean[c]) / std[c] (default none). IDX data is not normalised unless asked.\n"
      "Examples:\n"
      "  frugal eval lenet5.onnx --data fashion-mnist:test\n"
      "  frugal eval small.onnx --data fashion-mnist --reference big.onnx --batch 64 --json\n"
      "  frugal eval resnet18.onnx --data folder:imgs --resize 256 --crop 224 "
      "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --backend cpu,ref\n"
      "See docs/eval.md.");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("--data", a->data, "data set spec (see below)")->required();
  sub->add_option("--limit", a->limit, "evaluate the first N samples only");
  sub->add_option("--reference", a->reference,
                  "reference model: top-1 agreement and mean KL of softmax outputs (runs in fp32 "
                  "on the same backends)");
  add_engine_options(sub, a->engine);
  sub->add_option("--scale", a->scale, "multiply pixels by this (default 1/255 for 8-bit data)");
  sub->add_option("--mean", a->mean, "per-channel mean(s) subtracted after scaling: M or M1,M2,M3");
  sub->add_option("--std", a->std, "per-channel std(s) divided by after the mean: S or S1,S2,S3");
  sub->add_option("--resize", a->resize, "image folders: resize the shorter side to N");
  sub->add_option("--crop", a->crop, "image folders: centre crop N or HxW");
  sub->add_option("--channels", a->channels, "image folders: 3 (RGB, default) or 1 (grey)");
  sub->add_option("--npz-inputs", a->npz_inputs, "NPZ array of inputs (default x)");
  sub->add_option("--npz-labels", a->npz_labels, "NPZ array of labels (default y)");
  sub->add_option("--datasets-root", a->datasets_root,
                  "where named data sets live (default /usr/share/datasets)");
  sub->add_flag("--json", a->json, "print exactly one Record (docs/record.md)");
  sub->callback([a] { eval_model(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(eval, 45, setup);

}  // namespace frugal::cli
