#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/error.h"
#include "frugal/explore/pareto.h"

using namespace frugal::explore;

TEST(Pareto, DominatesFollowsEachGoal) {
  std::vector<Goal> g{Goal::maximize, Goal::minimize};  // accuracy up, latency down
  EXPECT_TRUE(dominates({0.9, 1.0}, {0.8, 2.0}, g));
  EXPECT_TRUE(dominates({0.9, 1.0}, {0.9, 2.0}, g));   // tie on one, better on the other
  EXPECT_FALSE(dominates({0.9, 1.0}, {0.9, 1.0}, g));  // equal: neither dominates
  EXPECT_FALSE(dominates({0.9, 3.0}, {0.8, 2.0}, g));  // a trade-off
  EXPECT_FALSE(dominates({0.8, 2.0}, {0.9, 1.0}, g));
}

TEST(Pareto, TwoObjectivesByHand) {
  // (accuracy, latency ms). Front by hand: A (best accuracy), C (fastest), D (between).
  // B is dominated by A (less accurate, slower); E by D.
  std::vector<std::vector<double>> pts = {
      {0.92, 10.0},  // A
      {0.90, 12.0},  // B
      {0.70, 1.0},   // C
      {0.85, 4.0},   // D
      {0.84, 4.0},   // E
  };
  EXPECT_EQ(pareto_front(pts, {Goal::maximize, Goal::minimize}), (std::vector<size_t>{0, 2, 3}));
  // Flip the latency goal: now slow is good, and A and B trade accuracy for... B is worse on
  // accuracy but better (slower) on latency: both on the front; C, D, E are dominated by A.
  EXPECT_EQ(pareto_front(pts, {Goal::maximize, Goal::maximize}), (std::vector<size_t>{0, 1}));
}

TEST(Pareto, TiesAndDuplicates) {
  std::vector<std::vector<double>> pts = {
      {1.0, 5.0},
      {1.0, 5.0},  // duplicate of 0: both kept
      {2.0, 5.0},  // same latency, more accurate: dominates 0 and 1
      {2.0, 5.0},  // duplicate of 2
      {0.5, 1.0},
  };
  EXPECT_EQ(pareto_front(pts, {Goal::maximize, Goal::minimize}), (std::vector<size_t>{2, 3, 4}));
  std::vector<std::vector<double>> same = {{1, 1}, {1, 1}, {1, 1}};
  EXPECT_EQ(pareto_front(same, {Goal::minimize, Goal::minimize}), (std::vector<size_t>{0, 1, 2}));
  EXPECT_TRUE(pareto_front({}, {Goal::minimize}).empty());
}

TEST(Pareto, ThreeObjectivesAndMissingValues) {
  // (accuracy max, latency min, size min).
  std::vector<std::vector<double>> pts = {
      {0.9, 10, 100},  // 0: front (most accurate)
      {0.8, 5, 100},   // 1: front (faster)
      {0.8, 5, 50},    // 2: front; dominates 1? same acc, same latency, smaller: yes, so 1 is out
      {0.7, 20, 10},   // 3: front (smallest)
      {0.7, 20, 20},   // 4: dominated by 3
      {NAN, 1, 1},     // 5: missing accuracy: not comparable, left out
  };
  EXPECT_EQ(pareto_front(pts, {Goal::maximize, Goal::minimize, Goal::minimize}), (std::vector<size_t>{0, 2, 3}));
}

TEST(Pareto, MetricsByName) {
  auto m = parse_metrics("acc,latency");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].goal, Goal::maximize);
  EXPECT_EQ(m[1].goal, Goal::minimize);
  EXPECT_THROW(parse_metrics("acc,speed"), frugal::UserError);
  EXPECT_THROW(parse_metrics("acc"), frugal::UserError);
  EXPECT_EQ(parse_metrics("accuracy,energy,size").size(), 3u);
}

TEST(Pareto, RowsWithoutAMetricAreLeftOut) {
  std::vector<RecordRow> rows(3);
  rows[0].top1 = 0.9, rows[0].latency_p50_ms = 2;
  rows[1].top1 = 0.8, rows[1].latency_p50_ms = 1;
  rows[2].latency_p50_ms = 0.5;  // no accuracy
  EXPECT_EQ(pareto_rows(rows, parse_metrics("acc,latency")), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(pareto_rows(rows, parse_metrics("latency,latency")), (std::vector<size_t>{2}));
}
