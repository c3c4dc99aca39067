#include "frugal/explore/study.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "frugal/compress/methods.h"
#include "frugal/core/error.h"
#include "frugal/core/version.h"
#include "frugal/explore/report.h"
#include "frugal/explore/store.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/kernels/backend.h"
#include "frugal/measure/sha256.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::explore {
namespace {

namespace fs = std::filesystem;

// The models trained by `frugal train` (default recipe: SGD, momentum 0.9, cosine), evaluated
// on all 10,000 Fashion-MNIST test images; the zoo models measure speed, memory and energy
// only (random weights). Epochs are chosen so that `frugal study` fits its budget on a
// 2-core machine (docs/sweep.md, "frugal study").
// The two larger models are measured at 2 threads only: each of their points evaluates all
// 10,000 test images, and accuracy does not depend on the thread count.
struct TrainedModel {
  const char* zoo;
  int epochs;
  bool both_thread_counts;
};
const TrainedModel kTrainedFull[] = {
    {"lenet5", 3, true}, {"resnet8_fmnist", 1, false}, {"mobilenet_fmnist", 1, false}};
const TrainedModel kTrainedQuick[] = {{"lenet5", 1, true}};
const char* const kZooFull[] = {"squeezenet1_1", "mobilenet_v2", "resnet18"};
const char* const kZooQuick[] = {"squeezenet1_1"};
constexpr int64_t kQuickTrainLimit = 10000;  // --quick trains on these images

std::string yaml_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (const auto& i : items) s += (s.size() > 1 ? ", " : "") + std::string("\"") + i + "\"";
  return s + "]";
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

// Fine-tuning: after pruning with the zeros kept (docs/pruning.md), after weight sharing
// with the shared values kept. The train split only: the study evaluates every point on the
// test split itself.
std::string fine_tune_step(bool quick, const std::string& keep, int64_t images) {
  return "train {in} -o {out} --data fashion-mnist:train" + keep +
         " --epochs 1 --lr 0.01 --batch 64 --seed 0 --threads 2 --quiet --limit " +
         std::to_string(quick ? std::min(kQuickTrainLimit / 4, images) : images);
}

// A compress method as transform steps. Trained models: the pruning part, fine-tuning, then
// the rest (Deep Compression order), calibrated on Fashion-MNIST's train split. Zoo models:
// one step, no fine-tuning, calibrated on random inputs (they have no data set).
std::vector<std::string> method_steps(const compress::MethodRecipe& m, bool trained, bool quick) {
  const bool data = m.needs().data;
  auto compress_step = [&](const compress::PipelineSpec& spec) {
    compress::MethodRecipe part = m;
    part.spec = spec;
    std::string s = "compress " + joined(part.compress_args());
    if (!spec.quant.empty() && data)
      s += trained ? " --calib-data fashion-mnist" : " --calibration random:16";
    return s;
  };
  if (!trained || !m.needs().fine_tuning) return {compress_step(m.spec)};
  // A method that fine-tunes without pruning (low-rank, weight sharing alone): after it.
  if (m.spec.prune.empty())
    return {
        compress_step(m.spec),
        fine_tune_step(quick, m.spec.cluster.empty() ? "" : " --cluster keep", m.fine_tune_images)};
  compress::PipelineSpec prune_only, rest = m.spec;
  prune_only.prune = m.spec.prune;
  prune_only.exclude = m.spec.exclude;
  rest.prune.clear();
  rest.exclude.clear();
  std::vector<std::string> steps{compress_step(prune_only),
                                 fine_tune_step(quick, " --prune keep", m.fine_tune_images)};
  if (!rest.cluster.empty() || !rest.quant.empty()) steps.push_back(compress_step(rest));
  return steps;
}

// Fine-tuning follows the pruning part, which leads the label as it leads the pipeline.
std::string transform_label(const compress::MethodRecipe& m, bool trained) {
  std::string label = m.label;
  if (trained && m.needs().fine_tuning)
    label.insert(m.spec.prune.empty() ? label.size() : std::min(label.find('+'), label.size()),
                 "+ft");
  if (!trained && m.needs().data && !m.spec.quant.empty()) label += " (random calibration)";
  return label;
}

// GPU rows (as issue 18 first wrote them): each backend that `auto` puts before cpu and
// that is present here (the cuda backend on a machine with a GPU), in fp32 and each format
// it has a variant for. None where there is none, so the grid is unchanged without a GPU.
std::vector<std::pair<std::string, std::vector<std::string>>> gpu_backends() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  const int cpu_rank = kernels::backend_traits("cpu").auto_rank;
  for (const auto& b : kernels::auto_backends()) {
    const auto& t = kernels::backend_traits(b);
    if (t.auto_rank >= cpu_rank || (t.available && !t.available())) continue;
    std::vector<std::string> precisions{"fp32"};
    for (const auto& [format, variant] : t.variants) precisions.push_back(format);
    out.push_back({b, precisions});
  }
  return out;
}

struct StudyPlan {
  std::vector<std::pair<TrainedModel, std::string>> trained;  // the model, its file
  std::vector<std::string> zoo;
};

std::string build_spec(const StudyPlan& plan, bool quick) {
  std::string y = std::string("name: ") + (quick ? "study-quick" : "study") + "\nmodels:\n";
  std::vector<std::string> trained, zoo = plan.zoo;
  for (const auto& [m, file] : plan.trained) {
    y += "  - {file: \"" + file + "\", name: " + m.zoo + ", data: \"fashion-mnist:test\"" +
         (quick ? ", limit: 1000" : "") + (m.both_thread_counts ? "" : ", threads: [2]") + "}\n";
    trained.push_back(m.zoo);
  }
  for (const auto& z : zoo) y += "  - zoo: " + z + "\n";

  // Every method the compress pipeline lists, in a trained and a zoo form.
  std::vector<std::string> t_float, t_quant, z_float, z_quant;
  std::set<std::string> labels{"none"};
  y += "transforms:\n  - none\n";
  for (const auto& m : compress::study_methods()) {
    bool quant = !m.spec.quant.empty();
    for (bool is_trained : {true, false}) {
      if ((is_trained ? trained : zoo).empty()) continue;
      std::string label = transform_label(m, is_trained);
      // A method without fine-tuning or data is the same steps for both kinds of model.
      if (labels.insert(label).second)
        y += "  - {name: \"" + label +
             "\", steps: " + yaml_list(method_steps(m, is_trained, quick)) + "}\n";
      (is_trained ? (quant ? t_quant : t_float) : (quant ? z_quant : z_float)).push_back(label);
    }
  }
  // Host CPU at every precision, 1 and 2 threads; GPU rows where a GPU is present.
  y += "backends:\n  - {name: \"cpu,ref\", precisions: [fp32, bf16, int8]}\n";
  for (const auto& b : gpu_backends()) {
    y += "  - {name: \"" + b.first + ",cpu,ref\", precisions: " + yaml_list(b.second) +
         ", threads: [1]}\n";
  }
  y += "threads: [1, 2]\n";
  // Compressed models run on the engine they are made for: float ones in fp32 (or a GPU's
  // fp16), quantized ones in int8; zoo models' at 2 threads only.
  auto all = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    for (const auto& x : b)
      if (std::find(a.begin(), a.end(), x) == a.end()) a.push_back(x);
    return a;
  };
  y += "exclude:\n";
  if (!all(t_float, z_float).empty())
    y += "  - {transform: " + yaml_list(all(t_float, z_float)) + ", precision: [bf16, int8]}\n";
  if (!all(t_quant, z_quant).empty())
    y += "  - {transform: " + yaml_list(all(t_quant, z_quant)) + ", precision: [fp32, bf16]}\n";
  if (!zoo.empty()) {
    auto only = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
      std::vector<std::string> o;
      for (const auto& x : a)
        if (std::find(b.begin(), b.end(), x) == b.end()) o.push_back(x);
      return o;
    };
    auto t_all = all(t_float, t_quant), z_all = all(z_float, z_quant);
    if (!only(t_all, z_all).empty())
      y +=
          "  - {model: " + yaml_list(zoo) + ", transform: " + yaml_list(only(t_all, z_all)) + "}\n";
    if (!only(z_all, t_all).empty())
      y += "  - {model: " + yaml_list(trained) + ", transform: " + yaml_list(only(z_all, t_all)) +
           "}\n";
    // Zoo models' compressed forms at 2 threads only; --quick measures them uncompressed.
    y += "  - {model: " + yaml_list(zoo) + ", transform: " + yaml_list(z_all) +
         (quick ? "" : ", threads: 1") + "}\n";
  }
  y += "include:\n";
  // Pipelines: measured on host cores for the first trained and the first zoo model; modeled
  // (estimates) for LeNet-5 and the zoo models: no 10,000-image evaluation of each K.
  std::vector<std::string> piped{trained.front()};
  if (!zoo.empty()) piped.push_back(zoo.front());
  y += "  - {model: " + yaml_list(piped) +
       ", transform: none, backend: \"cpu,ref\", precision: fp32, threads: 1, devices: host-cores, "
       "stages: [1, 2], partition: optimal}\n";
  y += "  - {model: " + trained.front() +
       ", transform: none, backend: \"cpu,ref\", precision: fp32, threads: 1, batch: [8, 32]}\n";
  y += "  - {model: " + yaml_list(all({trained.front()}, zoo)) +
       ", transform: none, backend: \"cpu,ref\", precision: int8, threads: 1, devices: edgetpu-x8, "
       "stages: " +
       (quick ? "[1, 2]" : "[1, 2, 4]") + ", partition: params}\n";
  // Training formats: LeNet-5 from scratch on a short schedule (200 iterations) in each
  // format and rounding; the Record carries the cost model's pJ per MAC (an estimate).
  y += std::string(
           "train:\n  - {model: lenet5, name: lenet5-formats, data: fashion-mnist, limit: 3200, "
           "epochs: 1, batch: 16, lr: 0.05, seed: 0, threads: 1, timeout: 300,\n") +
       (quick ? "     formats: [fp32, e4m3], rounding: [nearest]}\n"
              : "     formats: [fp32, bf16, fp16, e5m2, e4m3, e3m2], rounding: [nearest, "
                "stochastic]}\n");
  y += "power: auto\n";
  y += quick ? "duration: 0.3\nmin_queries: 10\ntimeout: 120\n"
               "bench_args: [--idle-seconds, \"0\", --warmup, \"0.1\"]\n"
             : "duration: 0.5\nmin_queries: 20\ntimeout: 900\n"
               "bench_args: [--idle-seconds, \"0.2\", --warmup, \"0.2\"]\n";
  return y;
}

StudyPlan plan_of(bool quick, const std::vector<std::string>& files) {
  StudyPlan p;
  size_t i = 0;
  for (const auto& m :
       quick ? std::vector<TrainedModel>(std::begin(kTrainedQuick), std::end(kTrainedQuick))
             : std::vector<TrainedModel>(std::begin(kTrainedFull), std::end(kTrainedFull)))
    p.trained.push_back({m, i < files.size() ? files[i++] : std::string("{") + m.zoo + "_file}"});
  for (const char* z : quick ? std::vector<const char*>(std::begin(kZooQuick), std::end(kZooQuick))
                             : std::vector<const char*>(std::begin(kZooFull), std::end(kZooFull)))
    p.zoo.push_back(z);
  return p;
}

void say(const StudyOptions& o, const std::string& line) {
  if (o.log) {
    std::fprintf(o.log, "%s\n", line.c_str());
    std::fflush(o.log);
  }
}

}  // namespace

std::string study_spec_yaml(bool quick) {
  return build_spec(plan_of(quick, {}), quick);
}

std::vector<std::string> study_train_args(const std::string& zoo, int epochs, bool quick) {
  std::vector<std::string> a{"train",     zoo,
                             "--data",    "fashion-mnist:train",
                             "--epochs",  std::to_string(epochs),
                             "--batch",   "64",
                             "--seed",    "0",
                             "--threads", "2",
                             "--quiet"};
  if (quick) a.insert(a.end(), {"--limit", std::to_string(kQuickTrainLimit)});
  return a;
}

namespace {
std::string minutes(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int t = static_cast<int>(s + 0.5);
  return t >= 60 ? std::to_string(t / 60) + "m" + (t % 60 < 10 ? "0" : "") +
                       std::to_string(t % 60) + "s"
                 : std::to_string(t) + "s";
}

// Trains `m` in this process (the library's trainer, as `frugal train` would with the same
// arguments), or finds it cached under the digest of those arguments; returns the file and
// a line saying how it was obtained. On a terminal a progress line with the ETA is redrawn.
std::pair<std::string, std::string> trained_model(const StudyOptions& o, const TrainedModel& m,
                                                  size_t index, size_t count) {
  auto args = study_train_args(m.zoo, m.epochs, o.quick);
  std::string command = joined(args);
  std::string file =
      o.cache_dir + "/trained/" + measure::sha256_hex(command).substr(0, 32) + ".onnx";
  std::error_code ec;
  if (fs::exists(file, ec)) return {file, "`frugal " + command + "`: cached"};
  say(o, "study: training " + std::string(m.zoo) + " (" + std::to_string(index + 1) + " of " +
             std::to_string(count) + "): frugal " + command);
  train::TrainConfig c;
  c.data = "fashion-mnist:train";
  c.epochs = m.epochs;
  c.batch = 64;
  c.seed = 0;
  c.threads = 2;
  c.limit = o.quick ? kQuickTrainLimit : 0;
  std::string tmp = file + ".tmp" + std::to_string(::getpid()) + ".onnx";
  c.checkpoint = tmp + ".ckpt";
  auto t0 = std::chrono::steady_clock::now();
  auto last_draw = t0 - std::chrono::seconds(1);
  train::Trainer trainer(zoo::build(m.zoo, c.seed), c);
  trainer.run([](const train::EpochStats&) {},
              [&](int64_t epoch, int64_t done, int64_t total, double loss) {
                auto now = std::chrono::steady_clock::now();
                if (!o.progress || now - last_draw < std::chrono::milliseconds(500)) return;
                last_draw = now;
                double elapsed = std::chrono::duration<double>(now - t0).count();
                double frac =
                    (static_cast<double>(epoch - 1) +
                     static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total, 1))) /
                    static_cast<double>(m.epochs);
                // The ETA is this model's: the next models' costs are not known yet, and the
                // sweep that follows draws its own.
                char line[200];
                std::snprintf(line, sizeof line,
                              "[train %zu/%zu] %s epoch %lld/%d %3.0f%% loss %.3f, %s, ETA %s "
                              "(this model; then the sweep)",
                              index + 1, count, m.zoo, static_cast<long long>(epoch), m.epochs,
                              100 * frac, loss, minutes(elapsed).c_str(),
                              minutes(frac > 0 ? elapsed / frac * (1 - frac) : NAN).c_str());
                std::fprintf(stderr, "\r\033[K%s", line);
                std::fflush(stderr);
              });
  if (o.progress) std::fprintf(stderr, "\r\033[K");
  fs::remove(c.checkpoint, ec);
  ir::save_onnx(trainer.model(), tmp);
  fs::rename(tmp, file, ec);
  if (ec) throw UserError(file + ": cannot store the trained model: " + ec.message());
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {file, "`frugal " + command + "` (in process) in " +
                    std::to_string(static_cast<int>(took + 0.5)) + " s"};
}
}  // namespace

StudyResult run_study(const StudyOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  StudyResult res;
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (!fs::is_directory(o.out_dir, ec))
    throw UserError(o.out_dir + ": cannot create the output folder");
  res.db_path = (fs::path(o.out_dir) / "results.sqlite").string();
  res.report_path = (fs::path(o.out_dir) / "report.html").string();
  // Opened first: a read-only folder or a foreign file fails before minutes of training.
  Store store = Store::open(res.db_path, Store::Mode::read_write);

  // 1. The trained models, cached by the digest of their training command.
  fs::create_directories(o.cache_dir + "/trained", ec);
  std::vector<std::string> files;
  const auto models =
      o.quick ? std::vector<TrainedModel>(std::begin(kTrainedQuick), std::end(kTrainedQuick))
              : std::vector<TrainedModel>(std::begin(kTrainedFull), std::end(kTrainedFull));
  for (const auto& m : models) {
    auto [file, note] = trained_model(o, m, files.size(), models.size());
    files.push_back(file);
    res.model_notes.push_back(std::string(m.zoo) + " trained on Fashion-MNIST by " + note);
    say(o, "study: " + res.model_notes.back());
  }
  std::string cnn_file = files.front();

  // 2. The grid, less the engines this build cannot run (probed once on the CNN).
  std::string yaml = build_spec(plan_of(o.quick, files), o.quick);
  SweepSpec spec = parse_sweep_spec(
      yaml, o.quick ? "study --quick (embedded spec)" : "study (embedded spec)", "");
  ChildLimits probe_limits;
  probe_limits.timeout_s = 30;
  auto probe = [&](const std::string& backend, const std::string& precision,
                   const std::string& format) {
    std::vector<std::string> argv{o.frugal_exe, "run",         cnn_file, "--backend",
                                  backend,      "--precision", precision};
    if (!format.empty()) argv.insert(argv.end(), {"--format", format});
    if (precision == "int8") argv.insert(argv.end(), {"--calibration", "random:4"});
    ChildResult r = run_child(argv, probe_limits);
    return r.ok() ? std::string() : r.describe() + ": " + r.last_error_line();
  };
  // A preference list's first backend must run on its own (a GPU list falling back to the
  // CPU would give GPU rows that ran on the CPU); then the engine as a whole.
  std::map<std::string, std::string> engine_ok;  // engine -> "" or why not
  std::vector<Point> points;
  for (const auto& p : spec.points) {
    if (p.train) {  // training points run frugal train, no inference engine
      points.push_back(p);
      continue;
    }
    std::string first = p.backend.substr(0, p.backend.find(','));
    if (!engine_ok.count(first)) engine_ok[first] = probe(first, "fp32", "");
    std::string engine = p.backend + " " + p.precision + (p.format.empty() ? "" : " " + p.format);
    if (!engine_ok.count(engine))
      engine_ok[engine] =
          engine_ok[first].empty() ? probe(p.backend, p.precision, p.format) : engine_ok[first];
    if (!engine_ok[engine].empty() &&
        std::find(res.dropped.begin(), res.dropped.end(),
                  engine + " (" + engine_ok[engine] + ")") == res.dropped.end())
      res.dropped.push_back(engine + " (" + engine_ok[engine] + ")");
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
  in.title = spec.name + ": models trained on Fashion-MNIST and zoo models (random weights)";
  write_text_file(res.report_path, render_report_html(in));
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace frugal::explore
