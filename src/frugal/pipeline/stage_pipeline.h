// StagePipeline<T>: K stages in a chain, one worker thread each, bounded queues between
// them (Coral's PipelinedModelRunner, reduced to its machinery): push(item) feeds the
// first stage, pop() returns the last stage's results in push order, close() is the end
// of stream. An exception in any stage (or its setup) aborts every queue and surfaces
// once, as itself, from push/pop/wait_ready/finish. Per-stage statistics count the busy
// time, the items and the time spent waiting on each side.
//
// Items and stage functions are generic so that the machinery is tested without the
// engine (tests/pipeline/stage_pipeline_test.cpp, and under ThreadSanitizer by
// tests/pipeline_tsan.cmake); runner.h runs engine segments on it. Header-only for the
// same reason as bounded_queue.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/pipeline/bounded_queue.h"

namespace frugal::pipeline {

struct StageStats {
  std::string name;
  int64_t items = 0;         // items the stage completed and passed on
  double setup_s = 0;        // its setup, on its own thread (a Session's compile)
  double busy_s = 0;         // inside the stage function
  double wait_input_s = 0;   // starved: its input queue was empty (a bubble)
  double wait_output_s = 0;  // blocked: its output queue was full (back-pressure)
};

template <typename T>
class StagePipeline {
 public:
  using Fn = std::function<T(T)>;
  struct Stage {
    std::string name;
    // Runs once on the stage's own thread before its first item (pinning, building a
    // Session there) and returns the function applied to every item.
    std::function<Fn()> setup;
  };

  // Starts one thread per stage. Every queue holds `queue_capacity` items (>= 1; 0 is a
  // UserError). The caller pops while it pushes (from another thread, or interleaved):
  // with every queue full, push blocks until something is popped.
  StagePipeline(std::vector<Stage> stages, size_t queue_capacity) : stages_(std::move(stages)) {
    if (stages_.empty()) throw UserError("pipeline: no stages");
    for (size_t i = 0; i <= stages_.size(); ++i)
      queues_.push_back(std::make_unique<BoundedQueue<T>>(queue_capacity));
    stats_.resize(stages_.size());
    for (size_t k = 0; k < stages_.size(); ++k) stats_[k].name = stages_[k].name;
    for (size_t k = 0; k < stages_.size(); ++k) workers_.emplace_back([this, k] { work(k); });
  }
  ~StagePipeline() {
    abort_all();
    join();
  }
  StagePipeline(const StagePipeline&) = delete;
  StagePipeline& operator=(const StagePipeline&) = delete;

  size_t size() const { return stages_.size(); }

  // Blocks until every stage's setup has returned; throws the pipeline's error.
  void wait_ready() {
    std::unique_lock lock(mutex_);
    ready_cv_.wait(lock, [&] { return ready_ == stages_.size() || error_; });
    if (error_) std::rethrow_exception(error_);
  }

  // Blocks while the first queue is full. Throws the pipeline's error, or UserError after
  // close().
  void push(T item) {
    rethrow_if_failed();
    if (queues_.front()->push(std::move(item))) return;
    rethrow_if_failed();
    throw UserError("pipeline: push after the end of the stream");
  }

  // End of stream: no more pushes; the stages drain what they hold.
  void close() { queues_.front()->close(); }

  // The next result in push order; nothing once the stream has ended and been drained.
  // Throws the pipeline's error.
  std::optional<T> pop() {
    auto item = queues_.back()->pop();
    if (!item) rethrow_if_failed();
    return item;
  }

  // Drops everything in flight and stops the workers: pending and later push/pop return
  // (push throws UserError unless a stage failed, then its error).
  void abort() { abort_all(); }

  // Waits for the workers (after the stream was drained by pop, or an error) and throws
  // the pipeline's error, if any.
  void finish() {
    join();
    rethrow_if_failed();
  }

  // A snapshot, consistent per stage; exact once finish() returned.
  std::vector<StageStats> stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  void work(size_t k) {
    try {
      const auto t0 = now();
      Fn fn = stages_[k].setup();
      {
        std::lock_guard lock(mutex_);
        stats_[k].setup_s = seconds(now() - t0);
        ++ready_;
      }
      ready_cv_.notify_all();
      run_items(k, fn);
      queues_[k + 1]->close();
    } catch (...) {
      fail(std::current_exception());
    }
  }

  // Every moment of the loop is accounted for: time in pop (queue empty, or the lock or
  // the scheduler delaying the wake-up) is waiting for input, time in push waiting for
  // room, the rest is the stage's own.
  void run_items(size_t k, Fn& fn) {
    for (auto t0 = now();;) {
      std::optional<T> item = queues_[k]->pop();
      const auto t1 = now();
      if (!item) {
        add_stats(k, 0, 0, seconds(t1 - t0), 0);
        return;
      }
      T out = fn(std::move(*item));
      item.reset();
      const auto t2 = now();
      const bool passed = queues_[k + 1]->push(std::move(out));
      const auto t3 = now();
      add_stats(k, passed ? 1 : 0, seconds(t2 - t1), seconds(t1 - t0), seconds(t3 - t2));
      if (!passed) return;  // aborted downstream
      t0 = t3;
    }
  }

  void add_stats(size_t k, int64_t items, double busy, double wait_in, double wait_out) {
    std::lock_guard lock(mutex_);
    StageStats& s = stats_[k];
    s.items += items;
    s.busy_s += busy;
    s.wait_input_s += wait_in;
    s.wait_output_s += wait_out;
  }

  // The error is set before the queues are aborted, so that a pop woken by the abort
  // finds it (and never mistakes the abort for the end of the stream).
  void fail(std::exception_ptr error) {
    {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = error;  // the first error is the one that surfaces
    }
    abort_all();
    ready_cv_.notify_all();
  }

  void abort_all() {
    for (auto& q : queues_) q->abort();
  }

  void join() {
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  void rethrow_if_failed() {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  static double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
  }

  std::vector<Stage> stages_;
  std::vector<std::unique_ptr<BoundedQueue<T>>> queues_;  // queues_[k] feeds stage k
  mutable std::mutex mutex_;
  std::condition_variable ready_cv_;
  size_t ready_ = 0;
  std::exception_ptr error_;
  std::vector<StageStats> stats_;
  std::vector<std::thread> workers_;
};

}  // namespace frugal::pipeline
