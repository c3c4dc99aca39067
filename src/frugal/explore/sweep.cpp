#include "frugal/explore/sweep.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "frugal/core/error.h"
#include "frugal/core/version.h"
#include "frugal/explore/train_point.h"
#include "frugal/measure/sha256.h"
#include "frugal/measure/workflows.h"
#include "frugal/pipeline/devices.h"

namespace frugal::explore {
namespace {

namespace fs = std::filesystem;

std::string number_arg(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

struct Failure {
  std::string stage, error;
  ChildResult child;
};

ChildLimits limits_of(const Point& p) {
  ChildLimits l;
  l.timeout_s = p.settings.timeout_s;
  l.memory_bytes = p.settings.memory_mib * (int64_t{1} << 20);
  return l;
}

// A unique temporary name beside `final_path`, renamed into place when complete, so that
// a killed sweep never leaves a half-written model under its content name.
std::string temp_beside(const std::string& final_path) {
  static std::atomic<int> counter{0};
  return final_path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
         ".onnx";
}

// `frugal compress --quant` writes the activation ranges beside its model (the output's
// stem + .ranges.json); they travel with the model into the cache, and int8 points run with
// them (random calibration would re-range a calibrated model's activations).
std::string ranges_beside(const std::string& onnx) {
  return fs::path(onnx).replace_extension(".ranges.json").string();
}

// Runs `argv` that writes `tmp`; on success moves it (and its ranges) to `final_path`. A
// training step's checkpoint beside `tmp` is dropped.
std::optional<Failure> produce(const std::vector<std::string>& argv, const std::string& tmp,
                               const std::string& final_path, const ChildLimits& limits,
                               const std::string& stage) {
  ChildResult r = run_child(argv, limits);
  std::error_code ec;
  fs::remove(tmp + ".ckpt", ec);
  if (fs::exists(ranges_beside(tmp), ec))
    fs::rename(ranges_beside(tmp), ranges_beside(final_path), ec);
  if (!r.ok() || !fs::exists(tmp, ec)) {
    fs::remove(tmp, ec);
    std::string why = r.last_error_line();
    if (r.ok()) why = "the command wrote no model";
    return Failure{stage, r.describe() + (why.empty() ? "" : ": " + why), r};
  }
  fs::rename(tmp, final_path, ec);
  if (ec) return Failure{stage, final_path + ": cannot store: " + ec.message(), r};
  return std::nullopt;
}

std::optional<nlohmann::json> parse_record(const ChildResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("results")) return std::nullopt;
  return j;
}

}  // namespace

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/frugal";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/frugal";
  return "/tmp/frugal-cache";
}

std::vector<std::string> transform_argv(const std::string& step, const std::string& exe,
                                        const std::string& in, const std::string& out) {
  std::vector<std::string> argv{exe};
  bool placed = false;
  std::istringstream words(step);
  for (std::string w; words >> w;) {
    for (auto [ph, value] : {std::pair<std::string, std::string>{"{in}", in}, {"{out}", out}}) {
      for (size_t at; (at = w.find(ph)) != std::string::npos;) {
        w.replace(at, ph.size(), value);
        placed = true;
      }
    }
    argv.push_back(w);
  }
  if (!placed) argv.insert(argv.end(), {in, "-o", out});
  return argv;
}

namespace {
void engine_args(const Point& p, std::vector<std::string>& argv) {
  argv.insert(argv.end(), {"--backend", p.backend, "--precision", p.precision});
  // int8 needs activation ranges, and the other precisions refuse them.
  if (p.precision == "int8")
    argv.insert(
        argv.end(),
        {"--calibration", p.settings.calibration.empty() ? "random:16" : p.settings.calibration});
  if (!p.format.empty()) argv.insert(argv.end(), {"--format", p.format});
  argv.insert(argv.end(),
              {"--threads", std::to_string(p.threads), "--batch", std::to_string(p.batch)});
}
}  // namespace

namespace {
// Host cores run the pipeline; modeled devices only the simulator. A devices file that
// cannot be read is left to the child, which names it in its error.
bool needs_simulation(const Point& p) {
  try {
    const auto devices = pipeline::load_devices(p.devices);
    for (size_t k = 0; k < devices.devices.size() && k < static_cast<size_t>(p.stages); ++k)
      if (devices.devices[k].kind != pipeline::DeviceKind::kCpu) return true;
  } catch (const UserError&) {
  }
  return false;
}

std::vector<std::string> pipeline_argv(const Point& p, const std::string& exe,
                                       const std::string& model_path) {
  std::vector<std::string> argv{
      exe,         "pipeline", model_path, "--json",   "--stages", std::to_string(p.stages),
      "--devices", p.devices,  "--method", p.partition};
  engine_args(p, argv);
  if (needs_simulation(p)) argv.push_back("--simulate");
  if (!p.settings.power.empty()) argv.insert(argv.end(), {"--power", p.settings.power});
  if (p.settings.duration_s > 0)
    argv.insert(argv.end(), {"--duration", number_arg(p.settings.duration_s)});
  return argv;
}
}  // namespace

std::vector<std::string> bench_argv(const Point& p, const std::string& exe,
                                    const std::string& model_path) {
  if (p.train) return train_argv(p, exe, model_path, "TRAINED.onnx");
  if (p.pipelined()) return pipeline_argv(p, exe, model_path);
  std::vector<std::string> argv{exe, "bench", model_path, "--json"};
  engine_args(p, argv);
  argv.insert(argv.end(), {"--scenario", p.scenario});
  if (!p.settings.power.empty()) argv.insert(argv.end(), {"--power", p.settings.power});
  if (p.settings.duration_s > 0)
    argv.insert(argv.end(), {"--duration", number_arg(p.settings.duration_s)});
  if (p.settings.min_queries > 0)
    argv.insert(argv.end(), {"--min-queries", std::to_string(p.settings.min_queries)});
  argv.insert(argv.end(), p.settings.bench_args.begin(), p.settings.bench_args.end());
  return argv;
}

std::vector<std::string> eval_argv(const Point& p, const std::string& exe,
                                   const std::string& model_path) {
  std::vector<std::string> argv{exe, "eval", model_path, "--json", "--data", p.model.data};
  if (p.model.limit > 0) argv.insert(argv.end(), {"--limit", std::to_string(p.model.limit)});
  engine_args(p, argv);
  argv.insert(argv.end(), p.settings.eval_args.begin(), p.settings.eval_args.end());
  return argv;
}

namespace {
// A training point: `frugal train` into the cache (the trained model is kept under the
// digest of its key), its summary turned into the Record.
std::optional<Failure> run_training(const Point& p, const SweepOptions& o,
                                    const std::string& model_path, const ChildLimits& limits,
                                    std::optional<nlohmann::json>& record) {
  std::error_code ec;
  std::string dir = o.cache_dir + "/trained";
  fs::create_directories(dir, ec);
  std::string final_path =
      dir + "/" + measure::sha256_hex(p.key() + "\n" + FRUGAL_GIT_REV).substr(0, 32) + ".onnx";
  std::string tmp = temp_beside(final_path);
  std::time_t started = std::time(nullptr);
  ChildResult r = run_child(train_argv(p, o.frugal_exe, model_path, tmp), limits);
  fs::remove(tmp + ".ckpt", ec);
  if (!r.ok() || !fs::exists(tmp, ec)) {
    fs::remove(tmp, ec);
    std::string why = r.ok() ? "the command wrote no model" : r.last_error_line();
    return Failure{"train", r.describe() + (why.empty() ? "" : ": " + why), r};
  }
  fs::rename(tmp, final_path, ec);
  try {
    record = train_record(p, nlohmann::json::parse(r.out, nullptr, false), model_path, r.wall_s,
                          started);
  } catch (const UserError& e) {
    return Failure{"train", e.what(), r};
  }
  return std::nullopt;
}
}  // namespace

PointOutcome run_point(const Point& p, const SweepOptions& o) {
  PointOutcome out;
  PointRow& row = out.row;
  row.key = p.key();
  row.spec = p.to_json();
  row.started = utc_now_iso8601();
  auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](std::optional<Failure> f) {
    row.finished = utc_now_iso8601();
    row.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!f) {
      row.status = "ok";
      return;
    }
    row.status = "failed";
    row.stage = f->stage;
    row.error = f->error;
    row.exit_code = f->child.exit_code;
    row.signal = f->child.signal;
    row.timed_out = f->child.timed_out;
    row.stderr_tail = f->child.err_tail;
    out.record.reset();
  };
  ChildLimits limits = limits_of(p);
  std::error_code ec;

  // 1. The model: a file as given, or a zoo model built once per frugal revision.
  std::string model_path;
  if (!p.model.zoo.empty()) {
    std::string dir = o.cache_dir + "/zoo";
    fs::create_directories(dir, ec);
    model_path = dir + "/" + p.model.zoo + "-" + FRUGAL_GIT_REV + ".onnx";
    if (!fs::exists(model_path, ec)) {
      std::string tmp = temp_beside(model_path);
      if (auto f = produce({o.frugal_exe, "zoo", p.model.zoo, "-o", tmp, "--seed", "0"}, tmp,
                           model_path, limits, "model")) {
        finish(f);
        return out;
      }
    }
  } else {
    model_path = p.model.file;
    if (!fs::is_regular_file(model_path, ec)) {
      finish(Failure{"model", model_path + ": no such file", {}});
      return out;
    }
  }

  if (p.train) {
    finish(run_training(p, o, model_path, limits, out.record));
    return out;
  }

  // 2. Transform steps, each cached under the digest of its input's bytes and the step.
  for (const auto& step : p.transform.steps) {
    std::string digest;
    try {
      digest = measure::sha256_hex(measure::sha256_file(model_path) + "\n" + step);
    } catch (const UserError& e) {
      finish(Failure{"transform", e.what(), {}});
      return out;
    }
    std::string dir = o.cache_dir + "/transformed";
    fs::create_directories(dir, ec);
    std::string next = dir + "/" + digest.substr(0, 32) + ".onnx";
    if (!fs::exists(next, ec)) {
      std::string tmp = temp_beside(next);
      if (auto f = produce(transform_argv(step, o.frugal_exe, model_path, tmp), tmp, next, limits,
                           "transform")) {
        f->error = "'" + step + "': " + f->error;
        finish(f);
        return out;
      }
    }
    model_path = next;
  }
  Point run = p;
  if (run.precision == "int8" && run.settings.calibration.empty() &&
      fs::exists(ranges_beside(model_path), ec))
    run.settings.calibration = ranges_beside(model_path);
  row.spec["model_path"] = model_path;
  row.spec["model_file_bytes"] = static_cast<int64_t>(fs::file_size(model_path, ec));

  // 3. Latency, throughput, memory, energy.
  ChildResult bench = run_child(bench_argv(run, o.frugal_exe, model_path), limits);
  if (!bench.ok()) {
    std::string why = bench.last_error_line();
    finish(Failure{"bench", bench.describe() + (why.empty() ? "" : ": " + why), bench});
    return out;
  }
  out.record = parse_record(bench);
  if (!out.record) {
    finish(Failure{"bench", "bench --json printed no Record", bench});
    return out;
  }

  // 4. Accuracy, when the model names a data set: merged into the bench Record.
  if (!p.model.data.empty()) {
    ChildResult eval = run_child(eval_argv(run, o.frugal_exe, model_path), limits);
    if (!eval.ok()) {
      std::string why = eval.last_error_line();
      finish(Failure{"eval", eval.describe() + (why.empty() ? "" : ": " + why), eval});
      return out;
    }
    auto rec = parse_record(eval);
    if (!rec || !rec->contains(nlohmann::json::json_pointer("/results/accuracy"))) {
      finish(Failure{"eval", "eval --json printed no Record with results.accuracy", eval});
      return out;
    }
    measure::add_accuracy(*out.record, *rec);
  }
  // The steps that made the model, then the graph passes the bench's session ran.
  measure::add_transform_steps(*out.record, p.transform.steps);
  finish(std::nullopt);
  return out;
}

std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int t = static_cast<int>(s + 0.5);
  if (t >= 3600) return std::to_string(t / 3600) + "h" + std::to_string(t / 60 % 60) + "m";
  if (t >= 60) return std::to_string(t / 60) + "m" + std::to_string(t % 60) + "s";
  return std::to_string(t) + "s";
}

void check_sweep_options(const SweepOptions& o) {
  std::error_code ec;
  if (fs::exists(o.cache_dir, ec) && !fs::is_directory(o.cache_dir, ec))
    throw UserError("--cache " + o.cache_dir +
                    ": is a file, not a directory (every point would fail)");
}

SweepSummary run_sweep(const std::vector<Point>& points, Store& store, const SweepOptions& o) {
  check_sweep_options(o);
  SweepSummary sum;
  sum.planned = points.size();
  std::vector<const Point*> todo;
  std::set<std::string> done = o.resume ? store.ok_keys() : std::set<std::string>{};
  for (const auto& p : points) {
    if (done.count(p.key()))
      ++sum.skipped;
    else
      todo.push_back(&p);
  }
  auto t0 = std::chrono::steady_clock::now();
  std::mutex mu;
  std::atomic<size_t> next{0};
  std::vector<std::string> running(static_cast<size_t>(std::max(1, o.jobs)));
  std::exception_ptr store_error;

  auto draw = [&](size_t finished) {  // under mu
    if (!o.progress) return;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double eta = finished ? elapsed / static_cast<double>(finished) *
                                static_cast<double>(todo.size() - finished)
                          : NAN;
    std::string current;
    for (const auto& r : running)
      if (!r.empty()) current += (current.empty() ? "" : ", ") + r;
    std::string line = "[" + std::to_string(finished) + "/" + std::to_string(todo.size()) +
                       "] ok " + std::to_string(sum.ok) + ", failed " + std::to_string(sum.failed) +
                       ", ETA " + duration_text(eta) + (current.empty() ? "" : " | " + current);
    if (line.size() > 150) line = line.substr(0, 147) + "...";
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  };

  auto worker = [&](size_t slot) {
    for (;;) {
      size_t i = next++;
      if (i >= todo.size()) return;
      {
        std::lock_guard lock(mu);
        if (store_error) return;
        running[slot] = todo[i]->key();
        draw(sum.ok + sum.failed);
      }
      PointOutcome out = run_point(*todo[i], o);
      std::lock_guard lock(mu);
      running[slot].clear();
      try {
        store.put(out.row, out.record);
      } catch (...) {
        store_error = std::current_exception();
        return;
      }
      (out.row.status == "ok" ? sum.ok : sum.failed)++;
      sum.keys_run.push_back(out.row.key);
      if (o.log) {
        if (o.progress) std::fprintf(stderr, "\r\033[K");
        std::string what = out.row.status == "ok" ? "ok    " : "FAILED";
        std::fprintf(
            o.log, "[%zu/%zu] %s %s (%.1f s)%s\n", sum.ok + sum.failed, todo.size(), what.c_str(),
            out.row.key.c_str(), out.row.wall_s,
            out.row.status == "ok" ? "" : ("  " + out.row.stage + ": " + out.row.error).c_str());
        std::fflush(o.log);
      }
      draw(sum.ok + sum.failed);
    }
  };
  size_t jobs = static_cast<size_t>(std::clamp(o.jobs, 1, 64));
  if (jobs == 1) {
    worker(0);
  } else {
    std::vector<std::thread> threads;
    for (size_t s = 0; s < jobs; ++s) threads.emplace_back(worker, s);
    for (auto& t : threads) t.join();
  }
  if (o.progress) std::fprintf(stderr, "\r\033[K");
  if (store_error) std::rethrow_exception(store_error);
  sum.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace frugal::explore
