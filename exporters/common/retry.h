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

  static RetryConfig parse(ConfigNode& node);
};

// What one export attempt came to.
struct Attempt {
  enum class Outcome { ok, retryable, permanent };
  Outcome outcome = Outcome::ok;
  std::string error;                                  // what went wrong, for the log
  std::optional<std::chrono::milliseconds> retry_after;  // the server's RetryInfo / Retry-After
  std::string error_type;  // "Unavailable", "503", "connection" (see ConsumeResult::error_type)

  Attempt typed(std::string type) && {
    error_type = std::move(type);
    return std::move(*this);
  }

  static Attempt ok() { return {}; }
  static Attempt retryable(std::string why, std::optional<std::chrono::milliseconds> after = {}) {
    return {Outcome::retryable, std::move(why), after};
  }
  static Attempt permanent(std::string why) { return {Outcome::permanent, std::move(why), {}}; }
};

// Runs export attempts with exponential backoff and jitter until one succeeds, one fails
// permanently, max_elapsed_time would be exceeded, or stop() is called. Honours the delay
// a server asks for. Thread-safe: several queue workers may retry at once.
class Retrier {
 public:
  // `status` (may be null) hears of every failed attempt that will be retried.
  Retrier(RetryConfig config, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<ComponentStatus> status = nullptr)
      : config_(config), logger_(std::move(logger)), status_(std::move(status)), rng_(std::random_device{}()) {}

  ConsumeResult run(const std::function<Attempt()>& attempt);
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
