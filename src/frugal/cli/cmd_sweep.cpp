// frugal sweep SPEC: measure every point of a grid into a results store (explore/).
#include <unistd.h>

#include <cstdio>
#include <map>
#include <memory>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/core/error.h"
#include "frugal/explore/mpi_sweep.h"
#include "frugal/explore/spec.h"
#include "frugal/explore/sweep.h"

namespace frugal::cli {
namespace {

struct SweepArgs {
  std::string spec;
  std::string db;
  std::string cache;
  std::string shard;
  int jobs = 1;
  int per_host = 0;
  bool resume = false;
  bool dry_run = false;
};

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (size_t i = 1; i < argv.size(); ++i) {
    bool quote = argv[i].find_first_of(" ,=") != std::string::npos;
    s += (i > 1 ? " " : "") + (quote ? "'" + argv[i] + "'" : argv[i]);
  }
  return "frugal " + s;
}

void run_sweep_command(const SweepArgs& a) {
  if (a.jobs < 1 || a.jobs > 64) throw UserError("--jobs: must be between 1 and 64");
  std::pair<int, int> shard{0, 1};
  if (!a.shard.empty()) shard = explore::parse_shard(a.shard);
  explore::SweepSpec spec = explore::load_sweep_spec(a.spec);
  std::vector<explore::Point> points = spec.points;
  std::string shard_note;
  if (!a.shard.empty()) {
    auto [index, count] = shard;
    points = explore::shard_points(points, index, count);
    shard_note = " (shard " + a.shard + " of " + std::to_string(spec.points.size()) + ")";
  }
  if (a.dry_run) {
    Table t({"#", "key", "bench command"});
    for (size_t i = 0; i < points.size(); ++i)
      t.add({std::to_string(i + 1), points[i].key(),
             join_argv(explore::bench_argv(points[i], "frugal", "MODEL"))});
    std::printf("%s%zu points%s\n", t.str().c_str(), points.size(), shard_note.c_str());
    return;
  }
  std::string db = a.db.empty() ? spec.name + ".sqlite" : a.db;
  explore::SweepOptions o;
  // Children exec /proc/self/exe: the very binary running now, even if a rebuild replaced the file.
  o.frugal_exe = "/proc/self/exe";
  o.cache_dir = a.cache.empty() ? explore::default_cache_dir() : a.cache;
  o.jobs = a.jobs;
  o.resume = a.resume;
  o.progress = isatty(2);
  explore::check_sweep_options(o);
  if (a.per_host < 0) throw UserError("--per-host: must be at least 0");
  // Under mpirun: rank 0 keeps the store and hands out points, the other ranks measure.
  std::unique_ptr<explore::MpiWorld> world;
  if (explore::launched_by_mpi()) {
    world = std::make_unique<explore::MpiWorld>();
    if (world->size() > 1 && a.jobs > 1)
      throw UserError(
          "--jobs: not with mpirun (each rank runs one point at a time; start more ranks)");
    explore::MpiSweepOptions mo;
    mo.per_host = a.per_host;
    if (world->size() > 1 && world->rank() != 0) {
      explore::run_sweep_worker(*world, points, o, mo);
      return;
    }
    if (world->size() == 1) {
      std::fprintf(stderr,
                   "sweep: mpirun started 1 rank: running serially here (start 2 or more: "
                   "rank 0 keeps the store, the others measure)\n");
      world.reset();
    }
  }
  std::optional<explore::Store> opened;
  try {
    opened.emplace(explore::Store::open(db, explore::Store::Mode::read_write));
  } catch (...) {
    if (world) explore::release_workers(*world);
    throw;
  }
  explore::Store& store = *opened;
  std::fprintf(
      stderr, "sweep %s: %zu points%s -> %s%s\n", spec.name.c_str(), points.size(),
      shard_note.c_str(), db.c_str(),
      a.jobs > 1 ? " (--jobs > 1: points run at the same time disturb each other's timings)" : "");
  explore::SweepSummary s;
  if (world) {
    std::fprintf(
        stderr, "sweep: %d ranks: rank 0 on %s keeps the store, %d measure%s%s\n", world->size(),
        world->host().c_str(), world->size() - 1,
        a.per_host > 0 ? (", at most " + std::to_string(a.per_host) +
                          " speed-measuring point(s) per host at once")
                             .c_str()
                       : "",
        world->dead_rank_note().empty() ? "" : (" (" + world->dead_rank_note() + ")").c_str());
    explore::MpiSweepOptions mo;
    mo.per_host = a.per_host;
    o.log = stderr;
    s = explore::run_sweep_coordinator(*world, points, store, o, mo);
  } else {
    s = explore::run_sweep(points, store, o);
  }

  // Summary: this run's points, as stored.
  std::map<std::string, explore::PointRow> rows;
  for (auto& p : store.points()) rows[p.key] = p;
  std::map<std::string, explore::RecordRow> recs;
  for (auto& r : store.records()) recs[r.key] = r;
  Table t({"key", "status", "p50 ms", "top-1", "J/inf", "reason"});
  auto f = [](const std::optional<double>& v, const char* format) {
    if (!v) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, format, *v);
    return std::string(buf);
  };
  for (const auto& key : s.keys_run) {
    const auto& p = rows[key];
    auto it = recs.find(key);
    bool has = it != recs.end();
    t.add({key, p.status, has ? f(it->second.latency_p50_ms, "%.3f") : "-",
           has ? f(it->second.top1, "%.4f") : "-",
           has ? f(it->second.joules_per_inference, "%.3g") : "-",
           p.status == "ok" ? "" : p.stage + ": " + p.error.substr(0, 80)});
  }
  std::printf("%s", t.str().c_str());
  std::printf("%zu points: %zu ok, %zu failed, %zu skipped (already ok) in %.1f s; results in %s\n",
              s.planned, s.ok, s.failed, s.skipped, s.wall_s, db.c_str());
  if (s.ok == 0 && s.failed > 0)
    throw UserError("sweep " + spec.name + ": all " + std::to_string(s.failed) +
                    " points run failed (reasons above and in " + db + ")");
}

void setup(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  auto* sub =
      app.add_subcommand("sweep", "Measure every configuration of a grid (YAML spec) into SQLite");
  sub->footer(
      "Each point runs in child processes (bench --json, eval --json when the model names a data "
      "set) "
      "with the spec's time and memory limits; a failed point is recorded and the sweep goes on. "
      "See docs/sweep.md for the spec.\n"
      "Examples:\n"
      "  frugal sweep study.yaml --db study.sqlite\n"
      "  frugal sweep study.yaml --dry-run\n"
      "  frugal sweep study.yaml --db part1.sqlite --shard 1/4   (then frugal merge)\n"
      "  frugal sweep study.yaml --db study.sqlite --resume\n"
      "  mpirun --enable-recovery -np 9 frugal sweep study.yaml --db study.sqlite --per-host 1");
  sub->add_option("spec", a->spec, "sweep spec (YAML)")->required();
  sub->add_option("--db", a->db,
                  "results store (SQLite; default NAME.sqlite from the spec's name)");
  sub->add_option("--cache", a->cache,
                  "cache of zoo and transformed models (default ~/.cache/frugal)");
  sub->add_flag("--resume", a->resume, "skip points the store already has as ok");
  sub->add_option("--jobs", a->jobs,
                  "points run at once (default 1: timings taken side by side disturb each other)");
  sub->add_option("--per-host", a->per_host,
                  "under mpirun: at most N speed-measuring points at once per host, and none "
                  "beside other points there (default 0: no limit)");
  sub->add_option("--shard", a->shard, "run the I-th of N deterministic slices of the grid: I/N");
  sub->add_flag("--dry-run", a->dry_run,
                "print the grid and the bench command of each point; run nothing");
  sub->callback([a] { run_sweep_command(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(sweep, 60, setup);

}  // namespace frugal::cli
