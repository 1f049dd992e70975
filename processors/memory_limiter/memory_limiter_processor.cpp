#include "processors/memory_limiter/memory_limiter_processor.h"

#include <charconv>
#include "selftelemetry/otelcol_metrics.h"

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <fstream>

namespace otlpd {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

std::uint64_t total_memory_bytes() {
  std::uint64_t total = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  while (meminfo >> key >> kib) {
    if (key == "MemTotal:") {
      total = kib * 1024;
      break;
    }
    meminfo.ignore(256, '\n');
  }
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::string limit;
  if (cgroup >> limit && limit != "max") {
    std::uint64_t bytes = 0;
    const auto [end, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), bytes);
    if (ec == std::errc() && end == limit.data() + limit.size() && bytes > 0 && (total == 0 || bytes < total)) {
      total = bytes;
    }
  }
  return total;
}

}  // namespace

std::uint64_t process_rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

MemoryLimiterConfig MemoryLimiterConfig::parse(ConfigNode& node) {
  MemoryLimiterConfig c;
  c.check_interval = node.get_duration("check_interval", c.check_interval);
  c.limit_mib = node.get_int("limit_mib", c.limit_mib);
  c.spike_limit_mib = node.get_int("spike_limit_mib", c.spike_limit_mib);
  c.limit_percentage = node.get_int("limit_percentage", c.limit_percentage);
  c.spike_limit_percentage = node.get_int("spike_limit_percentage", c.spike_limit_percentage);
  node.finish();
  return c;
}

ConfigProblems MemoryLimiterConfig::validate() const {
  ConfigProblems problems;
  if (check_interval.count() <= 0) problems.push_back({"check_interval", "must be greater than zero (e.g. 1s)"});
  if (limit_mib < 0) problems.push_back({"limit_mib", "must be >= 0"});
  if (spike_limit_mib < 0) problems.push_back({"spike_limit_mib", "must be >= 0"});
  if (limit_percentage < 0 || limit_percentage > 100) {
    problems.push_back({"limit_percentage", "must be between 0 and 100"});
  }
  if (spike_limit_percentage < 0 || spike_limit_percentage > 100) {
    problems.push_back({"spike_limit_percentage", "must be between 0 and 100"});
  }
  if (limit_mib > 0 && limit_percentage > 0) {
    problems.push_back({"limit_percentage", "set either limit_mib or limit_percentage, not both"});
  }
  if (limit_mib <= 0 && limit_percentage <= 0) {
    problems.push_back({"limit_mib", "a limit is required: set limit_mib or limit_percentage"});
  }
  // The spike allowance must leave a soft limit above zero (both percentages are of one total).
  if (limit_mib > 0 && spike_limit_mib >= limit_mib) {
    problems.push_back({"spike_limit_mib", "must be smaller than the limit"});
  } else if (limit_mib <= 0 && limit_percentage > 0 && spike_limit_percentage >= limit_percentage) {
    problems.push_back({"spike_limit_percentage", "must be smaller than the limit"});
  }
  return problems;
}

MemoryLimiterConfig::Limits MemoryLimiterConfig::limits(std::optional<std::uint64_t> total_memory) const {
  Limits l;
  if (limit_mib > 0) {
    l.limit_bytes = static_cast<std::uint64_t>(limit_mib) * kMiB;
    l.spike_bytes = spike_limit_mib > 0 ? static_cast<std::uint64_t>(spike_limit_mib) * kMiB : l.limit_bytes / 5;
  } else if (limit_percentage > 0) {
    const std::uint64_t total = total_memory ? *total_memory : total_memory_bytes();
    l.limit_bytes = total / 100 * static_cast<std::uint64_t>(limit_percentage);
    l.spike_bytes = spike_limit_percentage > 0 ? total / 100 * static_cast<std::uint64_t>(spike_limit_percentage)
                                               : l.limit_bytes / 5;
  }
  return l;
}

MemoryLimiterProcessor::MemoryLimiterProcessor(CreateSettings settings, const MemoryLimiterConfig& config,
                                               MemoryLimiterConfig::Limits limits, Consumer& next)
    : settings_(std::move(settings)), config_(config), limits_(limits), next_(next) {
  MetricsRegistry& registry = settings_.telemetry->metrics;
  const MetricLabels labels{{"processor", settings_.id.str()}};
  refused_counter_ = &registry.counter(selfmetrics::kMemoryLimiterRefused, labels);
  gauges_.push_back(registry.observe(selfmetrics::kMemoryLimiterUsage, labels, [this] { return static_cast<double>(usage()); }));
  gauges_.push_back(registry.observe(selfmetrics::kMemoryLimiterSoftLimit, labels, [this] {
    return static_cast<double>(limits_.soft());
  }));
  gauges_.push_back(registry.observe(selfmetrics::kMemoryLimiterRefusing, labels, [this] {
    return over_soft_limit_.load(std::memory_order_relaxed) ? 1.0 : 0.0;
  }));
}

MemoryLimiterProcessor::~MemoryLimiterProcessor() {
  shutdown();
  gauges_.clear();  // before the members they read go
}

bool MemoryLimiterProcessor::start(std::string*) {
  sample();
  sampler_ = std::thread([this] { run(); });
  settings_.logger->info("memory limit {} MiB, soft limit {} MiB, checked every {} ms",
                         limits_.limit_bytes / kMiB, limits_.soft() / kMiB,
                         config_.check_interval.count());
  return true;
}

void MemoryLimiterProcessor::sample() noexcept {
  std::uint64_t rss = process_rss_bytes();
  if (rss > limits_.soft()) {
    malloc_trim(0);  // give freed heap pages back before concluding that memory is short
    rss = process_rss_bytes();
  }
  live_at_sample_.store(settings_.telemetry->request_memory->bytes(), std::memory_order_relaxed);
  rss_at_sample_.store(rss, std::memory_order_relaxed);
  const bool over = rss > limits_.soft();
  if (over != over_soft_limit_.exchange(over)) {
    if (over) {
      settings_.logger->warn("memory usage {} MiB is above the soft limit {} MiB: refusing data", rss / kMiB,
                             limits_.soft() / kMiB);
    } else {
      settings_.logger->info("memory usage {} MiB is below the soft limit again: accepting data", rss / kMiB);
    }
  }
}

void MemoryLimiterProcessor::run() noexcept {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, config_.check_interval, [&] { return stop_; })) {
    lock.unlock();
    sample();
    lock.lock();
  }
}

std::uint64_t MemoryLimiterProcessor::usage() const {
  const std::int64_t growth = settings_.telemetry->request_memory->bytes() - live_at_sample_.load(std::memory_order_relaxed);
  return rss_at_sample_.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(std::max<std::int64_t>(growth, 0));
}

ConsumeResult MemoryLimiterProcessor::refuse(std::uint64_t used) const {
  return ConsumeResult::retryable(fmt::format(
      "memory usage {} MiB is above the memory_limiter's soft limit of {} MiB; retry later", used / kMiB,
      limits_.soft() / kMiB));
}

std::string MemoryLimiterProcessor::over_soft_limit(std::size_t wire_bytes) const {
  if (kBytesPerWireByte * wire_bytes <= limits_.soft()) return {};
  return fmt::format(
      "request of {} bytes can never fit under the memory_limiter's soft limit of {} MiB (limit {} MiB - spike {} MiB)",
      wire_bytes, limits_.soft() / kMiB, limits_.limit_bytes / kMiB,
      limits_.spike_bytes / kMiB);
}

std::string MemoryLimiterProcessor::never_fits(Signal signal, std::size_t wire_bytes) const noexcept {
  if (std::string why = over_soft_limit(wire_bytes); !why.empty()) return why;
  return next_.never_fits(signal, wire_bytes);
}

ConsumeResult MemoryLimiterProcessor::admit(Signal signal, std::size_t wire_bytes) noexcept {
  if (std::string why = over_soft_limit(wire_bytes); !why.empty()) {
    refused_requests_.fetch_add(1, std::memory_order_relaxed);
    refused_counter_->add();
    return ConsumeResult::too_large(std::move(why));
  }
  const std::uint64_t used = usage();
  const std::uint64_t after = used + kBytesPerWireByte * wire_bytes;
  if (used > limits_.soft() || after > limits_.limit_bytes) {
    refused_requests_.fetch_add(1, std::memory_order_relaxed);
    refused_counter_->add();
    return refuse(std::max(used, after));
  }
  return next_.admit(signal, wire_bytes);
}

ConsumeResult MemoryLimiterProcessor::consume(Batch&& batch) noexcept {
  if (const std::uint64_t used = usage(); used > limits_.soft()) {
    refused_requests_.fetch_add(1, std::memory_order_relaxed);
    refused_counter_->add();
    return refuse(used);
  }
  return next_.consume(std::move(batch));
}

void MemoryLimiterProcessor::shutdown() noexcept {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  if (refused_requests_) settings_.logger->info("refused {} requests over the memory limit", refused_requests_.load());
}

}  // namespace otlpd
