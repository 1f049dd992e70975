#include "exporters/common/retry.h"

#include <fmt/format.h>
#include <spdlog/logger.h>

namespace otlpd {

RetryConfig RetryConfig::parse(ConfigNode& node) {
  RetryConfig c;
  ConfigNode r = node.child("retry_on_failure");
  c.enabled = r.get_bool("enabled", c.enabled);
  c.initial_interval = r.get_duration("initial_interval", c.initial_interval);
  c.randomization_factor = r.get_double("randomization_factor", c.randomization_factor);
  c.multiplier = r.get_double("multiplier", c.multiplier);
  c.max_interval = r.get_duration("max_interval", c.max_interval);
  c.max_elapsed_time = r.get_duration("max_elapsed_time", c.max_elapsed_time);
  r.finish();
  return c;
}

ConfigProblems RetryConfig::validate() const {
  ConfigProblems problems;
  if (initial_interval.count() <= 0) problems.push_back({"initial_interval", "must be greater than zero"});
  if (randomization_factor < 0 || randomization_factor > 1) {
    problems.push_back({"randomization_factor", "must be between 0 and 1"});
  }
  if (multiplier < 1) problems.push_back({"multiplier", "must be >= 1"});
  if (max_interval < initial_interval) problems.push_back({"max_interval", "must be >= initial_interval"});
  if (max_elapsed_time.count() < 0) problems.push_back({"max_elapsed_time", "must be >= 0 (0: no limit)"});
  return problems;
}

ConsumeResult Retrier::run(const std::function<ConsumeResult()>& attempt) {
  using Clock = std::chrono::steady_clock;
  const auto give_up = config_.max_elapsed_time.count() > 0 ? Clock::now() + config_.max_elapsed_time
                                                            : Clock::time_point::max();
  auto interval = config_.initial_interval;
  auto failed = [](const ConsumeResult& a, std::string message) {
    ConsumeResult result = ConsumeResult::permanent(std::move(message));
    result.error_type = a.error_type;
    result.error_permanent = a.code != ConsumeResult::Code::retryable;
    return result;
  };
  for (int n = 1;; ++n) {
    ConsumeResult a = attempt();
    if (a.is_ok()) return ConsumeResult::ok();
    if (a.code != ConsumeResult::Code::retryable) return failed(a, a.message + " (not retryable)");
    if (!config_.enabled) return failed(a, a.message + " (retry_on_failure is disabled)");
    const auto delay = a.retry_after.value_or(jitter(interval));
    if (Clock::now() + delay > give_up) {
      return failed(a, fmt::format("{}; giving up after {} attempts (max_elapsed_time {} s)", a.message, n,
                                   config_.max_elapsed_time.count() / 1000));
    }
    logger_->warn("{}; retrying in {} ms (attempt {})", a.message, delay.count(), n);
    if (status_) status_->recoverable_error(a.message);
    if (!sleep_unless_stopped(delay)) {
      // Stopping: one last attempt now, instead of after the delay, then no more.
      a = attempt();
      if (a.is_ok()) return ConsumeResult::ok();
      return failed(a, a.message + "; otlpd is stopping, not retrying further");
    }
    interval = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(interval * config_.multiplier),
                        config_.max_interval);
  }
}

void Retrier::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

std::chrono::milliseconds Retrier::jitter(std::chrono::milliseconds interval) {
  std::uniform_real_distribution<double> d(1 - config_.randomization_factor, 1 + config_.randomization_factor);
  std::lock_guard lock(mutex_);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(interval.count()) * d(rng_)));
}

bool Retrier::sleep_unless_stopped(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, delay, [&] { return stopping_; });
}

}  // namespace otlpd
