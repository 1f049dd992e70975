#pragma once

#include <atomic>
#include <cstdint>

namespace otlpd {

// Bytes of memory held by live requests: their wire bytes, and their decoded form once decoded.
// Each request charged to an account adds what it holds and gives it back when it goes. The
// memory_limiter reads it to see growth between two samples of the process's memory. One per
// process (in SelfTelemetry), handed to the receivers that create requests; tests may make
// their own.
class MemoryAccount {
 public:
  void add(std::int64_t bytes) noexcept { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  std::int64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> bytes_{0};
};

}  // namespace otlpd
