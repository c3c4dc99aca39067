#include "frugal/explore/study.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

#include "frugal/core/error.h"
#include "frugal/core/version.h"
#include "frugal/explore/report.h"
#include "frugal/explore/store.h"
#include "frugal/kernels/backend.h"
#include "frugal/measure/sha256.h"

namespace frugal::explore {
namespace {

namespace fs = std::filesystem;

// Full: the CNN on every engine at 1 and 2 threads, a batch scan, and three zoo models on
// the cpu backend. Quick: the CNN and one small zoo model, fewer engines, shorter runs.
const char* kFullSpec = R"yaml(
name: study
models:
  - file: "{cnn_file}"
    name: "{cnn_name}"
    data: fashion-mnist:test
    limit: 2000
  - zoo: squeezenet1_1
  - zoo: mobilenet_v2
  - zoo: resnet18
transforms: [none]
backends:
  - ref
  - name: cpu,ref
    precisions: [fp32, bf16, int8]
    threads: [1, 2]
  - name: emu,ref
    formats: ["w=e4m3,a=e4m3", "w=e5m2,a=e5m2"]
exclude:
  - {model: [squeezenet1_1, mobilenet_v2, resnet18], backend: [ref, "emu,ref"]}
include:
  - {model: "{cnn_name}", backend: "cpu,ref", precision: fp32, threads: 1, batch: [8, 32]}
power: auto
duration: 1
min_queries: 20
timeout: 180
bench_args: [--idle-seconds, "0.5", --warmup, "0.2"]
)yaml";

const char* kQuickSpec = R"yaml(
name: study-quick
models:
  - file: "{cnn_file}"
    name: "{cnn_name}"
    data: fashion-mnist:test
    limit: 500
  - zoo: squeezenet1_1
transforms: [none]
backends:
  - ref
  - name: cpu,ref
    precisions: [fp32, bf16, int8]
  - name: emu,ref
    formats: ["w=e4m3,a=e4m3"]
exclude:
  - {model: squeezenet1_1, backend: [ref, "emu,ref"]}
include:
  - {model: "{cnn_name}", backend: "cpu,ref", precision: fp32, batch: 8}
power: auto
duration: 0.3
min_queries: 10
timeout: 60
bench_args: [--idle-seconds, "0", --warmup, "0.1"]
)yaml";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

void say(const StudyOptions& o, const std::string& line) {
  if (o.log) {
    std::fprintf(o.log, "%s\n", line.c_str());
    std::fflush(o.log);
  }
}

}  // namespace

// GPU rows (issue 18): each backend that `auto` puts before cpu and that is present here (the
// cuda backend on a machine with a GPU), in fp32 and each format it has a variant for, on
// every model of the grid. Nothing where there is none, so the grid is unchanged.
static std::string gpu_backends_yaml() {
  std::string y;
  const int cpu_rank = kernels::backend_traits("cpu").auto_rank;
  for (const auto& b : kernels::auto_backends()) {
    const auto& t = kernels::backend_traits(b);
    if (t.auto_rank >= cpu_rank) continue;
    y += "  - name: " + b + ",ref\n    precisions: [fp32";
    for (const auto& [format, variant] : t.variants) y += ", " + format;
    y += "]\n";
  }
  return y;
}

std::string study_spec_yaml(bool quick) {
  return replace_all(quick ? kQuickSpec : kFullSpec, "\nbackends:\n",
                     "\nbackends:\n" + gpu_backends_yaml());
}

std::vector<std::string> study_train_args(bool quick) {
  // Adam: plain SGD barely moves LeNet-5 in the quick variant's few hundred steps.
  std::vector<std::string> a{"train", "lenet5", "--data", "fashion-mnist", "--batch", "32", "--optimizer", "adam",
                             "--lr", "0.002", "--seed", "0", "--quiet"};
  if (quick) a.insert(a.end(), {"--epochs", "1", "--limit", "10000"});
  else a.insert(a.end(), {"--epochs", "2"});
  return a;
}

StudyResult run_study(const StudyOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  StudyResult res;
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (!fs::is_directory(o.out_dir, ec)) throw UserError(o.out_dir + ": cannot create the output folder");
  res.db_path = (fs::path(o.out_dir) / "results.sqlite").string();
  res.report_path = (fs::path(o.out_dir) / "report.html").string();
  // Opened first: a read-only folder or a foreign file fails before minutes of training.
  Store store = Store::open(res.db_path, Store::Mode::read_write);

  // 1. The CNN: trained by `frugal train` when this build has it, cached by the digest of
  // the training command; else the untrained zoo LeNet-5 (and the report says so).
  std::string cnn_file, cnn_name;
  ChildLimits probe_limits;
  probe_limits.timeout_s = 30;
  bool can_train = run_child({o.frugal_exe, "train", "--help"}, probe_limits).ok();
  fs::create_directories(o.cache_dir + "/trained", ec);
  if (can_train) {
    auto args = study_train_args(o.quick);
    std::string spec;
    for (const auto& a : args) spec += a + " ";
    cnn_name = o.quick ? "cnn_fmnist_quick" : "cnn_fmnist";
    cnn_file = o.cache_dir + "/trained/" + measure::sha256_hex(spec).substr(0, 32) + ".onnx";
    if (fs::exists(cnn_file, ec)) {
      res.model_note = "CNN (LeNet-5) trained on Fashion-MNIST by `frugal " + spec + "`: cached " + cnn_file;
    } else {
      say(o, "study: training the CNN: frugal " + spec);
      std::vector<std::string> argv{o.frugal_exe};
      argv.insert(argv.end(), args.begin(), args.end());
      std::string tmp = cnn_file + ".tmp" + std::to_string(::getpid()) + ".onnx";
      std::string checkpoint = tmp + ".ckpt";
      argv.insert(argv.end(), {"-o", tmp, "--checkpoint", checkpoint});
      ChildLimits train_limits;
      train_limits.timeout_s = o.quick ? 120 : 600;
      ChildResult r = run_child(argv, train_limits);
      fs::remove(checkpoint, ec);
      if (!r.ok() || !fs::exists(tmp, ec)) {
        fs::remove(tmp, ec);
        throw UserError("study: training the CNN failed (" + r.describe() + "): " + r.last_error_line());
      }
      fs::rename(tmp, cnn_file, ec);
      res.model_note = "CNN (LeNet-5) trained on Fashion-MNIST by `frugal " + spec + "` in " +
                       std::to_string(static_cast<int>(r.wall_s + 0.5)) + " s, cached as " + cnn_file;
    }
  } else {
    cnn_name = "lenet5_untrained";
    cnn_file = o.cache_dir + "/zoo/lenet5-" + FRUGAL_GIT_REV + ".onnx";
    fs::create_directories(o.cache_dir + "/zoo", ec);
    if (!fs::exists(cnn_file, ec) && !run_child({o.frugal_exe, "zoo", "lenet5", "-o", cnn_file}, probe_limits).ok())
      throw UserError("study: cannot build the zoo lenet5");
    res.model_note = "`frugal train` is not in this build: the zoo LeNet-5 with random weights stands in (accuracy ~10%)";
  }
  say(o, "study: " + res.model_note);

  // 2. The grid, less the engines this build cannot run (probed once on the CNN).
  std::string yaml = replace_all(replace_all(study_spec_yaml(o.quick), "{cnn_file}", cnn_file), "{cnn_name}", cnn_name);
  SweepSpec spec = parse_sweep_spec(yaml, o.quick ? "study --quick (embedded spec)" : "study (embedded spec)", "");
  std::map<std::string, std::string> engine_ok;  // engine -> "" or why not
  std::vector<Point> points;
  for (const auto& p : spec.points) {
    std::string engine = p.backend + " " + p.precision + (p.format.empty() ? "" : " " + p.format);
    if (!engine_ok.count(engine)) {
      std::vector<std::string> argv{o.frugal_exe, "run", cnn_file, "--backend", p.backend, "--precision", p.precision};
      if (!p.format.empty()) argv.insert(argv.end(), {"--format", p.format});
      if (p.precision == "int8") argv.insert(argv.end(), {"--calibration", "random:4"});
      ChildResult r = run_child(argv, probe_limits);
      engine_ok[engine] = r.ok() ? "" : r.describe() + ": " + r.last_error_line();
      if (!r.ok()) res.dropped.push_back(engine + " (" + engine_ok[engine] + ")");
    }
    if (engine_ok[engine].empty()) points.push_back(p);
  }
  for (const auto& d : res.dropped) say(o, "study: left out " + d);
  res.points = points.size();

  // 3. Sweep, resuming what an earlier run of the same study measured.
  SweepOptions so;
  so.frugal_exe = o.frugal_exe;
  so.cache_dir = o.cache_dir;
  so.resume = true;
  so.progress = o.progress;
  so.log = o.log;
  res.sweep = run_sweep(points, store, so);

  // 4. Report.
  ReportInput in = load_report_input(store);
  in.title = spec.name + ": " + cnn_name + " and zoo models";
  write_text_file(res.report_path, render_report_html(in));
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace frugal::explore
