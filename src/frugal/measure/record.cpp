#include "frugal/measure/record.h"

#include <ctime>

#include <google/protobuf/stubs/common.h>
#include <oneapi/dnnl/dnnl.h>
#include <onnx/common/version.h>

#include "frugal/compress/weight_encoding.h"
#include "frugal/core/version.h"
#include "frugal/kernels/accelerator.h"
#include "frugal/kernels/thread_environment.h"

namespace frugal::measure {
namespace {

nlohmann::json ms_or_null(double s, bool known) {
  return known ? nlohmann::json(s * 1e3) : nlohmann::json(nullptr);
}

nlohmann::json server_json(const ServerRun& s) {
  return {{"target_qps", s.target_qps},
          {"achieved_qps", s.achieved_qps},
          {"latency_bound_ms", s.latency_bound_s > 0 ? nlohmann::json(s.latency_bound_s * 1e3)
                                                     : nlohmann::json(nullptr)},
          {"p99_ms", s.queries > 0 ? nlohmann::json(s.latency.p99 * 1e3) : nlohmann::json(nullptr)},
          {"queries", s.queries},
          {"span_s", s.span_s},
          {"utilisation", s.utilisation},
          {"cut_off", s.cut_off},
          {"sustainable", s.sustainable},
          {"bound_met", s.bound_met},
          {"verdict", s.verdict}};
}

}  // namespace

nlohmann::json latency_json(const Summary& s) {
  return {{"count", s.count},        {"min_ms", s.min * 1e3},       {"max_ms", s.max * 1e3},
          {"mean_ms", s.mean * 1e3}, {"stddev_ms", s.stddev * 1e3}, {"mad_ms", s.mad * 1e3},
          {"p50_ms", s.p50 * 1e3},   {"p90_ms", s.p90 * 1e3},       {"p95_ms", s.p95 * 1e3},
          {"p99_ms", s.p99 * 1e3},   {"p999_ms", s.p999 * 1e3}};
}

nlohmann::json to_json(const RecordWhat& w) {
  return {
      {"model", w.model},
      {"model_digest", w.model_digest},
      {"transforms", w.transforms},
      {"backend", w.backends},
      {"precision", w.precision},
      {"sparse", w.sparse},
      {"formats", w.formats},
      {"threads", w.threads},
      {"pinning", w.pinning},
      {"batch", w.batch},
      {"scenario", w.scenario},
      {"stages", w.stages},
      {"devices", w.devices.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.devices)},
      {"partition", w.partition.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.partition)},
      {"data", w.data.empty() ? nlohmann::json(nullptr) : nlohmann::json(w.data)}};
}

nlohmann::json library_versions() {
  const dnnl_version_t* v = dnnl_version();
  const int pb = GOOGLE_PROTOBUF_VERSION;
  return {{"onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                         std::to_string(v->patch) + " (" + std::string(v->hash) + ")"},
          {"protobuf", std::to_string(pb / 1000000) + "." + std::to_string(pb / 1000 % 1000) + "." +
                           std::to_string(pb % 1000)},
          {"onnx", std::string(onnx::LAST_RELEASE_VERSION)}};
}

std::string utc_iso8601(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json record_where(const SystemInfo& system, std::time_t started) {
  nlohmann::json j = to_json(system);
  // The GPU(s) a backend of this build found (kernels/accelerator.h), null without one.
  const auto gpus = kernels::accelerator_info();
  j["gpu"] = nullptr;
  if (gpus.size() == 1) j["gpu"] = gpus[0];
  if (gpus.size() > 1) j["gpu"] = gpus;
  // What the thread runtimes run with: frugal's defaults (some chosen from the machine's load
  // when the program started) or the user's own settings.
  j["thread_environment"] = nlohmann::json::object();
  for (const auto& [name, value] : kernels::thread_environment_in_effect())
    j["thread_environment"][name] = value;
  j["frugal_version"] = FRUGAL_VERSION;
  j["git_revision"] = FRUGAL_GIT_REV;
  j["libraries"] = library_versions();
  j["time"] = utc_iso8601(started);
  return j;
}

nlohmann::json fallbacks_json(const std::vector<runtime::Fallback>& fallbacks) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& f : fallbacks)
    j.push_back({{"node", f.node_name},
                 {"op", f.op_type},
                 {"backend", f.backend},
                 {"reason", f.reason},
                 {"macs", f.macs},
                 {"macs_share", f.macs_share}});
  return j;
}

namespace {

// Per run, in milliseconds of device time (additive field; null when no step ran on a
// queued device).
nlohmann::json device_time_json(const SessionBenchResult& sr) {
  const runtime::DeviceTimes& d = sr.device_times;
  if (d.runs == 0) return nullptr;
  const double per_run_ms = 1e3 / static_cast<double>(d.runs);
  return {{"to_device_ms", d.to_device_s * per_run_ms},
          {"compute_ms", d.compute_s * per_run_ms},
          {"to_host_ms", d.to_host_s * per_run_ms},
          {"runs", d.runs},
          {"graphs", sr.device_graphs}};
}

}  // namespace

nlohmann::json bench_results_json(const SessionBenchResult& sr) {
  const BenchResult& r = sr.bench;
  nlohmann::json lat = r.latency.count > 0 ? latency_json(r.latency) : nlohmann::json::object();
  const EarlyStoppingEstimate& e = r.early_stopping;
  lat["early_stopping"] = {{"percentile", e.percentile},
                           {"confidence", e.confidence},
                           {"valid", e.valid},
                           {"queries", e.queries},
                           {"overlatency", e.overlatency},
                           {"discarded", e.discarded},
                           {"min_queries", e.min_queries},
                           {"estimate_ms", ms_or_null(e.estimate, e.valid)}};
  lat["init_s"] = r.init_s >= 0 ? nlohmann::json(r.init_s) : nlohmann::json(nullptr);
  lat["first_inference_ms"] = r.first_inference_s * 1e3;
  lat["warmup_ms"] =
      ms_or_null(r.warmup_runs > 0 ? r.warmup_total_s / r.warmup_runs : 0, r.warmup_runs > 0);
  lat["warmup_queries"] = r.warmup_runs;
  lat["duration_s"] = r.duration_s;
  lat["samples_per_query"] = r.samples_per_query;
  lat["capped"] = r.capped;

  nlohmann::json thr{{"samples_per_s", r.samples_per_s},
                     {"queries_per_s", r.queries_per_s},
                     {"samples", r.samples},
                     {"inferences", r.inferences}};
  if (r.server) {
    for (auto& [k, v] : server_json(*r.server).items()) thr[k] = v;
  } else {
    thr["target_qps"] = thr["achieved_qps"] = thr["latency_bound_ms"] = thr["bound_met"] = nullptr;
  }
  if (!r.search.empty()) {
    thr["search"] = nlohmann::json::array();
    for (const auto& t : r.search) thr["search"].push_back(server_json(t));
  }

  const MemoryUse& m = sr.memory;
  nlohmann::json mem{
      {"peak_rss", m.peak_rss ? nlohmann::json(*m.peak_rss) : nlohmann::json(nullptr)},
      {"peak_rss_reset", m.peak_rss_reset},
      {"weight_bytes", m.weight_bytes},
      {"arena_bytes", m.arena_bytes}};
  if (!m.peak_rss_reset) mem["peak_rss_reset_reason"] = m.peak_rss_reset_reason;

  nlohmann::json energy = nullptr;
  if (r.energy) {
    energy = to_json(*r.energy);
    const double n = static_cast<double>(r.samples);
    energy["joules_per_inference"] =
        n > 0 ? nlohmann::json(r.energy->joules / n) : nlohmann::json(nullptr);
    energy["idle"] = r.idle ? to_json(*r.idle) : nlohmann::json(nullptr);
    energy["split"] = r.split ? to_json(*r.split) : nlohmann::json(nullptr);
    energy["active_joules_per_inference"] =
        r.split && n > 0 ? nlohmann::json(r.split->active_j / n) : nlohmann::json(nullptr);
    nlohmann::json work{{"bytes_moved", sr.work_per_inference.bytes_moved}};
    for (const auto& [f, macs] : sr.work_per_inference.macs_by_format) work["macs"][f] = macs;
    energy["work_per_inference"] = work;
  }

  nlohmann::json prof = nullptr;
  if (!sr.profile.empty()) {
    prof = nlohmann::json::array();
    for (const auto& p : sr.profile)
      prof.push_back({{"node", p.node},
                      {"op_type", p.op_type},
                      {"kernel", p.kernel},
                      {"declined", p.declined},
                      {"calls", p.calls},
                      {"time_s", p.time_s},
                      {"percent", p.percent},
                      {"macs", p.macs},
                      {"flops", p.flops},
                      {"bytes", p.bytes},
                      {"gflops_per_s", p.gflops_per_s},
                      {"device_time_s", p.device_time_s >= 0 ? nlohmann::json(p.device_time_s)
                                                             : nlohmann::json(nullptr)}});
  }
  return {{"latency", lat},
          {"throughput", thr},
          {"memory", mem},
          {"energy", energy},
          {"accuracy", nullptr},
          {"profile", prof},
          {"device_time", device_time_json(sr)}};
}

void add_encoded_size(nlohmann::json& results, const ir::Graph& model) {
  const compress::EncodedSize e = compress::encoded_size(model);
  results["memory"]["encoded_bytes"] = e.encoded_bytes;
  results["memory"]["encoded_without_huffman_bytes"] = e.fixed_bytes;
}

nlohmann::json eval_results_json(const EvalResult& r) {
  nlohmann::json per_class = nlohmann::json::array();
  for (const auto& c : r.per_class)
    per_class.push_back(
        {{"class", c.cls},
         {"samples", c.samples},
         {"top1", c.samples > 0 ? nlohmann::json(c.top1()) : nlohmann::json(nullptr)}});
  nlohmann::json acc{{"samples", r.samples},
                     {"classes", r.classes},
                     {"batch", r.batch},
                     {"top1", r.top1},
                     {"top5", r.top5},
                     {"top1_correct", r.top1_correct},
                     {"top5_correct", r.top5_correct},
                     {"nonfinite", r.nonfinite},
                     {"per_class", per_class},
                     {"confusion", r.confusion},
                     {"reference", nullptr},
                     {"seconds", r.seconds},
                     {"samples_per_s", r.samples_per_s},
                     {"preprocess", r.data}};
  if (r.reference)
    acc["reference"] = {{"model", r.reference->model},
                        {"top1_agreement", r.reference->top1_agreement},
                        {"mean_kl", r.reference->mean_kl}};
  return {{"latency", nullptr}, {"throughput", nullptr}, {"memory", nullptr},
          {"energy", nullptr},  {"accuracy", acc},       {"profile", nullptr}};
}

nlohmann::json make_record(const RecordWhat& what, nlohmann::json results, nlohmann::json where) {
  return {{"schema", kRecordSchema},
          {"what", to_json(what)},
          {"results", std::move(results)},
          {"where", std::move(where)}};
}

std::vector<std::string> record_problems(const nlohmann::json& r) {
  std::vector<std::string> p;
  auto need = [&](const nlohmann::json& obj, const char* section, const char* key,
                  nlohmann::json::value_t type) {
    if (!obj.is_object() || !obj.contains(key)) {
      p.push_back(std::string(section) + "." + key + " missing");
    } else if (obj[key].type() != type &&
               !(type == nlohmann::json::value_t::number_integer && obj[key].is_number_integer())) {
      p.push_back(std::string(section) + "." + key + " has type " + obj[key].type_name());
    }
  };
  using T = nlohmann::json::value_t;
  if (!r.is_object()) return {"not a JSON object"};
  if (r.value("schema", "") != kRecordSchema) p.push_back("schema is not frugal.record/1");
  const auto& w = r.contains("what") ? r["what"] : nlohmann::json();
  need(w, "what", "model", T::string);
  need(w, "what", "model_digest", T::string);
  need(w, "what", "backend", T::array);
  need(w, "what", "threads", T::number_integer);
  need(w, "what", "batch", T::number_integer);
  need(w, "what", "scenario", T::string);
  if (w.is_object() && w.contains("model_digest") && w["model_digest"].is_string() &&
      w["model_digest"].get<std::string>().size() != 64)
    p.push_back("what.model_digest is not 64 hex digits");
  const auto& res = r.contains("results") ? r["results"] : nlohmann::json();
  for (const char* k : {"latency", "throughput", "memory", "energy", "accuracy"})
    if (!res.is_object() || !res.contains(k)) p.push_back(std::string("results.") + k + " missing");
  const auto& wh = r.contains("where") ? r["where"] : nlohmann::json();
  need(wh, "where", "cpu_model", T::string);
  need(wh, "where", "cpu_flags", T::array);
  need(wh, "where", "git_revision", T::string);
  need(wh, "where", "libraries", T::object);
  need(wh, "where", "time", T::string);
  return p;
}

}  // namespace frugal::measure
