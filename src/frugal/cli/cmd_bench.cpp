// frugal bench MODEL: latency, throughput, memory and energy under an MLPerf-style load
// scenario. Parses and prints; measure/workflows.h (BenchRun) does the work.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/core/version.h"
#include "frugal/measure/workflows.h"

namespace frugal::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::vector<std::string> inputs;
  EngineArgs engine;
  std::string scenario = "single-stream";
  double duration = 5.0;
  int64_t min_queries = 64;
  double max_duration = 150.0;
  double warmup = 0.5;
  double qps = 0;
  double latency_bound_ms = 0;
  bool find_qps = false;
  std::string pin;
  bool profile = false;
  int profile_rows = 25;
  std::string power = "none";
  std::string power_map, power_calibration;  // serial and powersensor3 sensors
  bool power_markers = false;
  double idle_seconds = 2.0;
  bool json = false;
};

std::string ms(double s) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.3f", s * 1e3);
  return b;
}

std::string mib(double bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f MiB", bytes / (1024.0 * 1024.0));
  return b;
}

std::string fixed(double v, int digits) {
  char b[48];
  std::snprintf(b, sizeof(b), "%.*f", digits, v);
  return b;
}

void print_energy(const measure::BenchResult& r) {
  const measure::Reading& e = *r.energy;
  const double n = static_cast<double>(r.samples);
  std::printf("energy     %s (%s): %.4g J over %.3f s, mean %.3g W, %lld samples", e.source.c_str(),
              measure::energy_kind_name(e.kind), e.joules, e.duration_s, e.mean_watts,
              static_cast<long long>(e.samples));
  if (e.period_s > 0) std::printf(" every %.3g s", e.period_s);
  std::printf("\n           %.4g J/inference%s\n", n > 0 ? e.joules / n : 0.0,
              e.kind == measure::EnergyKind::kEstimated ? " (estimated)" : "");
  if (r.split)
    std::printf(
        "           idle %.3g W over %.3g s before the run; active %.4g J = total - "
        "idle x %.3f s; %.4g J/inference active\n",
        r.split->idle_watts, r.idle->duration_s, r.split->active_j, r.split->duration_s,
        n > 0 ? r.split->active_j / n : 0.0);
  if (!e.note.empty()) std::printf("           note: %s\n", e.note.c_str());
}

void print_profile(const measure::SessionBenchResult& sr, int rows) {
  Table t({"node", "op", "time ms", "%", "ms/run", "device ms", "GFLOP/s", "bytes", "kernel",
           "declined"});
  int shown = 0;
  for (const auto& p : sr.profile) {
    if (shown++ >= rows) break;
    std::string declined;
    for (const auto& d : p.declined) declined += (declined.empty() ? "" : "; ") + d;
    if (declined.size() > 70) declined = declined.substr(0, 67) + "...";
    t.add({p.node, p.op_type, ms(p.time_s), fixed(p.percent, 1),
           p.calls > 0 ? ms(p.time_s / static_cast<double>(p.calls)) : "-",
           p.device_time_s >= 0 ? ms(p.device_time_s) : "-",
           p.macs + p.flops > 0 ? fixed(p.gflops_per_s, 2) : "-", si(static_cast<double>(p.bytes)),
           p.kernel, declined.empty() ? "-" : declined});
  }
  std::printf("\nprofile (per node, summed over %lld timed inferences; node total %.3f ms)\n%s",
              static_cast<long long>(sr.bench.inferences), sr.profile_node_total_s * 1e3,
              t.str().c_str());
  if (static_cast<int>(sr.profile.size()) > rows)
    std::printf("... %zu more nodes (--profile-rows N, or --json for all)\n",
                sr.profile.size() - static_cast<size_t>(rows));
}

measure::BenchSettings bench_settings(const BenchArgs& a) {
  measure::BenchSettings s;
  s.scenario = a.scenario;
  s.duration_s = a.duration;
  s.min_queries = a.min_queries;
  s.max_duration_s = a.max_duration;
  s.warmup_s = a.warmup;
  s.qps = a.qps;
  s.latency_bound_ms = a.latency_bound_ms;
  s.find_qps = a.find_qps;
  s.pin = a.pin;
  s.profile = a.profile;
  s.power = a.power;
  s.power_map = a.power_map;
  s.power_calibration = a.power_calibration;
  s.power_markers = a.power_markers;
  s.idle_s = a.idle_seconds;
  return s;
}

void bench_model(const BenchArgs& a) {
  if (a.profile_rows < 1) throw UserError("--profile-rows: must be 1 or more");
  measure::BenchRun run({nullptr, a.model, ""}, a.engine, bench_settings(a));
  const runtime::Session& session = run.session();
  const runtime::SessionOptions& opt = run.options();
  const measure::BenchOptions& bo = run.bench_options();
  const std::string& pinning = run.pinning();

  const auto& ports = session.inputs();
  const std::vector<Tensor> inputs = measure::make_inputs(
      session, a.inputs.size(), "--input",
      [&](size_t i, const auto& port) { return make_input(a.inputs[i], port, &session.graph()); });

  const measure::SystemInfo& sys = run.system();
  std::map<std::string, int> backend_nodes;
  for (const auto& as : session.assignments()) backend_nodes[as.backend]++;
  std::string per_backend;
  for (const auto& [b, n] : backend_nodes)
    per_backend += (per_backend.empty() ? "" : ", ") + b + ": " + std::to_string(n) + " nodes";

  if (!a.json) {
    std::string flags;
    for (const auto& f : sys.cpu.flags) flags += (flags.empty() ? "" : " ") + f;
    std::printf("frugal bench %s\n", a.model.c_str());
    std::printf("cpu        %s (%d logical CPUs online); flags: %s\n", sys.cpu.model_name.c_str(),
                sys.online_cpus, flags.empty() ? "none of interest" : flags.c_str());
    std::printf("threads    %d, pinning %s\n", a.engine.threads,
                pinning == "none" ? "none" : ("to CPUs " + pinning).c_str());
    std::printf("frugal     %s (%s)\n", FRUGAL_VERSION, FRUGAL_GIT_REV);
    std::printf("backend    %s (%s)\n", backend_list(opt).c_str(), per_backend.c_str());
    std::printf(
        "scenario   %s, batch %lld", a.scenario.c_str(),
        static_cast<long long>(ports.empty() || ports[0].shape.empty() ? 1 : ports[0].shape[0]));
    if (bo.scenario == measure::Scenario::kServer) {
      if (bo.find_qps)
        std::printf(", searching the highest QPS with p99 <= %g ms", a.latency_bound_ms);
      else
        std::printf(", Poisson arrivals at %g QPS", a.qps);
    }
    std::printf("; at least %g s and %lld queries (stop at %g s)\n", a.duration,
                static_cast<long long>(a.min_queries), a.max_duration);
    if (run.power().meter) {
      std::string why = run.power().explanation;
      if (why.rfind("power: ", 0) == 0) why = why.substr(7);
      std::printf("power      %s\n", why.c_str());
    }
    if (a.profile)
      std::printf("profile    on: per-node timers add two clock reads per node to each latency\n");
    std::fflush(stdout);
  }

  const bool progress_line = isatty(STDERR_FILENO) != 0;
  std::function<void(const measure::BenchProgress&)> progress;
  if (progress_line)
    progress = [](const measure::BenchProgress& p) {
      std::fprintf(stderr, "\r  %.1f s  %lld queries  p50 %.3f ms   ", p.elapsed_s,
                   static_cast<long long>(p.queries), p.p50_s * 1e3);
      std::fflush(stderr);
    };
  const measure::SessionBenchResult sr = run.run(inputs, progress);
  if (progress_line) std::fprintf(stderr, "\r\033[K");
  const measure::BenchResult& r = sr.bench;
  const double init_s = r.init_s;

  if (a.json) {
    print_json(run.record(sr));
    return;
  }

  const double warm_avg =
      r.warmup_runs > 0 ? r.warmup_total_s / static_cast<double>(r.warmup_runs) : 0;
  std::printf("\nInit: %.3f ms\n", init_s * 1e3);
  std::printf("First inference: %.3f ms\n", r.first_inference_s * 1e3);
  if (r.warmup_runs > 0)
    std::printf("Warmup (avg): %.3f ms over %lld runs\n", warm_avg * 1e3,
                static_cast<long long>(r.warmup_runs));
  else
    std::printf("Warmup: none\n");
  std::printf("Inference (avg): %.3f ms over %lld queries in %.3f s%s\n", r.latency.mean * 1e3,
              static_cast<long long>(r.latency.count), r.duration_s,
              r.capped ? " (stopped by --max-duration before the minimums were met)" : "");
  std::printf(
      "Inference timings in ms: Init: %.3f, First inference: %.3f, Warmup (avg): %.3f, "
      "Inference (avg): %.3f\n\n",
      init_s * 1e3, r.first_inference_s * 1e3, warm_avg * 1e3, r.latency.mean * 1e3);

  const char* per = bo.scenario == measure::Scenario::kMultiStream
                        ? "per query of 8 samples (its slowest sample)"
                    : bo.scenario == measure::Scenario::kServer ? "per query, queueing included"
                                                                : "per query";
  Table lt({"latency ms", "min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean", "stddev"});
  const auto& s = r.latency;
  lt.add({per, ms(s.min), ms(s.p50), ms(s.p90), ms(s.p95), ms(s.p99), ms(s.p999), ms(s.max),
          ms(s.mean), ms(s.stddev)});
  std::printf("%s", lt.str().c_str());
  const auto& e = r.early_stopping;
  if (e.valid)
    std::printf("early stopping p%g: %s ms (%lld queries, %lld highest discarded, confidence %g)\n",
                e.percentile * 100, ms(e.estimate).c_str(), static_cast<long long>(e.queries),
                static_cast<long long>(e.discarded), e.confidence);
  else
    std::printf("early stopping p%g: not valid with %lld queries (needs %lld)\n",
                e.percentile * 100, static_cast<long long>(e.queries),
                static_cast<long long>(e.min_queries));
  std::printf("throughput %.2f samples/s, %.2f queries/s (%lld samples in %.3f s)\n",
              r.samples_per_s, r.queries_per_s, static_cast<long long>(r.samples), r.duration_s);
  for (const auto& t : r.search)
    std::printf("  search   %8.2f QPS: %s\n", t.target_qps, t.verdict.c_str());
  if (r.server)
    std::printf("server     %s\n", r.server->verdict.c_str());
  else if (bo.find_qps)
    std::printf("server     no QPS tried met the bound of %g ms\n", a.latency_bound_ms);
  const auto& m = sr.memory;
  std::printf(
      "memory     peak RSS %s (%s), weights %s, activation arena %s\n",
      m.peak_rss ? mib(static_cast<double>(*m.peak_rss)).c_str() : "unknown",
      m.peak_rss_reset ? "reset before the run" : ("not reset: " + m.peak_rss_reset_reason).c_str(),
      mib(static_cast<double>(m.weight_bytes)).c_str(),
      mib(static_cast<double>(m.arena_bytes)).c_str());
  if (r.energy) print_energy(r);
  if (const runtime::DeviceTimes& d = sr.device_times; d.runs > 0) {
    const double n = static_cast<double>(d.runs);
    std::printf(
        "device     per run, device time (events): to device %s ms, compute %s ms, to host "
        "%s ms; %s\n",
        ms(d.to_device_s / n).c_str(), ms(d.compute_s / n).c_str(), ms(d.to_host_s / n).c_str(),
        sr.device_graphs.c_str());
  }
  if (!session.fallbacks().empty()) {
    // Steps the first backend declined (int8/bf16 falling back to float32), by MACs.
    double share = 0;
    for (const auto& f : session.fallbacks()) share += f.macs_share;
    std::printf("fallbacks  %zu steps not on %s, %.1f%% of the MACs\n", session.fallbacks().size(),
                opt.backends.front().c_str(), 100.0 * share);
    for (const auto& f : session.fallbacks())
      if (f.macs > 0)
        std::printf("  %-24s %-10s %5.1f%% of MACs on %s: %s\n", f.node_name.c_str(),
                    f.op_type.c_str(), 100.0 * f.macs_share, f.backend.c_str(), f.reason.c_str());
  }
  if (a.profile) print_profile(sr, a.profile_rows);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand(
      "bench", "Latency, throughput, memory and energy under an MLPerf-style load scenario");
  sub->footer(
      "Scenarios (MLPerf LoadGen): single-stream (next query when the previous ends; p90 early "
      "stopping), multi-stream (8 samples a query; its slowest sample), offline (back-to-back "
      "batches; throughput), server (Poisson arrivals at --qps with --latency-bound; "
      "--find-qps bisects for the highest QPS whose p99 meets the bound).\n"
      "Examples:\n"
      "  frugal bench resnet18.onnx --backend cpu,ref --threads 2\n"
      "  frugal bench resnet18.onnx --backend cpu,ref --scenario offline --batch 8\n"
      "  frugal bench lenet5.onnx --scenario server --qps 500 --latency-bound 5\n"
      "  frugal bench lenet5.onnx --scenario server --find-qps --latency-bound 2 --duration 2\n"
      "  frugal bench mobilenet_v2.onnx --backend cpu,ref --profile --power auto --json");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("--input", a->inputs,
                  "per model input, in order: FILE.npy, or random[:SEED] (default random:0)");
  add_engine_options(sub, a->engine);
  sub->add_option("--scenario", a->scenario,
                  "single-stream | multi-stream | offline | server (default single-stream)");
  sub->add_option("--duration", a->duration, "minimum seconds of timed queries (default 5)");
  sub->add_option("--min-queries", a->min_queries, "minimum timed queries (default 64)");
  sub->add_option("--max-duration", a->max_duration,
                  "stop the timed part after this many seconds even if the minimums are not "
                  "met, and say so (default 150, 0: never)");
  sub->add_option("--warmup", a->warmup,
                  "seconds of warm-up after the first inference, excluded (default 0.5)");
  sub->add_option("--qps", a->qps, "server: target queries per second (Poisson arrivals)");
  sub->add_option("--latency-bound", a->latency_bound_ms, "server: p99 latency bound in ms");
  sub->add_flag("--find-qps", a->find_qps,
                "server: bisect for the highest QPS meeting --latency-bound");
  sub->add_option("--pin", a->pin, "pin to CPUs, e.g. 0-3,6 (sched_setaffinity)");
  sub->add_flag("--profile", a->profile,
                "per-node table: time, %, GFLOP/s, bytes, kernel and why others declined");
  sub->add_option("--profile-rows", a->profile_rows, "nodes shown in the profile (default 25)");
  sub->add_option("--power", a->power,
                  "auto | rapl | nvml[:GPU] | serial:PATH[@BAUD] | powersensor3:PATH | model | "
                  "none (default none)");
  sub->add_option(
      "--power-map", a->power_map,
      "sensor channel=device list (energy per device in the Record), e.g. 0=gpu,1=host");
  sub->add_flag("--power-markers", a->power_markers,
                "the sensor timestamps the window's start and end (serial, powersensor3)");
  sub->add_option("--power-calibration", a->power_calibration,
                  "calibration file from `frugal power calibrate`");
  sub->add_option("--idle-seconds", a->idle_seconds,
                  "idle power measured for this long just before the run (default 2; 0: none)");
  sub->add_flag("--json", a->json, "print exactly one Record (docs/record.md)");
  sub->callback([a] { bench_model(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(bench, 40, setup);

}  // namespace frugal::cli
