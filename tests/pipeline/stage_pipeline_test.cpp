// The pipeline's machinery without the engine: order, no loss or duplication under every
// queue size, end of stream, errors. Also built alone under ThreadSanitizer
// (tests/pipeline_tsan.cmake), so it includes nothing but the two headers.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "frugal/pipeline/bounded_queue.h"
#include "frugal/pipeline/stage_pipeline.h"

namespace frugal::pipeline {
namespace {

using IntPipeline = StagePipeline<int64_t>;

// Stage k maps x to x * 3 + k, so that a result says which stages it went through in
// which order; stages sleep a little on some items to shuffle their relative speed.
IntPipeline::Stage affine_stage(int k, int jitter_every = 0) {
  return {"s" + std::to_string(k), [k, jitter_every] {
            return IntPipeline::Fn([k, jitter_every](int64_t x) {
              if (jitter_every && x % jitter_every == k)
                std::this_thread::sleep_for(std::chrono::microseconds(200));
              return x * 3 + k;
            });
          }};
}

int64_t expected(int64_t x, int stages) {
  for (int k = 0; k < stages; ++k) x = x * 3 + k;
  return x;
}

// Pushes 0..n-1 from a producer thread and pops on this one.
std::vector<int64_t> run_stream(IntPipeline& p, int64_t n) {
  std::thread producer([&] {
    for (int64_t i = 0; i < n; ++i) p.push(i);
    p.close();
  });
  std::vector<int64_t> out;
  while (auto r = p.pop()) out.push_back(*r);
  producer.join();
  p.finish();
  return out;
}

TEST(BoundedQueue, CapacityZeroIsAUserError) {
  EXPECT_THROW(BoundedQueue<int>(0), UserError);
  EXPECT_THROW(IntPipeline({affine_stage(0)}, 0), UserError);
}

TEST(BoundedQueue, FifoCloseDrainsAbortDrops) {
  BoundedQueue<int> q(3);
  EXPECT_TRUE(q.push(1));
  EXPECT_TRUE(q.push(2));
  q.close();
  EXPECT_FALSE(q.push(3));
  EXPECT_EQ(q.pop(), 1);
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), std::nullopt);
  BoundedQueue<int> a(2);
  a.push(1);
  a.abort();
  EXPECT_EQ(a.pop(), std::nullopt);
  EXPECT_FALSE(a.push(2));
}

TEST(BoundedQueue, FullQueueBlocksTheProducerUntilAPop) {
  BoundedQueue<int> q(1);
  q.push(0);
  std::atomic<bool> pushed{false};
  std::thread t([&] {
    q.push(1);
    pushed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(q.pop(), 0);
  t.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(q.pop(), 1);
}

TEST(StagePipeline, InOrderWithoutLossOrDuplicationUnderEveryQueueSize) {
  const int64_t n = 200;
  for (int stages = 1; stages <= 4; ++stages) {
    for (size_t queue = 1; queue <= 6; ++queue) {
      std::vector<IntPipeline::Stage> s;
      for (int k = 0; k < stages; ++k) s.push_back(affine_stage(k, 7));
      IntPipeline p(std::move(s), queue);
      const auto out = run_stream(p, n);
      ASSERT_EQ(out.size(), static_cast<size_t>(n)) << stages << " stages, queue " << queue;
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(out[i], expected(i, stages)) << "item " << i << ", queue " << queue;
      for (const auto& st : p.stats()) EXPECT_EQ(st.items, n) << st.name;
    }
  }
}

TEST(StagePipeline, EndOfStreamWithNothingPushedAndPushAfterClose) {
  IntPipeline p({affine_stage(0), affine_stage(1)}, 2);
  p.close();
  EXPECT_EQ(p.pop(), std::nullopt);
  EXPECT_EQ(p.pop(), std::nullopt);  // stays ended
  EXPECT_THROW(p.push(1), UserError);
  p.finish();
}

TEST(StagePipeline, InterleavedPushPopOnOneThread) {
  IntPipeline p({affine_stage(0), affine_stage(1), affine_stage(2)}, 1);
  p.wait_ready();
  for (int64_t i = 0; i < 50; ++i) {
    p.push(i);
    EXPECT_EQ(p.pop(), expected(i, 3));
  }
  p.close();
  EXPECT_EQ(p.pop(), std::nullopt);
  p.finish();
}

TEST(StagePipeline, AStageErrorSurfacesOnceAsItself) {
  for (size_t queue = 1; queue <= 3; ++queue) {
    IntPipeline::Stage failing{"bad", [] {
                                 return IntPipeline::Fn([](int64_t x) -> int64_t {
                                   if (x == 3 * 17) throw std::invalid_argument("item 17 is bad");
                                   return x;
                                 });
                               }};
    IntPipeline p({affine_stage(0), failing, affine_stage(2)}, queue);
    std::atomic<int> push_errors{0};
    std::thread producer([&] {
      try {
        for (int64_t i = 0; i < 1000; ++i) p.push(i);  // stage 1 sees 3 i
        p.close();
      } catch (const std::invalid_argument&) {
        ++push_errors;
      }
    });
    int errors = 0;
    std::string what;
    try {
      while (p.pop()) {
      }
    } catch (const std::invalid_argument& e) {
      ++errors;
      what = e.what();
    }
    producer.join();
    EXPECT_EQ(errors, 1);
    EXPECT_EQ(what, "item 17 is bad");
    EXPECT_LE(push_errors.load(), 1);
    EXPECT_THROW(p.finish(), std::invalid_argument);
  }
}

TEST(StagePipeline, ASetupErrorSurfacesFromWaitReady) {
  IntPipeline::Stage broken{
      "broken", []() -> IntPipeline::Fn { throw UserError("segment 2: cannot compile"); }};
  IntPipeline p({affine_stage(0), broken}, 2);
  EXPECT_THROW(p.wait_ready(), UserError);
  EXPECT_THROW(p.push(1), UserError);
  EXPECT_THROW(p.pop(), UserError);
}

TEST(StagePipeline, StatisticsSeeTheSlowStageBusyAndTheOthersWaiting) {
  IntPipeline::Stage slow{"slow", [] {
                            return IntPipeline::Fn([](int64_t x) {
                              std::this_thread::sleep_for(std::chrono::milliseconds(2));
                              return x;
                            });
                          }};
  IntPipeline p({affine_stage(0), slow, affine_stage(2)}, 1);
  const auto out = run_stream(p, 40);
  ASSERT_EQ(out.size(), 40u);
  const auto st = p.stats();
  EXPECT_GE(st[1].busy_s, 40 * 0.002 * 0.9);
  EXPECT_GT(st[1].busy_s, 10 * st[0].busy_s);
  EXPECT_GT(st[0].wait_output_s, 0.02);  // blocked behind the slow stage
  EXPECT_GT(st[2].wait_input_s, 0.02);   // starved by it
}

// Destroying a pipeline mid-stream (items still inside, nobody popping) must not hang.
TEST(StagePipeline, DestroyedMidStreamJoinsItsWorkers) {
  auto p = std::make_unique<IntPipeline>(
      std::vector<IntPipeline::Stage>{affine_stage(0), affine_stage(1)}, 1);
  p->push(1);
  p->push(2);
  p.reset();
  SUCCEED();
}

}  // namespace
}  // namespace frugal::pipeline
