#include "frugal/measure/engine.h"

#include "frugal/compress/precision_map.h"
#include "frugal/core/error.h"
#include "frugal/core/npy.h"
#include "frugal/core/strings.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/backend.h"
#include "frugal/measure/random_input.h"
#include "frugal/runtime/calibrate.h"

namespace frugal::measure {
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
runtime::RangeMap calibration_ranges(const EngineOptions& a, const runtime::SessionOptions& fp32,
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

Shape parse_shape(const std::string& text, const std::string& option) {
  Shape s;
  if (text == "scalar") return s;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t x = text.find('x', pos);
    std::string part = text.substr(pos, x == std::string::npos ? std::string::npos : x - pos);
    char* end = nullptr;
    long long v = part.empty() ? -1 : std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 0)
      throw UserError(option + ": '" + text + "' is not a shape (expected e.g. 1x3x224x224)");
    s.push_back(v);
    if (x == std::string::npos) break;
    pos = x + 1;
  }
  shape_numel(s);
  return s;
}

void parse_input_shapes(const std::vector<std::string>& specs, ops::InferOptions& opt) {
  for (const auto& spec : specs) {
    auto eq = spec.rfind('=');
    if (eq == std::string::npos || eq == 0)
      throw UserError("--shape: '" + spec + "' is not NAME=DIMS (e.g. input=1x3x224x224)");
    opt.input_shapes[spec.substr(0, eq)] = parse_shape(spec.substr(eq + 1), "--shape");
  }
}

Tensor make_input(const std::string& spec, const runtime::Session::Port& port,
                  const ir::Graph* graph) {
  if (spec == "random" || spec.rfind("random:", 0) == 0) {
    uint64_t seed = 0;
    if (spec.size() > 7) {
      char* end = nullptr;
      seed = std::strtoull(spec.c_str() + 7, &end, 10);
      if (*end) throw UserError("--input: '" + spec + "' is not random[:SEED]");
    }
    return measure::random_tensor(port.dtype, port.shape, seed,
                                  graph ? random_int_limit(*graph, port.name) : kRandomIntLimit);
  }
  Tensor t = read_npy(spec);
  if (t.dtype() != port.dtype)
    throw UserError(spec + ": dtype " + std::string(dtype_name(t.dtype())) + " but input '" +
                    port.name + "' expects " + std::string(dtype_name(port.dtype)));
  if (t.shape() != port.shape)
    throw UserError(spec + ": shape " + shape_str(t.shape()) + " but input '" + port.name +
                    "' expects " + shape_str(port.shape) + " (see --batch / --shape)");
  return t;
}

std::vector<Tensor> make_inputs(
    const runtime::Session& session, size_t given_count, const std::string& option,
    const std::function<Tensor(size_t, const runtime::Session::Port&)>& given) {
  const auto& ports = session.inputs();
  if (given_count > ports.size())
    throw UserError(option + ": given " + std::to_string(given_count) + " inputs, the model has " +
                    std::to_string(ports.size()));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < ports.size(); ++i)
    inputs.push_back(i < given_count ? given(i, ports[i])
                                     : make_input("random", ports[i], &session.graph()));
  return inputs;
}

runtime::SessionOptions session_options(const EngineOptions& a, const std::string& origin,
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
  if (a.device_graphs != "on" && a.device_graphs != "off")
    throw UserError("--device-graphs: 'on' or 'off', not '" + a.device_graphs + "'");
  opt.device_graphs = a.device_graphs == "on";
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

}  // namespace frugal::measure
