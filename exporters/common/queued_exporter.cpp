#include "exporters/common/queued_exporter.h"

#include <fmt/format.h>

#include <thread>

namespace otlpd {

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
  if (c.max_size_mib < 1) q.error("max_size_mib", "must be > 0");
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
      // The bounded queue holds batches; the sizer's bound is enforced by reserve().
      queue_(queue.sizer == Sizer::requests ? static_cast<std::size_t>(queue.queue_size) : 1 << 20) {}

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
  return true;
}

void QueuedExporter::release(const Batch& batch) noexcept {
  queued_size_.fetch_sub(size_of(batch), std::memory_order_acq_rel);
  queued_bytes_.fetch_sub(batch.wire_size(), std::memory_order_acq_rel);
}

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
  // Room in the size and byte budgets; with block_on_overflow, wait for it.
  while (!reserve(batch)) {
    if (!queue_config_.block_on_overflow || !accepting_.load(std::memory_order_acquire)) {
      refused_[signal].fetch_add(items, std::memory_order_relaxed);
      return queue_full();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Batch kept = batch;  // pointers only: to give its budget back if the push fails
  if (!queue_.try_push(std::move(batch))) {
    release(kept);
    refused_[signal].fetch_add(items, std::memory_order_relaxed);
    return queue_full();
  }
  return ConsumeResult::ok();
}

ConsumeResult QueuedExporter::admit(Signal, std::size_t wire_bytes) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    return ConsumeResult::retryable(fmt::format("exporter {} is shutting down", settings_.id.str()));
  }
  if (queue_config_.enabled && !queue_config_.block_on_overflow &&
      (queued_size_.load(std::memory_order_relaxed) >= static_cast<std::uint64_t>(queue_config_.queue_size) ||
       queued_bytes_.load(std::memory_order_relaxed) + wire_bytes >
           (static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20))) {
    return queue_full();
  }
  return ConsumeResult::ok();
}

ConsumeResult QueuedExporter::queue_full() const {
  static constexpr const char* kUnits[] = {"batches", "items", "bytes"};
  return ConsumeResult::retryable(fmt::format(
      "sending queue of exporter {} is full ({} {}, {} MiB)", settings_.id.str(), queue_config_.queue_size,
      kUnits[static_cast<int>(queue_config_.sizer)], queued_bytes_.load(std::memory_order_relaxed) >> 20));
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
      release(*batch);
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
