// A sweep spread over MPI ranks (`mpirun -np N frugal sweep SPEC --db F`, docs/sweep.md).
// Rank 0 owns the store and hands the points one at a time to ranks 1..N-1 (a dynamic
// queue: a slow point does not hold up the others); each rank runs its point with
// run_point, isolated in child processes with the point's limits, and sends the outcome
// back. A rank that stops answering (its heartbeat stops) is reported and its point
// recorded failed with the reason; the sweep finishes on the other ranks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frugal/explore/spec.h"
#include "frugal/explore/store.h"
#include "frugal/explore/sweep.h"

namespace frugal::explore {

// Whether an MPI launcher (mpirun, srun) started this process: its environment names a rank.
bool launched_by_mpi();
// Whether this frugal was built with MPI (CMake found it).
bool built_with_mpi();

struct MpiSweepOptions {
  int per_host = 0;             // >0: at most this many speed-measuring points at once per host,
                                // and none beside any other point there; 0: no limit
  double heartbeat_s = 0.5;     // a busy rank reports this often
  double dead_after_s = 10;     // a busy rank silent this long is taken for dead
  double hello_within_s = 120;  // a rank that has not reported by then is taken for dead
  // An idle rank that has not heard from rank 0 for 6 x dead_after_s stops (rank 0 is gone).
};

// The MPI world of this process: MPI_Init on construction; MPI_Finalize on destruction
// unless a rank died (Open MPI's finalize would wait for it forever). Throws UserError when
// frugal was built without MPI.
class MpiWorld {
 public:
  MpiWorld();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& host() const { return host_; }
  // Under Open MPI's mpirun without --enable-recovery, a rank that dies ends the whole job
  // (the store keeps the finished points; --resume goes on): a note saying so, else "".
  std::string dead_rank_note() const;
  void skip_finalize() { finalize_ = false; }

 private:
  int rank_ = 0, size_ = 1;
  std::string host_;
  bool finalize_ = true;
};

// Rank 0: hands out `points` (the ones not ok in the store with o.resume) and commits every
// outcome to `store`. Logs one line per point to o.log, naming the rank that ran it.
SweepSummary run_sweep_coordinator(MpiWorld& world, const std::vector<Point>& points, Store& store,
                                   const SweepOptions& o, const MpiSweepOptions& mo);
// Ranks 1..N-1: runs the points rank 0 names (by index into the same `points`) until told
// to stop.
void run_sweep_worker(MpiWorld& world, const std::vector<Point>& points, const SweepOptions& o,
                      const MpiSweepOptions& mo);

// Bench and pipeline points time things; training points are judged by their accuracy.
bool measures_speed(const Point& p);
// --per-host: whether `p` may start on a host already running that many speed-measuring and
// other points. A speed point needs fewer than `per_host` speed points and nothing else
// there; any other point needs no speed point there. per_host <= 0: always.
bool may_start_on_host(const Point& p, int speed_running, int other_running, int per_host);

// Rank 0, when it stops before coordinating (a refused store): the other ranks stop too.
void release_workers(MpiWorld& world);

// A PointRow as JSON and back (the messages between ranks).
nlohmann::json row_to_json(const PointRow& row);
PointRow row_from_json(const nlohmann::json& j);

}  // namespace frugal::explore
