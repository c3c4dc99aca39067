// The sweep runner: each point of the grid runs in child processes of the frugal binary
// itself (zoo -> transform steps -> bench --json -> eval --json), each with a time and a
// memory limit, so that a crash, hang or out-of-memory is a failed row and the sweep goes
// on. Every finished point is committed to the store before the next one is reported.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frugal/explore/child.h"
#include "frugal/explore/spec.h"
#include "frugal/explore/store.h"

namespace frugal::explore {

struct SweepOptions {
  std::string frugal_exe;   // program the children run (the CLI passes /proc/self/exe)
  std::string cache_dir;    // zoo models and transformed models, named by content hash
  int jobs = 1;             // concurrent points; >1 makes timings disturb each other
  bool resume = false;      // skip points the store has as ok
  bool progress = false;    // a redrawn progress line with ETA (for a terminal)
  std::FILE* log = stderr;  // one line per finished point; nullptr: quiet
};

struct PointOutcome {
  PointRow row;
  std::optional<nlohmann::json> record;
};

struct SweepSummary {
  size_t planned = 0;  // points given
  size_t skipped = 0;  // already ok in the store (--resume)
  size_t ok = 0;
  size_t failed = 0;
  double wall_s = 0;
  std::vector<std::string> keys_run;  // in the order they finished
};

// Default cache: $XDG_CACHE_HOME/frugal, else ~/.cache/frugal, else /tmp/frugal-cache.
std::string default_cache_dir();

// Runs one point (never throws for the point's own failures: they are in the row).
PointOutcome run_point(const Point& point, const SweepOptions& options);

// UserError naming the option when the options cannot work (a --cache that is a file:
// every point would then fail at its model or transform). run_sweep checks it too.
void check_sweep_options(const SweepOptions& options);

// Runs the points (skipping ok ones with resume), committing each outcome to `store`.
SweepSummary run_sweep(const std::vector<Point>& points, Store& store, const SweepOptions& options);

// The argv of the child commands of a point, for --dry-run and tests (a pipeline point
// measures with `frugal pipeline`, simulated when its devices are modeled).
std::vector<std::string> bench_argv(const Point& p, const std::string& exe,
                                    const std::string& model_path);
std::vector<std::string> eval_argv(const Point& p, const std::string& exe,
                                   const std::string& model_path);
// One transform step: STEP tokens with {in}/{out} replaced, or `STEP... IN -o OUT`.
std::vector<std::string> transform_argv(const std::string& step, const std::string& exe,
                                        const std::string& in, const std::string& out);

std::string utc_now_iso8601();
// "42s", "3m05s", "1h20m"; "?" when not finite.
std::string duration_text(double seconds);

}  // namespace frugal::explore
