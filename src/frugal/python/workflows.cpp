// frugal.bench, frugal.eval, frugal.compress: the library's workflows, Records as the CLI's
// --json (returned as JSON text; the package parses it).
#include <pybind11/stl.h>

#include <ctime>

#include "frugal/cli/engine_options.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/compress/pipeline.h"
#include "frugal/core/error.h"
#include "frugal/measure/compress_data.h"
#include "frugal/measure/eval.h"
#include "frugal/measure/power_select.h"
#include "frugal/measure/record.h"
#include "frugal/python/arrays.h"
#include "frugal/python/bindings.h"
#include "frugal/train/data/dataset.h"

namespace frugal::python {
namespace {

struct BenchKw {
  std::string scenario = "single-stream";
  double duration = 1.0;
  int64_t min_queries = 64;
  double max_duration = 150.0;
  double warmup = 0.5;
  double qps = 0;
  double latency_bound_ms = 0;
  bool find_qps = false;
  std::string power = "none";
  double idle_seconds = 2.0;
};

measure::RecordWhat record_what(const Model& model, const cli::EngineArgs& a,
                                const runtime::SessionOptions& opt, const runtime::Session& s) {
  measure::RecordWhat what;
  what.model = model.origin;
  what.model_digest = model_digest(model);
  what.backends = opt.backends;
  what.precision = a.precision;
  what.sparse = a.sparse;
  if (!a.format.empty()) what.formats["emu"] = a.format;
  what.threads = a.threads;
  for (const auto& p : s.passes())
    if (p.changes > 0) what.transforms.push_back("pass:" + p.pass);
  return what;
}

std::string bench(const Model& model, const cli::EngineArgs& a, const BenchKw& k,
                  const std::vector<py::array>& given) {
  measure::BenchOptions bo;
  bo.scenario = measure::parse_scenario(k.scenario);
  bo.min_duration_s = k.duration;
  bo.min_queries = k.min_queries;
  bo.max_duration_s = k.max_duration;
  bo.warmup_s = k.warmup;
  bo.target_qps = k.qps;
  bo.latency_bound_s = k.latency_bound_ms * 1e-3;
  bo.find_qps = k.find_qps;
  bo.idle_s = k.idle_seconds;
  measure::check_bench_options(bo);
  const measure::PowerSpec spec = measure::parse_power_spec(k.power);
  const std::time_t started = std::time(nullptr);
  measure::PowerChoice power = measure::make_power_meter(spec, {});
  bo.meter = power.meter.get();
  const runtime::SessionOptions opt = cli::session_options(a, model.origin, model.graph.get());
  runtime::Session session(*model.graph, opt);
  const auto& ports = session.inputs();
  if (given.size() > ports.size())
    throw UserError("inputs: given " + std::to_string(given.size()) + ", the model has " +
                    std::to_string(ports.size()));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < ports.size(); ++i)
    inputs.push_back(i < given.size() ? to_tensor(given[i], ports[i])
                                      : cli::make_input("random", ports[i]));
  measure::SessionBenchResult sr;
  {
    py::gil_scoped_release nogil;
    sr = measure::bench_session(session, inputs, bo, false);
  }
  measure::RecordWhat what = record_what(model, a, opt, session);
  what.batch = sr.bench.batch;
  what.scenario = k.scenario;
  nlohmann::json results = measure::bench_results_json(sr);
  results["fallbacks"] = measure::fallbacks_json(session.fallbacks());
  measure::add_encoded_size(results, *model.graph);
  if (power.meter && results["energy"].is_object())
    results["energy"]["selection"] = power.explanation;
  return measure::make_record(what, results,
                              measure::record_where(measure::describe_system(), started))
      .dump();
}

std::string eval(const Model& model, const cli::EngineArgs& a, const std::string& data,
                 int64_t limit, const std::string& datasets_root) {
  if (limit < 0) throw UserError("limit: must be 0 (all) or more");
  const std::time_t started = std::time(nullptr);
  const runtime::SessionOptions opt = cli::session_options(a, model.origin, model.graph.get());
  runtime::Session session(*model.graph, opt);
  train::DataOptions d;
  d.datasets_root = datasets_root;
  // As `frugal eval`: the loader checks samples and labels against the model's ports.
  const auto& ports = session.inputs();
  if (ports.size() == 1 && ports[0].shape.size() == 4)
    d.expected_sample_shape = {ports[0].shape[1], ports[0].shape[2], ports[0].shape[3]};
  if (!session.outputs().empty() && session.outputs()[0].shape.size() >= 2)
    d.num_classes = session.outputs()[0].shape[1];
  auto dataset = train::open_dataset(data, d);
  measure::EvalOptions eo;
  eo.limit = limit;
  measure::EvalResult r;
  {
    py::gil_scoped_release nogil;
    r = measure::evaluate(session, model.origin, *dataset, data, eo);
  }
  measure::RecordWhat what = record_what(model, a, opt, session);
  what.batch = r.batch;
  what.scenario = "eval";
  what.data = data;
  return measure::make_record(what, measure::eval_results_json(r),
                              measure::record_where(measure::describe_system(), started))
      .dump();
}

struct CompressKw {
  std::string prune, exclude, cluster, quant;
  double max_drop = -1;
  std::string lowrank;
  std::string data, calib_data, calibration;
  int64_t limit = 0;
  std::string datasets_root = "/usr/share/datasets";
};

std::pair<Model, std::string> compress(const Model& model, cli::EngineArgs a, const CompressKw& k) {
  const compress::PipelineSpec spec{k.prune,    k.exclude,       k.cluster, k.quant,
                                    k.max_drop, !k.data.empty(), k.lowrank};
  const compress::Pipeline pipeline = compress::make_pipeline(spec);
  compress::PipelineContext ctx;
  ctx.origin = model.origin;
  ctx.base = cli::session_options(a, model.origin, model.graph.get());
  // As `frugal compress`: quantization calibrates and scores on the cpu backend.
  if (!k.quant.empty()) ctx.base.backends = {"cpu", "ref"};
  ctx.latency_batch = a.batch;
  measure::attach_data(ctx, *model.graph,
                       {k.data, k.calib_data, k.calibration, k.limit, k.datasets_root});
  compress::PipelineState st;
  {
    py::gil_scoped_release nogil;
    st = compress::run_pipeline(*model.graph, pipeline, ctx);
  }
  nlohmann::json report = compress::to_json(st, ctx);
  report["model"] = model.origin;
  std::string origin = model.origin;
  for (const auto& t : st.applied) origin += " | " + t;
  return {Model{std::make_shared<ir::Graph>(std::move(st.graph)), origin, ""}, report.dump()};
}

}  // namespace

void bind_workflows(py::module_& m) {
  py::class_<BenchKw>(m, "BenchOptions")
      .def(py::init<>())
      .def_readwrite("scenario", &BenchKw::scenario)
      .def_readwrite("duration", &BenchKw::duration)
      .def_readwrite("min_queries", &BenchKw::min_queries)
      .def_readwrite("max_duration", &BenchKw::max_duration)
      .def_readwrite("warmup", &BenchKw::warmup)
      .def_readwrite("qps", &BenchKw::qps)
      .def_readwrite("latency_bound_ms", &BenchKw::latency_bound_ms)
      .def_readwrite("find_qps", &BenchKw::find_qps)
      .def_readwrite("power", &BenchKw::power)
      .def_readwrite("idle_seconds", &BenchKw::idle_seconds);
  py::class_<CompressKw>(m, "CompressOptions")
      .def(py::init<>())
      .def_readwrite("prune", &CompressKw::prune)
      .def_readwrite("exclude", &CompressKw::exclude)
      .def_readwrite("cluster", &CompressKw::cluster)
      .def_readwrite("lowrank", &CompressKw::lowrank)
      .def_readwrite("quant", &CompressKw::quant)
      .def_readwrite("max_drop", &CompressKw::max_drop)
      .def_readwrite("data", &CompressKw::data)
      .def_readwrite("calib_data", &CompressKw::calib_data)
      .def_readwrite("calibration", &CompressKw::calibration)
      .def_readwrite("limit", &CompressKw::limit)
      .def_readwrite("datasets_root", &CompressKw::datasets_root);
  m.def("bench", &bench, py::arg("model"), py::arg("engine"), py::arg("options"),
        py::arg("inputs"));
  m.def("eval", &eval, py::arg("model"), py::arg("engine"), py::arg("data"), py::arg("limit"),
        py::arg("datasets_root"));
  m.def("compress", &compress, py::arg("model"), py::arg("engine"), py::arg("options"));
}

}  // namespace frugal::python
