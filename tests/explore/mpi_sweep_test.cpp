#include <gtest/gtest.h>
#include <stdlib.h>

#include "frugal/core/error.h"
#include "frugal/explore/mpi_sweep.h"

using namespace frugal::explore;

TEST(MpiSweep, RowsCrossBetweenRanksUnchanged) {
  PointRow r;
  r.key = "lenet5|none|ref|fp32|-|t1|b1|single-stream";
  r.spec = {{"key", r.key}, {"threads", 1}};
  r.status = "failed";
  r.stage = "bench";
  r.exit_code = -1;
  r.signal = 9;
  r.timed_out = true;
  r.error = "rank 2 on node7: timed out after 5 s (SIGKILL)";
  r.stderr_tail = "line 1\nline 2\n";
  r.started = "2026-12-06T09:00:00Z";
  r.finished = "2026-12-06T09:00:05Z";
  r.wall_s = 5.25;
  PointRow b = row_from_json(nlohmann::json::parse(row_to_json(r).dump()));
  EXPECT_EQ(row_to_json(b), row_to_json(r));
  EXPECT_EQ(b.signal, 9);
  EXPECT_TRUE(b.timed_out);
  EXPECT_EQ(b.stderr_tail, r.stderr_tail);
}

TEST(MpiSweep, LaunchedByMpiReadsTheLauncherEnvironment) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) unsetenv(v);
  EXPECT_FALSE(launched_by_mpi());
  setenv("PMI_SIZE", "4", 1);
  EXPECT_TRUE(launched_by_mpi());
  unsetenv("PMI_SIZE");
  if (!built_with_mpi()) {
    EXPECT_THROW(MpiWorld(), frugal::UserError);
  }
}

TEST(MpiSweep, PerHostKeepsTimingsAlone) {
  Point bench;
  Point train;
  train.train = TrainSettings{};
  EXPECT_TRUE(measures_speed(bench));
  EXPECT_FALSE(measures_speed(train));
  // --per-host 1: a timing starts only on an idle host, and nothing starts beside it.
  EXPECT_TRUE(may_start_on_host(bench, 0, 0, 1));
  EXPECT_FALSE(may_start_on_host(bench, 1, 0, 1));
  EXPECT_FALSE(may_start_on_host(bench, 0, 1, 1));
  EXPECT_TRUE(may_start_on_host(train, 0, 3, 1));
  EXPECT_FALSE(may_start_on_host(train, 1, 0, 1));
  // --per-host 2: two timings may share the host, still nothing else.
  EXPECT_TRUE(may_start_on_host(bench, 1, 0, 2));
  EXPECT_FALSE(may_start_on_host(bench, 2, 0, 2));
  EXPECT_FALSE(may_start_on_host(bench, 1, 1, 2));
  // No limit.
  EXPECT_TRUE(may_start_on_host(bench, 5, 5, 0));
}
