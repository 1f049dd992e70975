#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include <spdlog/logger.h>

#include "config/config_node.h"
#include "pipeline/consumer.h"
#include "selftelemetry/status.h"

namespace otlpd {

// retry_on_failure, with otelcol's names and defaults.
struct RetryConfig {
  bool enabled = true;
  std::chrono::milliseconds initial_interval{5000};
  double randomization_factor = 0.5;
  double multiplier = 1.5;
  std::chrono::milliseconds max_interval{30000};
  std::chrono::milliseconds max_elapsed_time{300000};  // 0: retry for as long as otlpd runs

  // Reads the owner's retry_on_failure mapping; validate() checks it (keys relative to that mapping).
  static RetryConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

// Runs export attempts with exponential backoff and jitter until one succeeds, one fails
// permanently, max_elapsed_time would be exceeded, or stop() is called. Honours the delay
// a server asks for. Thread-safe: several queue workers may retry at once.
class Retrier {
 public:
  // `status` (may be null) hears of every failed attempt that will be retried.
  Retrier(RetryConfig config, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<ComponentStatus> status = nullptr)
      : config_(config), logger_(std::move(logger)), status_(std::move(status)), rng_(std::random_device{}()) {}

  // `attempt` returns ok, retryable (with the delay the destination asked for, if any) or
  // permanent; run() returns ok or, when it gives up, permanent (error_permanent says whether
  // the destination called it so).
  ConsumeResult run(const std::function<ConsumeResult()>& attempt);
  // Cuts short every wait in progress and every later one (at shutdown).
  void stop();

 private:
  std::chrono::milliseconds jitter(std::chrono::milliseconds interval);
  bool sleep_unless_stopped(std::chrono::milliseconds delay);  // false when stopped

  RetryConfig config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<ComponentStatus> status_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::mt19937 rng_;
};

}  // namespace otlpd
