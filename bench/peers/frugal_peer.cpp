// Times one ONNX model in a frugal Session in process, and prints the JSON that ort_run.js
// prints for ONNX Runtime (per-iteration milliseconds and the first output), so that
// compare.py can alternate the two on the same file and input. With --profile it also
// times every step (Session::set_observer) and reports the mean per node ("ms") and the
// median ("ms_median": on a shared machine, the figure a preempted run does not move); with
// --init-stages, where session init went (load, then runtime/compile_stages.h's stages).
//
//   frugal_peer --model M.onnx [--input x.npy [--input y.npy ...] | --shape 1x3x224x224 --seed 1]
//               [--threads 1] [--iters 20] [--warmup 3] [--backend cpu,ref]
//               [--precision fp32|bf16|int8] [--no-optimize] [--profile] [--no-output]
//               [--init-stages]
//   frugal_peer --model M.onnx --describe      (the inputs' names and shapes, as JSON)
//   frugal_peer --model M.onnx --rebatch OUT.onnx   (the same model, batch dimension symbolic)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/npy.h"
#include "frugal/core/strings.h"
#include "frugal/core/version.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/thread_environment.h"
#include "frugal/ops/post_ops.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/runtime/compile_stages.h"
#include "frugal/runtime/session.h"

using namespace frugal;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string model, precision = "fp32";
  std::vector<std::string> inputs;  // .npy files, one per graph input in order
  Shape shape;
  uint32_t seed = 1;
  int threads = 1, iters = 20, warmup = 3;
  std::vector<std::string> backends{"cpu", "ref"};
  bool optimize = true, profile = false, output = true, describe = false, init_stages = false;
  std::string rebatch;  // write the model with a symbolic batch dimension here
};

int to_int(const std::string& flag, const std::string& v, int min) {
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end || x < min || x > 1000000)
    throw UserError(flag + ": '" + v + "' is not an integer >= " + std::to_string(min));
  return static_cast<int>(x);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UserError(k + " needs a value");
      return argv[++i];
    };
    if (k == "--model")
      a.model = next();
    else if (k == "--input")
      a.inputs.push_back(next());  // the graph's inputs in order
    else if (k == "--shape")
      for (const auto& d : split(next(), 'x')) a.shape.push_back(to_int(k, d, 1));
    else if (k == "--seed")
      a.seed = static_cast<uint32_t>(to_int(k, next(), 0));
    else if (k == "--threads")
      a.threads = to_int(k, next(), 1);
    else if (k == "--iters")
      a.iters = to_int(k, next(), 1);
    else if (k == "--warmup")
      a.warmup = to_int(k, next(), 0);
    else if (k == "--backend")
      a.backends = split(next(), ',');
    else if (k == "--precision")
      a.precision = next();
    else if (k == "--no-optimize")
      a.optimize = false;
    else if (k == "--profile")
      a.profile = true;
    else if (k == "--init-stages")
      a.init_stages = true;
    else if (k == "--no-output")
      a.output = false;
    else if (k == "--describe")
      a.describe = true;
    else if (k == "--rebatch")
      a.rebatch = next();
    else
      throw UserError("unknown argument '" + k + "'");
  }
  if (a.model.empty()) throw UserError("--model is required");
  if (a.describe || !a.rebatch.empty()) return a;
  if (a.inputs.empty() && a.shape.empty()) throw UserError("give --input FILE.npy or --shape DIMS");
  return a;
}

// The same xorshift stream as ort_run.js, so --seed gives both runtimes the same input.
Tensor random_input(const Shape& shape, uint32_t seed) {
  Tensor t(DType::kF32, shape);
  uint32_t s = seed ? seed : 1;
  for (float& v : t.span<float>()) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    v = static_cast<float>(s / 4294967296.0 * 2 - 1);
  }
  return t;
}

// The precision selects the cpu backend's variant: cpu -> cpu:bf16 / cpu:int8,cpu.
std::vector<std::string> with_precision(std::vector<std::string> backends,
                                        const std::string& precision) {
  if (precision == "fp32") return backends;
  if (precision != "bf16" && precision != "int8")
    throw UserError("--precision: '" + precision + "' is not one of fp32, bf16, int8");
  const std::string variant = "cpu:" + precision;
  bool known = false;
  for (const auto& n : kernels::backend_names()) known |= n == variant;
  if (!known)
    throw UserError("--precision " + precision + ": no backend '" + variant + "' in this build");
  // As the CLI (cli/engine_options.cpp): int8 takes only Conv/Gemm/MatMul (and MaxPool),
  // float32 cpu runs the rest.
  std::vector<std::string> mapped;
  for (const auto& b : backends) {
    mapped.push_back(b == "cpu" ? variant : b);
    if (b == "cpu" && precision == "int8") mapped.push_back("cpu");
  }
  return mapped;
}

struct StepTimer final : runtime::NodeObserver {
  std::vector<std::vector<double>> ms;  // per step, one entry per run
  Clock::time_point t0;
  void before(size_t) override { t0 = Clock::now(); }
  void after(size_t step) override {
    if (step >= ms.size()) ms.resize(step + 1);
    ms[step].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  double mean(size_t step) const {
    if (step >= ms.size() || ms[step].empty()) return 0.0;
    return std::accumulate(ms[step].begin(), ms[step].end(), 0.0) / ms[step].size();
  }
  double median(size_t step) const {
    if (step >= ms.size() || ms[step].empty()) return 0.0;
    std::vector<double> v = ms[step];
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  }
};

// The model's inputs, unknown dimensions as -1: what compare.py needs to make an input.
int describe(const ir::Graph& g) {
  nlohmann::json j;
  j["inputs"] = nlohmann::json::array();
  for (const auto& in : g.inputs) {
    std::vector<int64_t> dims;
    if (in.shape)
      for (const auto& d : *in.shape) dims.push_back(d.known() ? d.value : -1);
    j["inputs"].push_back({{"name", in.name}, {"dtype", dtype_name(in.dtype)}, {"shape", dims}});
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

int run(const Args& a) {
  const auto load_start = Clock::now();  // init_ms: file read to session ready, as ORT's create()
  const double load_cpu_start = runtime::thread_cpu_ms();
  const ir::Graph g = ir::load_onnx(a.model);
  const double load_cpu_ms = runtime::thread_cpu_ms() - load_cpu_start;
  const double load_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();
  if (a.describe) return describe(g);
  if (!a.rebatch.empty()) {
    // The zoo exports batch 1; ONNX Runtime then refuses other batches.
    ir::Graph r = g;
    for (auto& in : r.inputs)
      if (in.shape && !in.shape->empty()) (*in.shape)[0] = ir::Dim{-1, "N"};
    for (auto& out : r.outputs)
      if (out.shape && !out.shape->empty()) (*out.shape)[0] = ir::Dim{-1, "N"};
    r.value_info.clear();
    ir::save_onnx(r, a.rebatch);
    return 0;
  }
  std::vector<Tensor> xs;
  if (a.inputs.empty()) xs.push_back(random_input(a.shape, a.seed));
  for (const auto& f : a.inputs) xs.push_back(read_npy(f));
  if (xs.size() > g.inputs.size())
    throw UserError(a.model + ": " + std::to_string(xs.size()) + " inputs given, the model has " +
                    std::to_string(g.inputs.size()));
  const Tensor& x = xs[0];
  runtime::SessionOptions opt;
  opt.origin = a.model;
  opt.backends = with_precision(a.backends, a.precision);
  opt.threads = a.threads;
  opt.optimize = a.optimize;
  opt.infer.batch = x.dim(0);
  for (size_t i = 0; i < xs.size(); ++i) opt.infer.input_shapes[g.inputs[i].name] = xs[i].shape();
  bool qdq = false;  // a QDQ file brings its own scales (passes/qdq_fold.h)
  for (const auto& n : g.nodes) qdq = qdq || n.op_type == "QuantizeLinear";
  if (a.precision == "int8" && !qdq) {
    // Activation ranges from the timed input itself (min/max): enough to time the int8
    // path; accuracy belongs to the compression benchmarks with held-out calibration data.
    runtime::SessionOptions fp32 = opt;
    fp32.backends = a.backends;
    opt.backend_config.ranges = runtime::calibrate_minmax(g, {xs}, fp32);
  }
  runtime::Session s(g, opt);
  const double init_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - load_start).count();

  std::vector<Tensor> out;
  for (int i = 0; i < a.warmup; ++i) out = s.run(xs);
  StepTimer timer;
  if (a.profile) s.set_observer(&timer);
  std::vector<double> ms;
  for (int i = 0; i < a.iters; ++i) {
    const auto t0 = Clock::now();
    out = s.run(xs);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  s.set_observer(nullptr);

  std::string backends;
  for (const auto& b : opt.backends) backends += (backends.empty() ? "" : ",") + b;
  nlohmann::json j;
  j["runtime"] = std::string("frugal ") + FRUGAL_VERSION + " (" + FRUGAL_GIT_REV + ") " + backends +
                 (a.optimize ? "" : " --no-optimize");
  j["model"] = a.model;
  j["batch"] = x.dim(0);
  j["threads"] = a.threads;
  j["ms"] = ms;
  j["init_ms"] = init_ms;
  j["arena_bytes"] = s.arena_bytes();
  j["constant_bytes"] = s.constant_bytes();
  j["output"] = {{"name", s.outputs()[0].name}, {"shape", out[0].shape()}};
  if (a.output) {
    std::vector<float> data(out[0].numel());
    for (int64_t i = 0; i < out[0].numel(); ++i) data[i] = static_cast<float>(out[0].at_double(i));
    j["output"]["data"] = data;
  }
  if (a.init_stages) {
    j["init_stages"] = nlohmann::json::array(
        {{{"stage", "load_onnx"}, {"cpu_ms", load_cpu_ms}, {"wall_ms", load_ms}}});
    for (const auto& st : runtime::last_compile_stages())
      j["init_stages"].push_back(
          {{"stage", st.stage}, {"cpu_ms", st.cpu_ms}, {"wall_ms", st.wall_ms}});
  }
  if (a.profile) {
    j["profile"] = nlohmann::json::array();
    for (size_t k = 0; k < s.assignments().size(); ++k) {
      const auto& as = s.assignments()[k];
      const ir::Node& n = s.graph().nodes[as.node_index];
      std::string op = as.op_type;
      if (n.has_attr(ops::kPostOpsAttr))
        for (const auto& e : n.attr_strings(ops::kPostOpsAttr)) op += "+" + e;
      j["profile"].push_back({{"node", as.node_name},
                              {"op", op},
                              {"backend", as.backend},
                              {"impl", as.impl},
                              {"ms", timer.mean(k)},
                              {"ms_median", timer.median(k)}});
    }
  }
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The thread runtime's defaults the frugal CLI runs with (kernels/thread_environment.h).
  frugal::kernels::apply_thread_environment(argv);
  try {
    return run(parse(argc, argv));
  } catch (const UserError& e) {
    std::fprintf(stderr, "frugal_peer: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "frugal_peer: internal error: %s\n", e.what());
    return 2;
  }
}
