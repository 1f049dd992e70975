#include "exporters/common/queued_exporter.h"

#include <fmt/format.h>

#include "selftelemetry/otelcol_metrics.h"

#include <algorithm>
#include <thread>

namespace otlpd {

// How long retries go on once shutdown has begun (as the batch processor waits at shutdown).
constexpr auto kShutdownGrace = std::chrono::seconds(10);

using Sizer = SendingQueueConfig::Sizer;

SendingQueueConfig SendingQueueConfig::parse(ConfigNode& node, SendingQueueConfig defaults) {
  SendingQueueConfig c = defaults;
  ConfigNode q = node.child("sending_queue");
  c.enabled = q.get_bool("enabled", c.enabled);
  c.num_consumers = q.get_int("num_consumers", c.num_consumers);
  c.queue_size = q.get_int("queue_size", c.queue_size);
  const std::string sizer = q.get_enum("sizer", "requests", {"requests", "items", "bytes"});
  c.sizer = sizer == "items" ? Sizer::items : sizer == "bytes" ? Sizer::bytes : Sizer::requests;
  c.max_size_mib = q.get_int("max_size_mib", c.max_size_mib);
  c.block_on_overflow = q.get_bool("block_on_overflow", c.block_on_overflow);
  q.finish();
  return c;
}

ConfigProblems SendingQueueConfig::validate() const {
  ConfigProblems problems;
  if (max_size_mib < 1) problems.push_back({"max_size_mib", "must be > 0"});
  if (num_consumers < 1 || num_consumers > 1024) problems.push_back({"num_consumers", "must be between 1 and 1024"});
  if (queue_size < 1) problems.push_back({"queue_size", "must be > 0"});
  return problems;
}

QueuedExporter::QueuedExporter(CreateSettings settings, SendingQueueConfig queue,
                               std::unique_ptr<BatchSender> sender)
    : settings_(std::move(settings)),
      queue_config_(queue),
      sender_(std::move(sender)),
      // The bounded queue holds batches; the sizer's bound is enforced by reserve().
      queue_(queue.sizer == Sizer::requests ? static_cast<std::size_t>(queue.queue_size) : 1 << 20) {
  MetricsRegistry& registry = settings_.telemetry->metrics;
  const MetricLabels exporter{{"exporter", settings_.id.str()}};
  for (std::size_t i = 0; i < 3; ++i) {
    MetricLabels labels = exporter;
    for (auto& label : sender_->metric_labels(static_cast<Signal>(i))) labels.push_back(std::move(label));
    // Series for the signals of the pipelines that use this exporter (tests may give none: all).
    const bool shown = settings_.signals.empty() ||
                       std::find(settings_.signals.begin(), settings_.signals.end(), static_cast<Signal>(i)) !=
                           settings_.signals.end();
    MetricsRegistry& target = shown ? registry : unshown_;
    sent_[i] = &target.counter(selfmetrics::kExporterSent[i], labels);
    refused_[i] = &target.counter(selfmetrics::kExporterEnqueueFailed[i], exporter);
    sent_baseline_[i] = sent_[i]->value();
    refused_baseline_[i] = refused_[i]->value();
    failed_labels_[i] = std::move(labels);
  }
  if (queue_config_.enabled) {
    for (Signal s : settings_.signals) {
      const MetricLabels labels{{"data_type", std::string(to_string(s))}, {"exporter", settings_.id.str()}};
      gauges_.push_back(registry.observe(selfmetrics::kExporterQueueSize, labels, [this, s] {
        return static_cast<double>(queued_batches_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed));
      }));
      gauges_.push_back(registry.observe(selfmetrics::kExporterQueueCapacity, labels, [this] {
        return static_cast<double>(queue_config_.queue_size);
      }));
    }
  }
}

std::uint64_t QueuedExporter::sent(Signal s) const {
  const auto i = static_cast<std::size_t>(s);
  return sent_[i]->value() - sent_baseline_[i];
}

std::uint64_t QueuedExporter::failed(Signal s) const { return failed_[static_cast<std::size_t>(s)].load(); }

std::uint64_t QueuedExporter::size_of(const Batch& batch) const noexcept {
  switch (queue_config_.sizer) {
    case Sizer::requests: return 1;
    case Sizer::items: return batch.item_count();
    case Sizer::bytes: return batch.wire_size();
  }
  return 1;
}

bool QueuedExporter::reserve(const Batch& batch) noexcept {
  const std::uint64_t size = size_of(batch), bytes = batch.wire_size();
  const auto max_size = static_cast<std::uint64_t>(queue_config_.queue_size);
  const auto max_bytes = static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20;
  // A batch larger than the whole budget still gets in when the queue is empty.
  std::uint64_t used = queued_size_.load(std::memory_order_relaxed);
  do {
    if (used > 0 && used + size > max_size) return false;
  } while (!queued_size_.compare_exchange_weak(used, used + size, std::memory_order_acq_rel));
  std::uint64_t used_bytes = queued_bytes_.load(std::memory_order_relaxed);
  do {
    if (used_bytes > 0 && used_bytes + bytes > max_bytes) {
      queued_size_.fetch_sub(size, std::memory_order_acq_rel);
      return false;
    }
  } while (!queued_bytes_.compare_exchange_weak(used_bytes, used_bytes + bytes, std::memory_order_acq_rel));
  queued_batches_[static_cast<std::size_t>(batch.signal)].fetch_add(1, std::memory_order_relaxed);
  return true;
}

void QueuedExporter::release(const Batch& batch) noexcept {
  queued_size_.fetch_sub(size_of(batch), std::memory_order_acq_rel);
  queued_bytes_.fetch_sub(batch.wire_size(), std::memory_order_acq_rel);
  queued_batches_[static_cast<std::size_t>(batch.signal)].fetch_sub(1, std::memory_order_relaxed);
}

QueuedExporter::~QueuedExporter() {
  shutdown();
  gauges_.clear();  // before the members they read go
}

bool QueuedExporter::start(std::string* error) {
  if (!sender_->start(error)) return false;
  started_ = true;
  const std::size_t workers = queue_config_.enabled
                                  ? static_cast<std::size_t>(queue_config_.num_consumers)
                                  : (sender_->flush_interval().count() > 0 ? 1 : 0);
  workers_running_ = workers;
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { run_worker(); });
  accepting_.store(true);
  return true;
}

ConsumeResult QueuedExporter::consume(Batch&& batch) noexcept {
  const auto signal = static_cast<std::size_t>(batch.signal);
  if (!accepting_.load(std::memory_order_acquire)) {
    refused_[signal]->add(batch.item_count());
    return ConsumeResult::retryable(fmt::format("exporter {} is shutting down", settings_.id.str()));
  }
  if (!queue_config_.enabled) {
    // No queue: export in the caller's thread (the receiver waits for the result).
    ConsumeResult result = sender_->send(batch);
    record(batch, result);
    return result;
  }
  const std::size_t items = batch.item_count();
  // Room in the size and byte budgets; with block_on_overflow, wait for it.
  while (!reserve(batch)) {
    if (!queue_config_.block_on_overflow || !accepting_.load(std::memory_order_acquire) ||
        waiting_stopped_.load(std::memory_order_acquire)) {
      refused_[signal]->add(items);
      return queue_full(size_of(batch), batch.wire_size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Batch kept = batch;  // pointers only: to give its budget back if the push fails
  if (!queue_.try_push(std::move(batch))) {
    release(kept);
    refused_[signal]->add(items);
    return queue_full(size_of(kept), kept.wire_size());
  }
  return ConsumeResult::ok();
}

std::string QueuedExporter::never_fits(Signal, std::size_t wire_bytes) const noexcept {
  if (!queue_config_.enabled) return {};
  const auto max_bytes = static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20;
  if (wire_bytes > max_bytes ||
      (queue_config_.sizer == Sizer::bytes && wire_bytes > static_cast<std::uint64_t>(queue_config_.queue_size))) {
    const bool by_bytes = wire_bytes > max_bytes;
    return fmt::format("request of {} bytes is larger than the sending queue of exporter {} can ever hold ({}: {} bytes)",
                       wire_bytes, settings_.id.str(), by_bytes ? "max_size_mib" : "queue_size",
                       by_bytes ? max_bytes : queue_config_.queue_size);
  }
  return {};
}

ConsumeResult QueuedExporter::admit(Signal signal, std::size_t wire_bytes) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    return ConsumeResult::retryable(fmt::format("exporter {} is shutting down", settings_.id.str()));
  }
  if (!queue_config_.enabled) return ConsumeResult::ok();
  const auto max_bytes = static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20;
  if (std::string why = never_fits(signal, wire_bytes); !why.empty()) return ConsumeResult::too_large(why);
  if (queue_config_.block_on_overflow) return ConsumeResult::ok();
  if (queued_size_.load(std::memory_order_relaxed) >= static_cast<std::uint64_t>(queue_config_.queue_size) ||
      queued_bytes_.load(std::memory_order_relaxed) + wire_bytes > max_bytes) {
    return queue_full(queue_config_.sizer == Sizer::bytes ? wire_bytes : 1, wire_bytes);
  }
  return ConsumeResult::ok();
}

ConsumeResult QueuedExporter::queue_full(std::uint64_t incoming_size, std::uint64_t incoming_bytes) const {
  static constexpr const char* kUnits[] = {"batches", "items", "bytes"};
  const std::uint64_t size = queued_size_.load(std::memory_order_relaxed);
  const std::uint64_t bytes = queued_bytes_.load(std::memory_order_relaxed);
  const auto max_bytes = static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20;
  // Name the budget that was really hit, with its figures.
  if (size >= static_cast<std::uint64_t>(queue_config_.queue_size) || bytes + incoming_bytes <= max_bytes) {
    return ConsumeResult::retryable(fmt::format("sending queue of exporter {} is full: {} {} queued + {} incoming > queue_size {}",
                                                settings_.id.str(), size, kUnits[static_cast<int>(queue_config_.sizer)],
                                                incoming_size, queue_config_.queue_size));
  }
  return ConsumeResult::retryable(fmt::format(
      "sending queue of exporter {} is full: {} bytes queued + {} bytes incoming > max_size_mib {} ({} bytes)",
      settings_.id.str(), bytes, incoming_bytes, queue_config_.max_size_mib, max_bytes));
}

void QueuedExporter::record(const Batch& batch, const ConsumeResult& result) noexcept {
  const auto signal = static_cast<std::size_t>(batch.signal);
  if (result.is_ok()) {
    sent_[signal]->add(batch.item_count());
    settings_.status->ok();
  } else {
    failed_[signal].fetch_add(batch.item_count(), std::memory_order_relaxed);
    MetricLabels labels = failed_labels_[signal];
    labels.emplace_back("error.permanent", result.error_permanent ? "true" : "false");
    labels.emplace_back("error.type", result.error_type.empty() ? "unknown" : result.error_type);
    settings_.telemetry->metrics.counter(selfmetrics::kExporterSendFailed[signal], labels).add(batch.item_count());
    if (result.code == ConsumeResult::Code::retryable) {
      settings_.status->recoverable_error(result.message);
    } else {
      settings_.status->permanent_error(result.message);
    }
    settings_.logger->error("failed to export {} {}: {}", batch.item_count(),
                            item_name(batch.signal), result.message);
  }
}

void QueuedExporter::run_worker() noexcept {
  using Clock = std::chrono::steady_clock;
  const auto interval = sender_->flush_interval();
  const auto wait = interval.count() > 0 ? interval : std::chrono::milliseconds(500);
  auto next_flush = Clock::now() + interval;
  for (;;) {
    std::optional<Batch> batch = queue_.pop_for(wait);
    if (batch) {
      release(*batch);
      ConsumeResult result = sender_->send(*batch);
      record(*batch, result);
    } else if (queue_.closed_and_empty()) {
      std::lock_guard lock(workers_mutex_);
      if (--workers_running_ == 0) workers_done_.notify_all();
      return;
    }
    if (interval.count() > 0 && Clock::now() >= next_flush) {
      sender_->flush();
      next_flush = Clock::now() + interval;
    }
  }
}

void QueuedExporter::shutdown() noexcept {
  if (stopped_) return;
  stopped_ = true;
  accepting_.store(false, std::memory_order_release);
  queue_.close();
  // The workers drain the queue. Retries go on for kShutdownGrace (a backend that comes back
  // meanwhile loses nothing); then every batch still retrying or queued is tried once more
  // and no longer waited for, so that shutdown ends even when the backend stays down.
  {
    std::unique_lock lock(workers_mutex_);
    workers_done_.wait_for(lock, kShutdownGrace, [&] { return workers_running_ == 0; });
  }
  sender_->interrupt_retries();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  if (!started_) return;
  sender_->flush();
  sender_->stop();
  for (Signal s : kAllSignals) {
    const auto i = static_cast<std::size_t>(s);
    const std::uint64_t refused = refused_[i]->value() - refused_baseline_[i];
    if (sent(s) || failed(s) || refused) {
      settings_.logger->info("{}: sent {} {}, failed {}, refused (queue full) {}", to_string(s), sent(s),
                             item_name(s), failed(s), refused);
    }
  }
}

}  // namespace otlpd
