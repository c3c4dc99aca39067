// BoundedQueue: the blocking FIFO between two pipeline stages. A full queue blocks its
// producer (back-pressure, so memory stays bounded whatever the speeds); close() is the
// end of stream (the consumer drains what is left); abort() wakes everyone and drops the
// contents (a stage failed). Header-only and free of frugal's other layers so that the
// ThreadSanitizer test (tests/pipeline_tsan.cmake) compiles it alone.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "frugal/core/error.h"

namespace frugal::pipeline {

template <typename T>
class BoundedQueue {
 public:
  // Throws UserError for capacity 0 (nothing could ever pass).
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw UserError("--queue: a queue must hold at least 1 item (got 0)");
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Blocks while full. False when the queue was closed or aborted (the item is dropped).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return closed_ || aborted_ || items_.size() < capacity_; });
    if (closed_ || aborted_) return false;
    items_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty and open. Nothing once closed and drained, or aborted.
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // End of stream: later pushes fail, pops drain the queue then return nothing.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
  // Drops the contents and wakes every waiter.
  void abort() {
    std::lock_guard lock(mutex_);
    aborted_ = true;
    items_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t capacity() const { return capacity_; }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<T> items_;
  bool closed_ = false, aborted_ = false;
};

}  // namespace frugal::pipeline
