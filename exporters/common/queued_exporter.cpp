#include "exporters/common/queued_exporter.h"

#include <fmt/format.h>

namespace otlpd {

SendingQueueConfig SendingQueueConfig::parse(ConfigNode& node, SendingQueueConfig defaults) {
  SendingQueueConfig c = defaults;
  ConfigNode q = node.child("sending_queue");
  c.enabled = q.get_bool("enabled", c.enabled);
  c.num_consumers = q.get_int("num_consumers", c.num_consumers);
  c.queue_size = q.get_int("queue_size", c.queue_size);
  c.block_on_overflow = q.get_bool("block_on_overflow", c.block_on_overflow);
  if (c.num_consumers < 1 || c.num_consumers > 1024) {
    q.error("num_consumers", "must be between 1 and 1024");
  }
  if (c.queue_size < 1) q.error("queue_size", "must be > 0");
  q.finish();
  return c;
}

QueuedExporter::QueuedExporter(CreateSettings settings, SendingQueueConfig queue,
                               std::unique_ptr<BatchSender> sender)
    : settings_(std::move(settings)),
      queue_config_(queue),
      sender_(std::move(sender)),
      queue_(static_cast<std::size_t>(queue.queue_size)) {}

QueuedExporter::~QueuedExporter() { shutdown(); }

bool QueuedExporter::start(std::string* error) {
  if (!sender_->start(error)) return false;
  started_ = true;
  const std::size_t workers = queue_config_.enabled
                                  ? static_cast<std::size_t>(queue_config_.num_consumers)
                                  : (sender_->flush_interval().count() > 0 ? 1 : 0);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { run_worker(); });
  accepting_.store(true);
  return true;
}

ConsumeResult QueuedExporter::consume(Batch&& batch) noexcept {
  const auto signal = static_cast<std::size_t>(batch.signal);
  if (!accepting_.load(std::memory_order_acquire)) {
    refused_[signal].fetch_add(batch.item_count(), std::memory_order_relaxed);
    return ConsumeResult::retryable(fmt::format("exporter {} is shutting down", settings_.id.str()));
  }
  if (!queue_config_.enabled) {
    // No queue: export in the caller's thread (the receiver waits for the result).
    ConsumeResult result = sender_->send(batch);
    record(batch, result);
    return result;
  }
  const std::size_t items = batch.item_count();
  const bool queued = queue_config_.block_on_overflow ? queue_.push(std::move(batch))
                                                      : queue_.try_push(std::move(batch));
  if (!queued) {
    refused_[signal].fetch_add(items, std::memory_order_relaxed);
    return queue_full();
  }
  return ConsumeResult::ok();
}

ConsumeResult QueuedExporter::admit(Signal, std::size_t) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    return ConsumeResult::retryable(fmt::format("exporter {} is shutting down", settings_.id.str()));
  }
  if (queue_config_.enabled && !queue_config_.block_on_overflow && queue_.size() >= queue_.capacity()) {
    return queue_full();
  }
  return ConsumeResult::ok();
}

ConsumeResult QueuedExporter::queue_full() const {
  return ConsumeResult::retryable(fmt::format("sending queue of exporter {} is full ({} batches)",
                                              settings_.id.str(), queue_.capacity()));
}

void QueuedExporter::record(const Batch& batch, const ConsumeResult& result) noexcept {
  const auto signal = static_cast<std::size_t>(batch.signal);
  if (result.is_ok()) {
    sent_[signal].fetch_add(batch.item_count(), std::memory_order_relaxed);
  } else {
    failed_[signal].fetch_add(batch.item_count(), std::memory_order_relaxed);
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
      ConsumeResult result = sender_->send(*batch);
      record(*batch, result);
    } else if (queue_.closed_and_empty()) {
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
  for (auto& worker : workers_) worker.join();
  workers_.clear();
  if (!started_) return;
  sender_->flush();
  sender_->stop();
  for (Signal s : kAllSignals) {
    const auto i = static_cast<std::size_t>(s);
    if (sent_[i] || failed_[i] || refused_[i]) {
      settings_.logger->info("{}: sent {} {}, failed {}, refused (queue full) {}", to_string(s),
                             sent_[i].load(), item_name(s), failed_[i].load(), refused_[i].load());
    }
  }
}

}  // namespace otlpd
