// frugal study: the main job on an embedded default (train, sweep, report).
#include <unistd.h>

#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"
#include "frugal/explore/answers.h"
#include "frugal/explore/report.h"
#include "frugal/explore/study.h"

namespace frugal::cli {
namespace {

struct StudyArgs {
  bool quick = false;
  std::string out = "study";
  std::string cache;
  bool print_spec = false;
};

void run_study_command(const StudyArgs& a) {
  if (a.print_spec) {
    std::printf("%s", explore::study_spec_yaml(a.quick).c_str());
    return;
  }
  explore::StudyOptions o;
  o.quick = a.quick;
  o.out_dir = a.out;
  // Children exec /proc/self/exe: the very binary running now, even if a rebuild replaced the file.
  o.frugal_exe = "/proc/self/exe";
  o.cache_dir = a.cache.empty() ? explore::default_cache_dir() : a.cache;
  o.progress = isatty(2);
  explore::StudyResult r = explore::run_study(o);
  explore::Store store = explore::Store::open(r.db_path, explore::Store::Mode::read_only);
  auto rows = store.records();
  std::printf(
      "\nstudy: %zu points (%zu measured now, %zu failed, %zu from an earlier run) in %.0f s\n",
      r.points, r.sweep.ok, r.sweep.failed, r.sweep.skipped, r.wall_s);
  for (const auto& n : r.model_notes) std::printf("model   %s\n", n.c_str());
  for (const auto& d : r.dropped) std::printf("skipped %s\n", d.c_str());
  std::printf("results %s\nreport  %s\n\n", r.db_path.c_str(), r.report_path.c_str());
  std::printf("%s\n", explore::render_answers_text(explore::study_answers(rows)).c_str());
  std::printf("%s",
              explore::render_pareto_text(rows, explore::default_pareto_metrics(rows)).c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<StudyArgs>();
  auto* sub = app.add_subcommand(
      "study", "The main job: train CNNs, compress and measure them and zoo models, answer");
  sub->footer(
      "Trains LeNet-5, resnet8_fmnist and mobilenet_fmnist on Fashion-MNIST (cached), compresses "
      "them and three zoo models with every compress method, measures them on every CPU precision "
      "and thread count this build runs (cuda where present) and in pipelines, and writes "
      "DIR/results.sqlite and DIR/report.html, which opens with the answers. Re-running resumes: "
      "points already measured in DIR are kept.\n"
      "Examples:\n  frugal study\n  frugal study --quick -o /tmp/s\n  frugal study --print-spec > "
      "my.yaml");
  sub->add_flag("--quick", a->quick, "the short variant (under 2 minutes)");
  sub->add_option("-o,--output", a->out, "output folder (default ./study)");
  sub->add_option("--cache", a->cache, "model cache (default ~/.cache/frugal)");
  sub->add_flag("--print-spec", a->print_spec, "print the embedded sweep spec and exit");
  sub->callback([a] { run_study_command(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(study, 1, setup);

}  // namespace frugal::cli
