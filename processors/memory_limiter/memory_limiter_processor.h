#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "pipeline/typed_factory.h"

namespace otlpd {

// processors::memory_limiter, with the OpenTelemetry Collector's options.
struct MemoryLimiterConfig final : ComponentConfig {
  std::chrono::milliseconds check_interval{0};  // required, > 0
  // The limit: limit_mib or limit_percentage (of the machine's memory), one of them required.
  // The spike allowance below it: spike_limit_mib with limit_mib, spike_limit_percentage with
  // limit_percentage; 0: 20% of the limit.
  std::int64_t limit_mib = 0;
  std::int64_t spike_limit_mib = 0;
  std::int64_t limit_percentage = 0;
  std::int64_t spike_limit_percentage = 0;

  struct Limits {
    std::uint64_t limit_bytes = 0;
    std::uint64_t spike_bytes = 0;
    // The soft limit: above it, new data is refused.
    std::uint64_t soft() const { return limit_bytes - spike_bytes; }
  };
  // The limits in bytes. `total_memory` (bytes) is what the percentages refer to; nullopt
  // reads the machine's (the cgroup's memory.max when smaller than MemTotal).
  Limits limits(std::optional<std::uint64_t> total_memory = {}) const;

  // Reads the options (validate() checks them).
  static MemoryLimiterConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

// How much memory the process uses now: resident set size, read from /proc/self/statm.
std::uint64_t process_rss_bytes();

// Refuses data, with a retryable status, while the process uses more than limit - spike
// (the soft limit). Usage is the RSS sampled every check_interval plus what live decoded
// requests grew by since that sample, so a burst between two checks is seen at once. It
// answers admit() before the receiver decodes anything, so a request whose bytes would cross
// the hard limit is refused too.
// When over the soft limit it returns freed heap memory to the system (malloc_trim) before
// deciding, since glibc keeps freed memory resident otherwise.
class MemoryLimiterProcessor final : public Processor {
 public:
  MemoryLimiterProcessor(CreateSettings settings, const MemoryLimiterConfig& config, Consumer& next)
      : MemoryLimiterProcessor(std::move(settings), config, config.limits(), next) {}
  // With limits given in bytes rather than from the configuration's options (tests).
  MemoryLimiterProcessor(CreateSettings settings, const MemoryLimiterConfig& config,
                         MemoryLimiterConfig::Limits limits, Consumer& next);
  ~MemoryLimiterProcessor() override;

  bool start(std::string* error) override;
  void shutdown() noexcept override;
  ConsumeResult consume(Batch&& batch) noexcept override;
  ConsumeResult admit(Signal signal, std::size_t wire_bytes) noexcept override;
  std::string never_fits(Signal signal, std::size_t wire_bytes) const noexcept override;

  // Estimated bytes in use now (see class comment).
  std::uint64_t usage() const;
  // What accepting a request of N wire bytes costs at once: its bytes (decoding is lazy;
  // an exporter that decodes is seen through SelfTelemetry::request_memory).
  static constexpr std::uint64_t kBytesPerWireByte = 1;

 private:
  void sample() noexcept;
  void run() noexcept;
  ConsumeResult refuse(std::uint64_t usage) const;
  // Why a request of wire_bytes could never fit under the soft limit; empty if it could.
  std::string over_soft_limit(std::size_t wire_bytes) const;

  CreateSettings settings_;
  MemoryLimiterConfig config_;
  MemoryLimiterConfig::Limits limits_;
  Consumer& next_;  // the next stage: owned by the Service, built before and stopped after this
  std::atomic<std::uint64_t> rss_at_sample_{0};
  std::atomic<std::int64_t> live_at_sample_{0};
  std::atomic<std::uint64_t> refused_requests_{0};  // by this instance, for its shutdown log
  Counter* refused_counter_;                        // in the process's registry
  std::vector<MetricsRegistry::Observation> gauges_;  // usage, soft limit, refusing
  std::atomic<bool> over_soft_limit_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread sampler_;
  bool stopped_ = false;
};

class MemoryLimiterProcessorFactory final : public TypedProcessorFactory<MemoryLimiterConfig> {
 public:
  std::string_view type() const override { return "memory_limiter"; }
  MemoryLimiterConfig parse(ConfigNode& node) const override { return MemoryLimiterConfig::parse(node); }
  std::unique_ptr<Processor> make(const CreateSettings& settings, const MemoryLimiterConfig& config,
                                  Consumer& next) const override {
    return std::make_unique<MemoryLimiterProcessor>(settings, config, next);
  }
};

}  // namespace otlpd
