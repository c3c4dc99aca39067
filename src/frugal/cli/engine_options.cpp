#include "frugal/cli/engine_options.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "frugal/cli/common.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/compress/precision_map.h"
#include "frugal/core/error.h"
#include "frugal/core/strings.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/backend.h"
#include "frugal/runtime/calibrate.h"

namespace frugal::cli {
namespace {

// --calibration random:N[:SEED]: N in [1, 10000], SEED (default 1, so that the samples
// differ from `frugal run`'s default input random:0).
std::pair<int64_t, uint64_t> parse_random_calibration(const std::string& spec) {
  std::string count = spec.substr(7), seed = "1";
  if (auto colon = count.find(':'); colon != std::string::npos) {
    seed = count.substr(colon + 1);
    count = count.substr(0, colon);
  }
  auto number = [&](const std::string& text, uint64_t& v) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
        text.size() > 18)
      throw UserError("--calibration: '" + spec + "' is not random:N[:SEED]");
    v = std::stoull(text);
  };
  uint64_t n = 0, s = 0;
  number(count, n);
  number(seed, s);
  if (n < 1 || n > 10000)
    throw UserError("--calibration: '" + spec + "': N must be between 1 and 10000");
  return {static_cast<int64_t>(n), s};
}

// Activation ranges for --precision int8 from --calibration.
runtime::RangeMap calibration_ranges(const EngineArgs& a, const runtime::SessionOptions& fp32,
                                     const std::string& origin, const ir::Graph* graph) {
  const std::string& spec = a.calibration;
  if (spec.ends_with(".json")) return runtime::load_ranges(spec).ranges;
  ir::Graph loaded;
  if (!graph) {
    loaded = ir::load_onnx(origin);
    graph = &loaded;
  }
  // The ports (shapes after --batch/--shape) that the samples must fit.
  const std::vector<runtime::Session::Port> ports = runtime::Session(*graph, fp32).inputs();
  std::vector<std::vector<Tensor>> batches;
  if (spec.rfind("random:", 0) == 0) {
    const auto [n, seed] = parse_random_calibration(spec);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<Tensor> batch;
      for (const auto& port : ports)
        batch.push_back(
            make_input("random:" + std::to_string(seed + static_cast<uint64_t>(i)), port));
      batches.push_back(std::move(batch));
    }
  } else {
    const std::vector<std::string> files = split(spec, ',');
    for (const auto& f : files)
      if (!f.ends_with(".npy"))
        throw UserError("--calibration: '" + f +
                        "' is not FILE.json, random:N[:SEED] or a list of .npy files");
    if (ports.empty() || files.size() % ports.size() != 0)
      throw UserError("--calibration: " + std::to_string(files.size()) +
                      " NPY files do not make whole samples of the model's " +
                      std::to_string(ports.size()) + " inputs");
    for (size_t i = 0; i < files.size(); i += ports.size()) {
      std::vector<Tensor> batch;
      for (size_t p = 0; p < ports.size(); ++p) batch.push_back(make_input(files[i + p], ports[p]));
      batches.push_back(std::move(batch));
    }
  }
  return runtime::calibrate_minmax(*graph, batches, fp32);
}

}  // namespace

void add_engine_options(CLI::App* sub, EngineArgs& a) {
  sub->add_option("--backend", a.backends,
                  "backends in order of preference, e.g. cpu,ref or ref (default auto: the "
                  "fastest available here, then ref; info --plan shows the choice)")
      ->delimiter(',');
  sub->add_option("--precision", a.precision,
                  "precision of the cpu backend: fp32 (default), bf16, or int8 (Conv/Gemm/MatMul "
                  "quantized, the rest fp32; needs --calibration); of the cuda backend: fp32, "
                  "tf32, fp16, bf16 (Conv/Gemm/MatMul, fp32 accumulation)");
  sub->add_option("--calibration", a.calibration,
                  "activation ranges for --precision int8: FILE.json (frugal.ranges/1), "
                  "a.npy,b.npy,... (sample inputs, in model-input order), or random:N[:SEED] "
                  "(N seeded random inputs: for speed studies only, says nothing of accuracy)");
  sub->add_option("--format", a.format,
                  "number formats of the emu backend, e.g. w=e4m3,a=e4m3,acc=fp16:chunk=32");
  sub->add_option("--threads", a.threads, "compute threads of the cpu backend (default 1)");
  sub->add_option("--parallel-min-us", a.parallel_min_us,
                  "with --threads > 1, a node whose estimated work is below this many "
                  "microseconds on one thread runs on one (default 50; 0: every node on all)");
  sub->add_option("--batch", a.batch, "size of a dynamic batch dimension (default 1)");
  sub->add_option("--shape", a.shapes, "full shape of an input: NAME=DIMS");
  sub->add_flag("--no-optimize", a.no_optimize,
                "run the graph as given: no folding, identity removal or fusion passes");
  sub->add_option("--sparse", a.sparse,
                  "sparse-weight kernels of the cpu backend for Conv/Gemm/MatMul with zeros in "
                  "their weights: auto (default: where the cost model predicts a gain), off, "
                  "force (wherever one exists), force:csr|bitmap|bcsr1x16|bcsr4x16");
  sub->add_option("--precision-map", a.precision_map,
                  "per-node precision of the cpu backend, FILE.json {node: fp32|bf16|int8} "
                  "(frugal compress --max-drop writes OUT.precision.json); int8 nodes need "
                  "--calibration or a QDQ model");
}

runtime::SessionOptions session_options(const EngineArgs& a, const std::string& origin,
                                        const ir::Graph* graph) {
  if (a.threads < 1) throw UserError("--threads: must be 1 or more");
  if (a.batch < 1) throw UserError("--batch: must be at least 1");
  runtime::SessionOptions opt;
  opt.origin = origin;
  opt.threads = a.threads;
  if (a.parallel_min_us < 0 && a.parallel_min_us != -1)
    throw UserError("--parallel-min-us: must be 0 or more");
  if (a.parallel_min_us >= 0) opt.parallel_min_us = a.parallel_min_us;
  opt.optimize = !a.no_optimize;
  opt.infer.batch = a.batch;
  parse_input_shapes(a.shapes, opt.infer);
  opt.backends = kernels::resolve_backends(a.backends);
  if (a.precision != "fp32") {
    // The formats some registered backend has a variant for (cuda adds tf32 and fp16).
    if (kernels::backends_with_precision(a.precision).empty()) {
      std::string known = "fp32";
      for (const char* f : {"tf32", "fp16", "bf16", "int8"})
        if (!kernels::backends_with_precision(f).empty()) known += std::string(", ") + f;
      throw UserError("--precision: '" + a.precision + "' is not one of " + known);
    }
    // The backends' variants for that precision (int8 takes only Conv/Gemm/MatMul: its
    // base runs the rest).
    const auto with = kernels::with_precision(opt.backends, a.precision);
    if (!with)
      throw UserError("--precision: " + a.precision + " applies to the " +
                      kernels::backends_with_precision(a.precision) + " backend; add --backend " +
                      kernels::backends_with_precision(a.precision) + ",ref");
    const std::vector<std::string> mapped = *with;
    if (a.precision == "int8") {
      // A QDQ model brings its own scales (passes/qdq_fold.h): --calibration is optional.
      bool qdq = false;
      if (a.calibration.empty()) {
        ir::Graph loaded;
        const ir::Graph* g = graph;
        if (!g) {
          loaded = ir::load_onnx(origin);
          g = &loaded;
        }
        for (const auto& n : g->nodes) qdq = qdq || n.op_type == "QuantizeLinear";
        if (!qdq)
          throw UserError(
              "--precision int8: needs activation ranges; add --calibration FILE.json, "
              "a.npy,... or random:N (a QDQ model needs none)");
      }
      if (!qdq) {
        runtime::SessionOptions fp32 = opt;  // the model as given, to calibrate on
        opt.backend_config.ranges = calibration_ranges(a, fp32, origin, graph);
      }
    }
    opt.backends = mapped;
  }
  if (!a.calibration.empty() && a.precision != "int8")
    throw UserError("--calibration: applies to --precision int8");
  if (!a.precision_map.empty()) {
    if (!kernels::with_precision(a.backends, "int8"))
      throw UserError("--precision-map: applies to the " +
                      kernels::backends_with_precision("int8") + " backend; add --backend " +
                      kernels::backends_with_precision("int8") + ",ref");
    opt = compress::session_options(opt, compress::load_precision_map(a.precision_map));
  }
  opt.backend_config.sparse = a.sparse;
  if (!a.format.empty()) {
    bool reads = false;
    for (const auto& b : opt.backends) reads = reads || kernels::backend_traits(b).reads_format;
    if (!reads) throw UserError("--format: applies to the emu backend; add --backend emu");
    opt.backend_config.format = a.format;
  }
  kernels::check_backend_config(opt.backend_config);  // a UserError naming --sparse when bad
  return opt;
}

std::string backend_list(const runtime::SessionOptions& opt) {
  std::string s;
  for (const auto& b : opt.backends) s += (s.empty() ? "" : ",") + b;
  return s;
}

}  // namespace frugal::cli
