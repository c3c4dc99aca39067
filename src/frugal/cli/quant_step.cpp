#include "frugal/cli/quant_step.h"

#include <unistd.h>

#include <cstdio>
#include <memory>

#include "frugal/cli/common.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/core/error.h"
#include "frugal/core/npy.h"
#include "frugal/core/strings.h"
#include "frugal/measure/eval.h"
#include "frugal/runtime/session.h"
#include "frugal/train/data/dataset.h"

namespace frugal::cli {
namespace {

constexpr int64_t kDefaultSamples = 512;
constexpr int64_t kFewSamples = 100;  // below this, a warning

// The model's single image-like input: name and shape with the batch dimension free.
struct ModelInput {
  std::string name;
  Shape shape;  // batch 1
  bool batch_dynamic = true;
};

ModelInput model_input(const ir::Graph& g, const std::string& origin) {
  runtime::SessionOptions o;
  o.origin = origin;
  runtime::Session s(g, o);
  if (s.inputs().size() != 1)
    throw UserError(origin + ": --quant calibration needs a model with one input (it has " +
                    std::to_string(s.inputs().size()) + ")");
  ModelInput m{s.inputs()[0].name, s.inputs()[0].shape, true};
  for (const auto& vi : g.inputs)
    if (vi.name == m.name && vi.shape && !vi.shape->empty() && (*vi.shape)[0].known())
      m.batch_dynamic = false;
  return m;
}

std::string data_origin(const QuantArgs& a) {
  if (!a.calib_data.empty()) return a.calib_data;
  if (a.data == "fashion-mnist" || a.data == "fashion-mnist:test") return "fashion-mnist:train";
  return a.data;
}

std::unique_ptr<train::Dataset> open_for(const std::string& spec, const QuantArgs& a,
                                         const Shape& input_shape, int64_t classes) {
  train::DataOptions d;
  d.datasets_root = a.datasets_root;
  if (input_shape.size() == 4) d.expected_sample_shape = {input_shape[1], input_shape[2], input_shape[3]};
  if (input_shape.size() == 4) d.channels = static_cast<int>(input_shape[1] == 1 ? 1 : 3);
  d.num_classes = classes;
  return train::open_dataset(spec, d);
}

struct Calibration {
  std::vector<std::vector<Tensor>> batches;
  int64_t batch = 1;
  int64_t samples = 0;
  std::string source;
};

Calibration calibration_batches(const ir::Graph& g, const std::string& origin, const QuantArgs& a,
                                const compress::QuantSpec& spec, int64_t classes) {
  const ModelInput in = model_input(g, origin);
  Calibration c;
  const int64_t wanted = spec.samples > 0 ? spec.samples : kDefaultSamples;
  if (!a.calibration.empty()) {
    c.source = a.calibration;
    if (a.calibration.rfind("random:", 0) == 0) {
      const std::string rest = a.calibration.substr(7);
      const std::string count = rest.substr(0, rest.find(':'));
      if (count.empty() || count.size() > 5 || count.find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(count) < 1)
        throw UserError("--calibration: '" + a.calibration + "' is not random:N[:SEED] (N 1..99999)");
      const std::string seed = rest.find(':') == std::string::npos ? "1" : rest.substr(rest.find(':') + 1);
      if (seed.empty() || seed.size() > 18 || seed.find_first_not_of("0123456789") != std::string::npos)
        throw UserError("--calibration: '" + a.calibration + "': SEED must be a number");
      runtime::Session::Port port{in.name, DType::kF32, in.shape};
      for (int64_t i = 0; i < std::stoll(count); ++i)
        c.batches.push_back({make_input("random:" + std::to_string(std::stoull(seed) + static_cast<uint64_t>(i)), port)});
      c.samples = std::stoll(count);
      return c;
    }
    int64_t batch = -1;
    for (const auto& f : split(a.calibration, ',')) {
      if (!f.ends_with(".npy"))
        throw UserError("--calibration: '" + f + "' is not random:N[:SEED] or a list of .npy files");
      Tensor t = read_npy(f);
      if (t.dtype() != DType::kF32) t = t.cast(DType::kF32);
      bool fits = t.rank() == static_cast<int64_t>(in.shape.size()) && t.rank() > 0;
      for (int64_t d = 1; fits && d < t.rank(); ++d) fits = t.dim(d) == in.shape[static_cast<size_t>(d)];
      if (!fits)
        throw UserError("--calibration: " + f + " has shape " + shape_str(t.shape()) +
                        " but model input '" + in.name + "' is " + shape_str(in.shape) +
                        " (any batch)");
      if (batch >= 0 && t.dim(0) != batch)
        throw UserError("--calibration: " + f + " holds " + std::to_string(t.dim(0)) +
                        " samples, the first file " + std::to_string(batch) + " (all files need the same batch)");
      if (!in.batch_dynamic && t.dim(0) != in.shape[0])
        throw UserError("--calibration: " + f + " holds " + std::to_string(t.dim(0)) +
                        " samples but the model's batch is fixed at " + std::to_string(in.shape[0]));
      batch = t.dim(0);
      c.samples += t.dim(0);
      c.batches.push_back({t});
    }
    c.batch = batch;
    return c;
  }
  if (a.data.empty())
    throw UserError("--quant " + a.spec + ": needs calibration data; add --data D, "
                    "--calibration a.npy,... or --calibration random:N");
  c.source = data_origin(a);
  auto data = open_for(c.source, a, in.shape, classes);
  const int64_t n = std::min(wanted, data->size());
  c.batch = in.batch_dynamic ? std::min<int64_t>(32, n) : in.shape[0];
  const int64_t count = std::max<int64_t>(1, n / c.batch);
  // Evenly spaced samples over the whole set, so that every class is seen.
  const int64_t total = count * c.batch;
  std::vector<int64_t> idx(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) idx[static_cast<size_t>(i)] = i * data->size() / total;
  for (int64_t b = 0; b < count; ++b) {
    Tensor images, labels;
    data->get_batch(std::span<const int64_t>(idx).subspan(static_cast<size_t>(b * c.batch),
                                                         static_cast<size_t>(c.batch)),
                    images, labels);
    c.batches.push_back({images});
  }
  c.samples = total;
  return c;
}

double top1(const ir::Graph& g, const std::string& name, runtime::SessionOptions opt,
            const train::Dataset& data, const std::string& data_spec, const QuantArgs& a) {
  opt.origin = name;
  runtime::Session s(g, opt);
  measure::EvalOptions eo;
  eo.limit = a.limit;
  if (isatty(STDERR_FILENO)) {
    std::fprintf(stderr, "  evaluating %s\n", name.c_str());
  }
  return measure::evaluate(s, name, data, data_spec, eo).top1;
}

}  // namespace

void add_quant_options(CLI::App& sub, QuantArgs& a) {
  sub.add_option("--quant", a.spec,
                 "int8[:per-channel|per-tensor][,calib=minmax|percentile[:P]|mse|entropy]"
                 "[,samples=N][,sym|asym][,bias-correct][,cle] | int8:dynamic | int4[:group=32|64|128]");
  sub.add_option("--data", a.data,
                 "labelled data: accuracy before/after (fashion-mnist: test split), and calibration "
                 "(fashion-mnist: train split) unless --calib-data or --calibration");
  sub.add_option("--calib-data", a.calib_data, "calibration data set spec (default: see --data)");
  sub.add_option("--calibration", a.calibration,
                 "calibration inputs instead of a data set: a.npy,b.npy (batches, NCHW) or "
                 "random:N[:SEED] (says nothing of accuracy)");
  sub.add_option("--limit", a.limit, "evaluate the first N samples only (0: all)");
  sub.add_option("--threads", a.threads, "compute threads for evaluation (default 1)");
  sub.add_option("--datasets-root", a.datasets_root,
                 "where named data sets live (default /usr/share/datasets)");
}

QuantStep apply_quant_step(const ir::Graph& graph, const std::string& origin, const QuantArgs& a) {
  if (a.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  if (a.threads < 1) throw UserError("--threads: must be 1 or more");
  if (a.spec.empty()) throw UserError("--quant: required (e.g. int8, int8,calib=entropy, int4)");
  QuantStep step;
  step.spec = compress::parse_quant_spec(a.spec);
  if (!a.calibration.empty() && !a.calib_data.empty())
    throw UserError("--calibration and --calib-data: give one calibration source");

  int64_t classes = 0;
  {
    runtime::Session s(graph, runtime::SessionOptions{.origin = origin});
    if (!s.outputs().empty() && s.outputs()[0].shape.size() >= 2) classes = s.outputs()[0].shape[1];
  }
  Calibration calib;
  runtime::SessionOptions base;
  base.backends = {"cpu", "ref"};
  base.threads = a.threads;
  base.origin = origin;
  if (step.spec.needs_calibration() || step.spec.bias_correct) {
    calib = calibration_batches(graph, origin, a, step.spec, classes);
    base.infer.batch = calib.batch;
    if (calib.samples < kFewSamples) {
      step.warnings.push_back("calibration uses only " + std::to_string(calib.samples) +
                              " samples (fewer than " + std::to_string(kFewSamples) +
                              "): ranges may miss the data's extremes");
    }
  }
  compress::QuantSpec spec = step.spec;
  spec.keep_float = a.keep_float;
  spec.samples = 0;  // calibration_batches already took that many
  step.result = compress::quantize(graph, spec, calib.batches, base);
  step.report = compress::quant_report_json(step.result, step.spec);
  if (!calib.source.empty()) {
    step.report["calibration_source"] = calib.source;
    step.report["calibration_samples"] = calib.samples;
  }

  if (!a.data.empty()) {
    int64_t eval_batch = 64;
    const ModelInput in = model_input(graph, origin);
    if (!in.batch_dynamic) eval_batch = in.shape[0];
    auto data = open_for(a.data, a, in.shape, classes);
    runtime::SessionOptions fp32;
    fp32.backends = {"cpu", "ref"};
    fp32.threads = a.threads;
    fp32.infer.batch = eval_batch;
    nlohmann::ordered_json acc;
    acc["data"] = a.data;
    acc["samples"] = a.limit > 0 ? std::min(a.limit, data->size()) : data->size();
    if (!a.skip_fp32_accuracy) acc["fp32"] = top1(graph, origin, fp32, *data, a.data, a);
    acc["fake_quant"] = top1(step.result.graph, origin + " (quantized, run in float32)", fp32, *data, a.data, a);
    if (step.spec.kind == compress::QuantSpec::Kind::kStatic8) {
      runtime::SessionOptions int8 = fp32;
      int8.backends = {"cpu:int8", "cpu", "ref"};
      int8.backend_config.ranges = step.result.ranges.ranges;
      for (const auto& node : a.keep_float) int8.node_backends[node] = {"cpu", "ref"};
      acc["true_int8"] = top1(step.result.prepared, origin + " (cpu:int8)", int8, *data, a.data, a);
    } else if (step.spec.kind == compress::QuantSpec::Kind::kDynamic8) {
      acc["note"] = "dynamic: the fake-quant run computes MatMulInteger in integers (ref kernel)";
    }
    step.report["accuracy"] = acc;
  }
  step.report["warnings"] = step.warnings;
  return step;
}

namespace {
std::string pct(const nlohmann::ordered_json& v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f%%", 100.0 * v.get<double>());
  return b;
}
std::string stem(const std::string& out) {
  return out.size() > 5 && out.compare(out.size() - 5, 5, ".onnx") == 0 ? out.substr(0, out.size() - 5)
                                                                       : out;
}
}  // namespace

std::string ranges_path(const std::string& onnx_out) { return stem(onnx_out) + ".ranges.json"; }
std::string precision_path(const std::string& onnx_out) {
  return stem(onnx_out) + ".precision.json";
}

void print_quant_step(const QuantStep& step, const std::string& ranges_file) {
  if (step.report.contains("calibration"))
    std::printf("calibrated %s on %lld samples of %s (%zu value ranges%s)\n",
                step.result.ranges.method.c_str(),
                static_cast<long long>(step.report["calibration_samples"].get<int64_t>()),
                step.report["calibration_source"].get<std::string>().c_str(),
                step.result.ranges.ranges.size(),
                ranges_file.empty() ? "" : (", saved to " + ranges_file).c_str());
  Table t({"node", "op", "precision", "weight bytes", "quantized", "input range"});
  for (const auto& l : step.result.layers) {
    std::string r = "-";
    if (l.input_range) {
      char b[64];
      std::snprintf(b, sizeof(b), "[%.4g, %.4g]", l.input_range->min, l.input_range->max);
      r = b;
    }
    t.add({l.node, l.op_type, l.precision, with_commas(l.weight_bytes_before),
           with_commas(l.weight_bytes_after), r});
  }
  std::printf("\n%s", t.str().c_str());
  std::printf("total weight bytes %s -> %s\n", with_commas(step.result.weight_bytes_before).c_str(),
              with_commas(step.result.weight_bytes_after).c_str());
  for (const auto& n : step.result.notes) std::printf("note: %s\n", n.c_str());
  if (step.report.contains("accuracy")) {
    const auto& acc = step.report["accuracy"];
    std::printf("\naccuracy on %s (%lld samples, top-1)\n", acc["data"].get<std::string>().c_str(),
                static_cast<long long>(acc["samples"].get<int64_t>()));
    if (acc.contains("fp32")) std::printf("  fp32        %s\n", pct(acc["fp32"]).c_str());
    std::printf("  fake-quant  %s  (the exported graph run in float32)\n", pct(acc["fake_quant"]).c_str());
    if (acc.contains("true_int8"))
      std::printf("  true int8   %s  (cpu:int8 with the saved ranges)\n", pct(acc["true_int8"]).c_str());
  }
}

}  // namespace frugal::cli
