// frugal compare MODEL --format ...: output error of an emulated (or any other backend's) run
// against the fp32 reference run, over random inputs or data set samples.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/emu/output_error.h"
#include "frugal/runtime/session.h"
#include "frugal/train/data/dataset.h"

namespace frugal::cli {
namespace {

struct CompareArgs {
  std::string model;
  std::vector<std::string> inputs;  // random[:N] or NPY files (one sample each)
  std::string data;
  int64_t limit = 64;
  EngineArgs engine;
  bool json = false;
};

// "random" -> 4 samples, "random:N" -> N.
int64_t random_samples(const std::string& spec) {
  if (spec == "random") return 4;
  const std::string n = spec.substr(7);
  try {
    size_t used = 0;
    const long long v = std::stoll(n, &used);
    if (used == n.size() && v >= 1 && v <= 100000) return v;
  } catch (const std::exception&) {
  }
  throw UserError("--input: '" + spec + "': the sample count N of random:N must be 1..100000");
}

std::string fmt_db(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string fmt_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

nlohmann::json finite_or_string(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

void compare(const CompareArgs& a, bool backend_given) {
  EngineArgs engine = a.engine;
  if (!backend_given) engine.backends = {"emu"};
  if (a.limit < 1) throw UserError("--limit: must be 1 or more");
  if (!a.data.empty() && !a.inputs.empty())
    throw UserError("--data: give either --input or --data, not both");
  ir::Graph g = ir::load_onnx(a.model);
  runtime::SessionOptions test_opt = session_options(engine, a.model, &g);
  EngineArgs ref_engine = engine;
  ref_engine.backends = {"ref"};
  ref_engine.format.clear();
  ref_engine.precision = "fp32";
  runtime::SessionOptions ref_opt = session_options(ref_engine, a.model, &g);
  runtime::Session test(g, test_opt);
  runtime::Session ref(g, ref_opt);

  // The samples: each a full set of model inputs.
  const auto& ports = test.inputs();
  std::vector<std::vector<Tensor>> samples;
  std::string source;
  std::unique_ptr<train::Dataset> data;
  int64_t data_samples = 0;
  if (!a.data.empty()) {
    if (ports.size() != 1 || ports[0].shape.size() != 4)
      throw UserError("--data: needs a model with one N x C x H x W input");
    train::DataOptions dopt;
    dopt.expected_sample_shape = Shape(ports[0].shape.begin() + 1, ports[0].shape.end());
    data = train::open_dataset(a.data, dopt);
    data_samples = std::min(a.limit, data->size());
    source = data->describe() + ", first " + std::to_string(data_samples) + " samples";
  } else {
    std::vector<std::string> specs = a.inputs.empty() ? std::vector<std::string>{"random"}
                                                       : a.inputs;
    if (specs.size() == 1 && specs[0].rfind("random", 0) == 0) {
      const int64_t n = random_samples(specs[0]);
      for (int64_t s = 0; s < n; ++s) {
        std::vector<Tensor> in;
        for (const auto& p : ports) in.push_back(make_input("random:" + std::to_string(s), p, &g));
        samples.push_back(std::move(in));
      }
      source = std::to_string(n) + " random inputs (seeds 0.." + std::to_string(n - 1) + ")";
    } else {
      if (ports.size() != 1)
        throw UserError("--input: NPY samples need a model with one input (it has " +
                        std::to_string(ports.size()) + ")");
      for (const auto& f : specs) samples.push_back({make_input(f, ports[0])});
      source = std::to_string(specs.size()) + " NPY input" + (specs.size() > 1 ? "s" : "");
    }
  }

  std::vector<kernels::emu::OutputErrorMeter> meters(test.outputs().size());
  double test_ms = 0, ref_ms = 0;
  int64_t runs = 0;
  auto one = [&](const std::vector<Tensor>& in) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = ref.run(in);
    auto t1 = std::chrono::steady_clock::now();
    auto t = test.run(in);
    auto t2 = std::chrono::steady_clock::now();
    ref_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    test_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    ++runs;
    for (size_t o = 0; o < r.size(); ++o)
      if (dtype_is_float(r[o].dtype())) meters[o].add(r[o], t[o]);
  };
  if (data) {
    const int64_t batch = ports[0].shape[0];
    for (int64_t b = 0; b + batch <= data_samples; b += batch) {
      train::Batch bt = data->get_range(b, batch);
      one({bt.images});
    }
    if (runs == 0)
      throw UserError("--limit: " + std::to_string(data_samples) +
                      " samples do not fill one batch of " + std::to_string(batch));
  } else {
    for (const auto& s : samples) one(s);
  }

  std::vector<std::string> fallback;  // nodes the emulator ran in fp32
  for (const auto& as : test.assignments())
    if (as.impl.find("fp32 on a-rounded") != std::string::npos)
      fallback.push_back(as.node_name + " (" + as.op_type + ")");

  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["backend"] = backend_list(test_opt);
    j["format"] = engine.format;
    j["samples"] = source;
    j["runs"] = runs;
    j["time_ms"] = {{"test", test_ms / runs}, {"fp32_ref", ref_ms / runs}};
    for (size_t o = 0; o < meters.size(); ++o) {
      const auto e = meters[o].result();
      if (e.elements == 0) continue;
      nlohmann::json oj{{"name", test.outputs()[o].name},
                        {"sqnr_db", finite_or_string(e.sqnr_db)},
                        {"max_abs_error", finite_or_string(e.max_abs_error)},
                        {"max_rel_error", finite_or_string(e.max_rel_error)},
                        {"elements", e.elements}};
      if (e.top1_rows) {
        oj["top1_agree"] = e.top1_agree;
        oj["top1_rows"] = e.top1_rows;
      }
      j["outputs"].push_back(oj);
    }
    j["fp32_nodes"] = fallback;
    print_json(j);
    return;
  }
  std::printf("model    %s\nbackend  %s%s\nsamples  %s\n", a.model.c_str(),
              backend_list(test_opt).c_str(),
              engine.format.empty() ? "" : (" --format " + engine.format).c_str(), source.c_str());
  Table t({"output", "SQNR dB", "max abs err", "max rel err", "top-1 agree"});
  for (size_t o = 0; o < meters.size(); ++o) {
    const auto e = meters[o].result();
    if (e.elements == 0) continue;
    t.add({test.outputs()[o].name, fmt_db(e.sqnr_db), fmt_g(e.max_abs_error),
           fmt_g(e.max_rel_error),
           e.top1_rows ? std::to_string(e.top1_agree) + "/" + std::to_string(e.top1_rows) : "-"});
  }
  std::printf("%s", t.str().c_str());
  std::printf("time     %.2f ms per run vs %.2f ms fp32 ref (measured, mean of %lld)\n",
              test_ms / runs, ref_ms / runs, static_cast<long long>(runs));
  if (!fallback.empty()) {
    std::printf("fp32 on a-rounded inputs (%zu nodes):", fallback.size());
    for (size_t i = 0; i < fallback.size() && i < 12; ++i) std::printf(" %s", fallback[i].c_str());
    if (fallback.size() > 12) std::printf(" ... %zu more", fallback.size() - 12);
    std::printf("\n");
  }
}

void setup(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  auto* sub = app.add_subcommand(
      "compare", "Output error (SQNR, max abs/rel error, top-1 agreement) against the fp32 run");
  sub->footer(
      "Examples:\n  frugal compare resnet18.onnx --format w=e4m3,a=e4m3,acc=fp16:chunk=32\n"
      "  frugal compare lenet5.onnx --format w=e5m2,a=e5m2,acc=bf16 --data fashion-mnist "
      "--limit 256 --batch 32\n"
      "  frugal compare model.onnx --backend cpu --precision bf16 --input random:8 --json");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("--input", a->inputs,
                  "random[:N] (N random samples, default 4) or NPY files, one sample each");
  sub->add_option("--data", a->data, "data set samples instead (e.g. fashion-mnist, npz:F.npz)");
  sub->add_option("--limit", a->limit, "number of data set samples (default 64)");
  add_engine_options(sub, a->engine);
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a, sub] { compare(*a, sub->count("--backend") > 0); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(compare, 46, setup);

}  // namespace frugal::cli
