#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>

#include <concurrentqueue/concurrentqueue.h>
#include <concurrentqueue/lightweightsemaphore.h>

namespace otlpd {

// A bounded, lock-free multi-producer multi-consumer queue: moodycamel::ConcurrentQueue for
// the items, and two counting semaphores that make it bounded and blocking:
//   slots_  counts free places: a producer takes one before enqueueing (try_push fails
//           instead of waiting), a consumer gives one back after dequeueing;
//   items_  counts enqueued items: a consumer takes one before dequeueing.
// The semaphores spin briefly then park, so the uncontended path is a few atomic operations.
// Order is FIFO per producer (moodycamel's guarantee), not globally.
//
// close() wakes everyone: pushes then fail; pops drain what is left, then return nullopt
// with closed_and_empty() true.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity)
      : capacity_(capacity),
        queue_(std::min<std::size_t>(capacity, kInitialBlockItems)),  // grows on demand
        slots_(static_cast<moodycamel::LightweightSemaphore::ssize_t>(capacity), kMaxSpins),
        items_(0, kMaxSpins) {}

  [[nodiscard]] bool try_push(T&& item) {
    if (closed_.load(std::memory_order_acquire) || !slots_.tryWait()) return false;
    return enqueue(std::move(item));
  }


  // Waits for a free place (block_on_overflow).
  [[nodiscard]] bool push(T&& item) {
    while (!slots_.wait(kPollMicros)) {
      if (closed_.load(std::memory_order_acquire)) return false;
    }
    if (closed_.load(std::memory_order_acquire)) {
      slots_.signal();
      return false;
    }
    return enqueue(std::move(item));
  }

  // An item if one is there; never waits.
  std::optional<T> try_pop() {
    if (!items_.tryWait()) return std::nullopt;
    T item;
    while (!queue_.try_dequeue(item)) {
      if (closed_.load(std::memory_order_acquire) && size_.load(std::memory_order_acquire) == 0) {
        return std::nullopt;  // a count from close()
      }
    }
    size_.fetch_sub(1, std::memory_order_acq_rel);
    slots_.signal();
    return item;
  }

  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
    T item;
    // Fast path: an item is there; take its count without waiting.
    if (items_.tryWait()) {
      while (!queue_.try_dequeue(item)) {
        if (closed_.load(std::memory_order_acquire) && size_.load(std::memory_order_acquire) == 0) {
          return std::nullopt;
        }
      }
      size_.fetch_sub(1, std::memory_order_acq_rel);
      slots_.signal();
      return item;
    }
    if (!items_.wait(micros)) return std::nullopt;
    // A taken item count guarantees an item is (or is about to be) visible.
    while (!queue_.try_dequeue(item)) {
      if (closed_.load(std::memory_order_acquire) && size_.load(std::memory_order_acquire) == 0) {
        return std::nullopt;  // woken by close()
      }
    }
    size_.fetch_sub(1, std::memory_order_acq_rel);
    slots_.signal();
    return item;
  }

  void close() {
    closed_.store(true, std::memory_order_release);
    items_.signal(kWakeAll);  // every consumer wakes, drains, then sees closed and empty
  }

  bool closed_and_empty() const {
    return closed_.load(std::memory_order_acquire) && size_.load(std::memory_order_acquire) == 0;
  }
  std::size_t size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::int64_t kPollMicros = 100'000;
  static constexpr std::size_t kInitialBlockItems = 256;
  // Spin briefly before parking: the default (10000 spins) burns CPU on small machines
  // every time a worker goes idle; measured in bench/ (BM_Handoff) and bench/run.sh.
  static constexpr int kMaxSpins = 64;
  static constexpr int kWakeAll = 1 << 20;

  // size_ counts an item from before it is enqueued until after it is dequeued, so that a
  // consumer woken by close() never mistakes an enqueue in progress for an empty queue.
  bool enqueue(T&& item) {
    size_.fetch_add(1, std::memory_order_acq_rel);
    if (!queue_.enqueue(std::move(item))) {  // only fails if memory allocation fails
      size_.fetch_sub(1, std::memory_order_acq_rel);
      slots_.signal();
      return false;
    }
    items_.signal();
    return true;
  }

  const std::size_t capacity_;
  moodycamel::ConcurrentQueue<T> queue_;
  moodycamel::LightweightSemaphore slots_;
  moodycamel::LightweightSemaphore items_;
  alignas(64) std::atomic<std::size_t> size_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace otlpd
