#include "frugal/measure/workflows.h"

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/affinity.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/sha256.h"

namespace frugal::measure {
namespace {

BenchOptions checked_bench_options(const BenchSettings& s) {
  BenchOptions bo;
  bo.scenario = parse_scenario(s.scenario);
  bo.min_duration_s = s.duration_s;
  bo.min_queries = s.min_queries;
  bo.max_duration_s = s.max_duration_s;
  bo.warmup_s = s.warmup_s;
  bo.target_qps = s.qps;
  bo.latency_bound_s = s.latency_bound_ms * 1e-3;
  bo.find_qps = s.find_qps;
  bo.idle_s = s.idle_s;
  if (!(s.latency_bound_ms >= 0)) throw UserError("--latency-bound: must be positive (ms)");
  check_bench_options(bo);
  return bo;
}

PowerSpec checked_power_spec(const BenchSettings& s) {
  const PowerSpec spec = parse_power_spec(s.power);
  if (spec.kind != PowerSpec::Kind::kNone && !(s.idle_s >= 0))
    throw UserError("--idle-seconds " + std::to_string(s.idle_s) + ": must be 0 or more");
  return spec;
}

PowerChoice power_meter(const PowerSpec& spec, const BenchSettings& s, bool on_gpu) {
  PowerConfig config;
  config.prefer_nvml = on_gpu;
  if (!s.power_map.empty()) config.serial.rails = parse_power_map(s.power_map);
  if (!s.power_calibration.empty())
    config.serial.calibration = load_calibration(s.power_calibration);
  config.serial.markers = s.power_markers;
  return make_power_meter(spec, config);
}

// The graph, loaded from the file when not given.
void load(ModelSource& model) {
  if (!model.graph) model.graph = std::make_shared<const ir::Graph>(ir::load_onnx(model.origin));
}

}  // namespace

RecordWhat record_what(const ModelSource& model, const EngineOptions& engine,
                       const runtime::SessionOptions& options, const runtime::Session& session) {
  RecordWhat what;
  what.model = model.origin;
  what.model_digest = model.digest.empty() ? sha256_file(model.origin) : model.digest;
  what.backends = options.backends;
  what.precision = engine.precision;
  what.sparse = engine.sparse;
  if (!engine.format.empty()) what.formats["emu"] = engine.format;
  what.threads = engine.threads;
  for (const auto& p : session.passes())
    if (p.changes > 0) what.transforms.push_back("pass:" + p.pass);
  return what;
}

BenchRun::BenchRun(ModelSource model, const EngineOptions& engine, const BenchSettings& settings)
    : model_(std::move(model)), engine_(engine), settings_(settings) {
  bench_ = checked_bench_options(settings);
  const PowerSpec power_spec = checked_power_spec(settings);
  started_ = std::time(nullptr);
  if (!settings.pin.empty()) {
    // Before the session starts its worker threads, which inherit the mask.
    const auto cpus = parse_cpu_list(settings.pin);
    pin_to_cpus(cpus);
    pinning_ = cpu_list_str(cpus);
  }
  const Stopwatch watch;
  load(model_);
  options_ = session_options(engine, model_.origin, model_.graph.get());
  session_ = std::make_unique<runtime::Session>(*model_.graph, options_);
  init_s_ = watch.elapsed_s();
  // After the session: a run on a GPU makes `auto` try NVML first.
  power_ = power_meter(power_spec, settings, session_uses_gpu(*session_));
  bench_.meter = power_.meter.get();
  system_ = describe_system();
}

SessionBenchResult BenchRun::run(const std::vector<Tensor>& inputs,
                                 std::function<void(const BenchProgress&)> progress) {
  BenchOptions bo = bench_;
  bo.progress = std::move(progress);
  SessionBenchResult r = bench_session(*session_, inputs, bo, settings_.profile);
  r.bench.init_s = init_s_;
  return r;
}

nlohmann::json BenchRun::record(const SessionBenchResult& r) const {
  RecordWhat what = record_what(model_, engine_, options_, *session_);
  what.pinning = pinning_;
  what.batch = r.bench.batch;
  what.scenario = settings_.scenario;
  nlohmann::json results = bench_results_json(r);
  results["fallbacks"] = fallbacks_json(session_->fallbacks());
  add_encoded_size(results, *model_.graph);
  if (power_.meter && results["energy"].is_object())
    results["energy"]["selection"] = power_.explanation;
  return make_record(what, results, record_where(system_, started_));
}

EvalRun run_eval(const ModelSource& source, const EngineOptions& engine, const EvalSettings& s) {
  const std::time_t started = std::time(nullptr);
  if (s.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  ModelSource model = source;
  load(model);
  EvalRun out;
  out.options = session_options(engine, model.origin, model.graph.get());
  runtime::Session session(*model.graph, out.options);

  // The loader checks the samples and labels against the model, naming the data file.
  train::DataOptions d = s.data_options;
  const auto& ports = session.inputs();
  if (ports.size() == 1 && ports[0].shape.size() == 4)
    d.expected_sample_shape = {ports[0].shape[1], ports[0].shape[2], ports[0].shape[3]};
  if (!session.outputs().empty() && session.outputs()[0].shape.size() >= 2)
    d.num_classes = session.outputs()[0].shape[1];
  auto data = train::open_dataset(s.data, d);

  std::unique_ptr<runtime::Session> reference;
  if (!s.reference.empty()) {
    // The reference is the judge: same backends and batch, in float32.
    EngineOptions re = engine;
    re.precision = "fp32";
    re.format.clear();
    re.calibration.clear();
    ir::Graph rg = ir::load_onnx(s.reference);
    reference = std::make_unique<runtime::Session>(rg, session_options(re, s.reference, &rg));
  }

  EvalOptions eo;
  eo.limit = s.limit;
  eo.progress = s.progress;
  out.result = evaluate(session, model.origin, *data, s.data, eo, reference.get(), s.reference);

  RecordWhat what = record_what(model, engine, out.options, session);
  what.batch = out.result.batch;
  what.scenario = "eval";
  what.data = s.data;
  out.record =
      make_record(what, eval_results_json(out.result), record_where(describe_system(), started));
  return out;
}

compress::PipelineContext compress_context(const ir::Graph& model, const std::string& origin,
                                           const EngineOptions& engine, bool quantizes,
                                           const CompressData& data) {
  compress::PipelineContext ctx;
  ctx.origin = origin;
  ctx.base = session_options(engine, origin, &model);
  // Quantization calibrates and scores on the cpu backend (the int8 layers run there).
  if (quantizes) ctx.base.backends = {"cpu", "ref"};
  ctx.latency_batch = engine.batch;
  attach_data(ctx, model, data);
  return ctx;
}

void add_accuracy(nlohmann::json& bench_record, const nlohmann::json& eval_record) {
  bench_record["results"]["accuracy"] = eval_record.at("results").at("accuracy");
  if (eval_record.contains("what") && eval_record["what"].contains("data"))
    bench_record["what"]["data"] = eval_record["what"]["data"];
}

void add_transform_steps(nlohmann::json& record, const std::vector<std::string>& steps) {
  nlohmann::json transforms = steps;
  for (const auto& t : record["what"].value("transforms", nlohmann::json::array()))
    transforms.push_back(t);
  record["what"]["transforms"] = transforms;
}

}  // namespace frugal::measure
