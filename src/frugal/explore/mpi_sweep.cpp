#include "frugal/explore/mpi_sweep.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <optional>
#include <thread>

#ifdef FRUGAL_HAVE_MPI
// The C API only: the deprecated C++ bindings do not compile warning-free.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

#include "frugal/core/error.h"

namespace frugal::explore {

bool launched_by_mpi() {
  // Open MPI's mpirun, and PMI / PMIx launchers (srun, MPICH's hydra).
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

bool built_with_mpi() {
#ifdef FRUGAL_HAVE_MPI
  return true;
#else
  return false;
#endif
}

nlohmann::json row_to_json(const PointRow& r) {
  return {{"key", r.key},
          {"spec", r.spec},
          {"status", r.status},
          {"stage", r.stage},
          {"exit_code", r.exit_code},
          {"signal", r.signal},
          {"timed_out", r.timed_out},
          {"error", r.error},
          {"stderr_tail", r.stderr_tail},
          {"started", r.started},
          {"finished", r.finished},
          {"wall_s", r.wall_s}};
}

PointRow row_from_json(const nlohmann::json& j) {
  PointRow r;
  r.key = j.value("key", "");
  r.spec = j.value("spec", nlohmann::json::object());
  r.status = j.value("status", "failed");
  r.stage = j.value("stage", "");
  r.exit_code = j.value("exit_code", 0);
  r.signal = j.value("signal", 0);
  r.timed_out = j.value("timed_out", false);
  r.error = j.value("error", "");
  r.stderr_tail = j.value("stderr_tail", "");
  r.started = j.value("started", "");
  r.finished = j.value("finished", "");
  r.wall_s = j.value("wall_s", 0.0);
  return r;
}

std::string MpiWorld::dead_rank_note() const {
  if (!std::getenv("OMPI_MCA_orte_hnp_uri")) return "";  // not Open MPI's mpirun
  const char* v = std::getenv("OMPI_MCA_orte_enable_recovery");
  if (v && std::string(v) != "0" && std::string(v) != "false") return "";
  return "without mpirun --enable-recovery a rank that dies ends the whole run; --resume then "
         "finishes it";
}

bool measures_speed(const Point& p) {
  return !p.train;
}

bool may_start_on_host(const Point& p, int speed_running, int other_running, int per_host) {
  if (per_host <= 0) return true;
  return measures_speed(p) ? speed_running < per_host && other_running == 0 : speed_running == 0;
}

#ifndef FRUGAL_HAVE_MPI

MpiWorld::MpiWorld() {
  throw UserError(
      "sweep: started by mpirun, but this frugal was built without MPI (install "
      "libopenmpi-dev and rebuild; or run without mpirun)");
}
MpiWorld::~MpiWorld() = default;
SweepSummary run_sweep_coordinator(MpiWorld&, const std::vector<Point>&, Store&,
                                   const SweepOptions&, const MpiSweepOptions&) {
  throw UserError("sweep: this frugal was built without MPI");
}
void run_sweep_worker(MpiWorld&, const std::vector<Point>&, const SweepOptions&,
                      const MpiSweepOptions&) {
  throw UserError("sweep: this frugal was built without MPI");
}
void release_workers(MpiWorld&) {}

#else

MpiWorld::MpiWorld() {
  int provided = 0;
  // Only the main thread calls MPI; a worker's point runs on another thread meanwhile.
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  host_.assign(name, static_cast<size_t>(len));
}

MpiWorld::~MpiWorld() {
  if (finalize_) MPI_Finalize();
}

namespace {

enum Tag : int { kHello = 1, kBeat, kResult, kPoint, kStop };
using Clock = std::chrono::steady_clock;

// Sends, waiting at most `give_up_s` for the receiver: a blocking MPI_Send of a large
// message to a dead rank would wait forever. False when it gave up; the buffer is then left
// to MPI (leaked), which may still read it.
bool send_json(int dest, int tag, const nlohmann::json& j, double give_up_s) {
  auto text = std::make_unique<std::string>(j.dump());
  MPI_Request request;
  MPI_Isend(text->data(), static_cast<int>(text->size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD,
            &request);
  const auto until = Clock::now() + std::chrono::duration<double>(give_up_s);
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    if (Clock::now() > until) {
      (void)text.release();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

struct Message {
  int source = 0, tag = 0;
  nlohmann::json body;
};

// A message waiting from `source` (or any rank), without blocking.
std::optional<Message> poll_message(int source) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return std::nullopt;
  int n = 0;
  MPI_Get_count(&st, MPI_CHAR, &n);
  std::string s(static_cast<size_t>(n), '\0');
  MPI_Recv(s.data(), n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return Message{st.MPI_SOURCE, st.MPI_TAG,
                 n ? nlohmann::json::parse(s, nullptr, false) : nlohmann::json()};
}

void nap() {
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

// A point that failed because of its rank, not its own doing.
PointOutcome failed_outcome(const Point* p, const std::string& key, const std::string& why) {
  PointOutcome out;
  out.row.key = key;
  if (p) out.row.spec = p->to_json();
  out.row.status = "failed";
  out.row.stage = "rank";
  out.row.exit_code = -1;
  out.row.error = why;
  out.row.started = out.row.finished = utc_now_iso8601();
  return out;
}

struct RankState {
  int id = 0;
  std::string host;
  int64_t pid = 0;
  bool hello = false, alive = true;
  std::optional<size_t> point;  // index into the points, while it runs one
  Clock::time_point last, assigned;
};

class Coordinator {
 public:
  Coordinator(MpiWorld& world, const std::vector<Point>& points, Store& store,
              const SweepOptions& o, const MpiSweepOptions& mo)
      : world_(world), points_(points), store_(store), o_(o), mo_(mo) {}

  SweepSummary run() {
    check_sweep_options(o_);
    sum_.planned = points_.size();
    std::set<std::string> done = o_.resume ? store_.ok_keys() : std::set<std::string>{};
    for (size_t i = 0; i < points_.size(); ++i) {
      if (done.count(points_[i].key()))
        ++sum_.skipped;
      else
        pending_.push_back(i);
    }
    total_ = pending_.size();
    t0_ = Clock::now();
    for (int r = 1; r < world_.size(); ++r)
      ranks_.push_back(RankState{r, "", 0, false, true, {}, t0_, t0_});
    try {
      loop();
    } catch (...) {
      stop_ranks();
      throw;
    }
    stop_ranks();
    sum_.wall_s = std::chrono::duration<double>(Clock::now() - t0_).count();
    return sum_;
  }

 private:
  void loop() {
    for (;;) {
      hand_out();
      bool busy = std::any_of(ranks_.begin(), ranks_.end(),
                              [](const RankState& r) { return r.alive && r.point; });
      if (pending_.empty() && !busy) return;
      if (std::none_of(ranks_.begin(), ranks_.end(), [](const RankState& r) { return r.alive; })) {
        while (!pending_.empty()) {
          fail_point(pending_.front(), "no rank left to run it (all died or never reported)", 0);
          pending_.pop_front();
        }
        return;
      }
      if (auto m = poll_message(MPI_ANY_SOURCE))
        handle(*m);
      else
        nap();
      check_silence();
      keep_idle_ranks();
    }
  }

  // Idle ranks hear from rank 0 now and then, so that they stop when it is gone (under
  // mpirun --enable-recovery a dead rank 0 would otherwise leave them waiting forever).
  void keep_idle_ranks() {
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_keepalive_).count() < mo_.heartbeat_s * 4) return;
    last_keepalive_ = now;
    for (const auto& r : ranks_)
      if (r.alive && r.hello && !r.point) send_json(r.id, kBeat, nullptr, mo_.dead_after_s);
  }

  bool allowed(const Point& p, const std::string& host) const {
    int speed = 0, other = 0;
    for (const auto& r : ranks_)
      if (r.alive && r.point && r.host == host)
        ++(measures_speed(points_[*r.point]) ? speed : other);
    return may_start_on_host(p, speed, other, mo_.per_host);
  }

  void hand_out() {
    for (auto& r : ranks_) {
      if (!r.alive || !r.hello || r.point) continue;
      auto it = std::find_if(pending_.begin(), pending_.end(),
                             [&](size_t i) { return allowed(points_[i], r.host); });
      if (it == pending_.end()) continue;
      r.point = *it;
      r.last = r.assigned = Clock::now();
      pending_.erase(it);
      send_json(r.id, kPoint, {{"index", *r.point}, {"key", points_[*r.point].key()}},
                mo_.dead_after_s);
    }
  }

  void handle(const Message& m) {
    if (m.source < 1 || m.source >= world_.size()) return;
    RankState& r = ranks_[static_cast<size_t>(m.source - 1)];
    r.last = Clock::now();
    if (!r.alive) {
      r.alive = true;  // it was slow, not dead: it gets points again
      say("rank " + std::to_string(r.id) + " answers again");
    }
    if (m.tag == kHello) {
      r.hello = true;
      r.host = m.body.value("host", "");
      r.pid = m.body.value("pid", int64_t{0});
    } else if (m.tag == kResult) {
      r.point.reset();
      PointRow row = row_from_json(m.body.value("row", nlohmann::json::object()));
      std::optional<nlohmann::json> record;
      if (m.body.contains("record") && m.body["record"].is_object()) record = m.body["record"];
      if (row.status == "ok" && failed_silent_.erase(row.key)) --sum_.failed;  // late, but ok
      commit(row, record, r.id);
    }
  }

  void check_silence() {
    const auto now = Clock::now();
    for (auto& r : ranks_) {
      if (!r.alive) continue;
      const double silent = std::chrono::duration<double>(now - r.last).count();
      if (r.point && silent > mo_.dead_after_s) {
        r.alive = false;
        const size_t i = *r.point;
        r.point.reset();
        const std::string who = "rank " + std::to_string(r.id) + " (pid " + std::to_string(r.pid) +
                                " on " + r.host + ")";
        say(who + " stopped answering while running " + points_[i].key() +
            ": taken for dead; the sweep goes on without it");
        world_.skip_finalize();
        fail_point(i,
                   who + " died or hung while running it (silent for " +
                       std::to_string(static_cast<int>(silent)) + " s)",
                   r.id, std::chrono::duration<double>(now - r.assigned).count());
      } else if (!r.hello && silent > mo_.hello_within_s) {
        r.alive = false;
        world_.skip_finalize();
        say("rank " + std::to_string(r.id) + " never reported within " +
            std::to_string(static_cast<int>(mo_.hello_within_s)) + " s: not used");
      }
    }
  }

  void fail_point(size_t i, const std::string& why, int rank, double wall_s = 0) {
    PointRow row = failed_outcome(&points_[i], points_[i].key(), why).row;
    row.wall_s = wall_s;
    failed_silent_.insert(row.key);
    commit(row, std::nullopt, rank);
  }

  void commit(const PointRow& row, const std::optional<nlohmann::json>& record, int rank) {
    store_.put(row, record);
    (row.status == "ok" ? sum_.ok : sum_.failed)++;
    sum_.keys_run.push_back(row.key);
    if (!o_.log) return;
    const size_t done = sum_.ok + sum_.failed;
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0_).count();
    const std::string eta =
        duration_text(elapsed / static_cast<double>(done) * static_cast<double>(total_ - done));
    std::fprintf(o_.log, "[%zu/%zu] %s %s (%.1f s, rank %d, ETA %s)%s\n", done, total_,
                 row.status == "ok" ? "ok    " : "FAILED", row.key.c_str(), row.wall_s, rank,
                 eta.c_str(),
                 row.status == "ok" ? "" : ("  " + row.stage + ": " + row.error).c_str());
    std::fflush(o_.log);
  }

  void say(const std::string& line) {
    if (!o_.log) return;
    std::fprintf(o_.log, "sweep: %s\n", line.c_str());
    std::fflush(o_.log);
  }

  // Every rank that may still listen is told to stop, and whether to finalize (not when
  // one died: Open MPI's finalize would wait for it).
  void stop_ranks() {
    const bool finalize =
        std::all_of(ranks_.begin(), ranks_.end(), [](const RankState& r) { return r.alive; });
    if (!finalize) world_.skip_finalize();
    for (const auto& r : ranks_)
      if (r.alive) send_json(r.id, kStop, {{"finalize", finalize}}, mo_.dead_after_s);
  }

  MpiWorld& world_;
  const std::vector<Point>& points_;
  Store& store_;
  const SweepOptions& o_;
  const MpiSweepOptions& mo_;
  SweepSummary sum_;
  std::deque<size_t> pending_;
  std::vector<RankState> ranks_;
  std::set<std::string> failed_silent_;  // failed for a silent rank (a late result may follow)
  size_t total_ = 0;
  Clock::time_point t0_, last_keepalive_;
};

}  // namespace

SweepSummary run_sweep_coordinator(MpiWorld& world, const std::vector<Point>& points, Store& store,
                                   const SweepOptions& o, const MpiSweepOptions& mo) {
  return Coordinator(world, points, store, o, mo).run();
}

void release_workers(MpiWorld& world) {
  for (int r = 1; r < world.size(); ++r) send_json(r, kStop, {{"finalize", true}}, 10);
}

void run_sweep_worker(MpiWorld& world, const std::vector<Point>& points, const SweepOptions& o,
                      const MpiSweepOptions& mo) {
  const std::string me = "rank " + std::to_string(world.rank()) + " on " + world.host();
  const double rank0_gone_s = mo.dead_after_s * 6;
  // Rank 0 taken for dead (silent, or not taking messages): this rank stops.
  auto give_up = [&](const char* why) {
    std::fprintf(stderr, "sweep: %s: rank 0 %s for %d s: taken for dead, stopping\n", me.c_str(),
                 why, static_cast<int>(rank0_gone_s));
    world.skip_finalize();
  };
  if (!send_json(0, kHello, {{"host", world.host()}, {"pid", static_cast<int64_t>(::getpid())}},
                 rank0_gone_s))
    return give_up("takes no messages");
  for (;;) {
    std::optional<Message> m;
    const auto heard = Clock::now();
    while (!(m = poll_message(0))) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (std::chrono::duration<double>(Clock::now() - heard).count() > rank0_gone_s)
        return give_up("silent");
    }
    if (m->tag == kBeat) continue;
    if (m->tag == kStop) {
      if (!m->body.value("finalize", true)) world.skip_finalize();
      return;
    }
    if (m->tag != kPoint) continue;
    const size_t i = m->body.value("index", size_t{0});
    const std::string key = m->body.value("key", "");
    PointOutcome out;
    bool reachable = true;
    if (i >= points.size() || points[i].key() != key) {
      out = failed_outcome(nullptr, key,
                           me + ": its spec has no such point (is the spec the same file on "
                                "every host?)");
    } else {
      auto done = std::async(std::launch::async, [&] { return run_point(points[i], o); });
      const auto beat = std::chrono::duration<double>(mo.heartbeat_s);
      while (done.wait_for(beat) != std::future_status::ready)
        if (reachable) reachable = send_json(0, kBeat, nullptr, rank0_gone_s);
      try {
        out = done.get();
        if (out.row.status != "ok") out.row.error = me + ": " + out.row.error;
      } catch (const std::exception& e) {
        out = failed_outcome(&points[i], key, me + ": " + e.what());
      }
    }
    if (!reachable || !send_json(0, kResult,
                                 {{"row", row_to_json(out.row)},
                                  {"record", out.record ? *out.record : nlohmann::json(nullptr)}},
                                 rank0_gone_s))
      return give_up("takes no messages");
  }
}

#endif

}  // namespace frugal::explore
