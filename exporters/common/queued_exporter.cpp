#include "exporters/common/queued_exporter.h"

#include <fmt/format.h>

#include "selftelemetry/otelcol_metrics.h"
#include "storage/file_storage.h"

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
  c.storage = q.get_string("storage", c.storage);
  q.finish();
  return c;
}

ConfigProblems SendingQueueConfig::validate() const {
  ConfigProblems problems;
  if (max_size_mib < 1) problems.push_back({"max_size_mib", "must be > 0"});
  if (num_consumers < 1 || num_consumers > 1024) problems.push_back({"num_consumers", "must be between 1 and 1024"});
  if (queue_size < 1) problems.push_back({"queue_size", "must be > 0"});
  if (!storage.empty() && !enabled) {
    problems.push_back({"storage", "the sending queue is disabled (enabled: false), so nothing would be stored"});
  }
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
  if (queue_config_.enabled && queue_config_.storage.empty()) {  // a persistent queue's: open_durable()
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

bool QueuedExporter::open_durable(std::string* error) {
  const auto storage = settings_.host->find<storage::FileStorage>(queue_config_.storage);
  if (!storage) {
    *error = fmt::format("sending_queue::storage: no file_storage extension \"{}\" runs (list it in service::extensions)",
                         queue_config_.storage);
    return false;
  }
  storage::RecoveryReport report;
  durable_ = storage->open_queue("exporter", settings_.id.type, settings_.id.name,
                                 static_cast<std::uint64_t>(queue_config_.max_size_mib) << 20, settings_.logger, &report,
                                 error);
  if (!durable_) {
    *error = "sending_queue::storage: " + *error;
    return false;
  }
  if (report.records > 0) {
    settings_.logger->info("persistent queue {}: {} batches ({} items, {} bytes) from the previous run are sent first",
                           durable_->directory(), report.records, report.items, report.bytes);
  }
  MetricsRegistry& registry = settings_.telemetry->metrics;
  storage::DurableQueue* queue = durable_.get();
  for (Signal s : settings_.signals) {
    const MetricLabels labels{{"data_type", std::string(to_string(s))}, {"exporter", settings_.id.str()}};
    gauges_.push_back(registry.observe(selfmetrics::kExporterQueueSize, labels, [queue, s] {
      return static_cast<double>(queue->records(s));
    }));
    gauges_.push_back(registry.observe(selfmetrics::kExporterQueueCapacity, labels, [this] {
      return static_cast<double>(queue_config_.queue_size);
    }));
  }
  const MetricLabels labels{{"exporter", settings_.id.str()}};
  gauges_.push_back(registry.observe(selfmetrics::kExporterQueueDiskBytes, labels,
                                     [queue] { return static_cast<double>(queue->disk_bytes()); }));
  gauges_.push_back(registry.observe(selfmetrics::kExporterQueueFsyncs, labels,
                                     [queue] { return static_cast<double>(queue->stats().fsyncs.load()); }));
  gauges_.push_back(registry.observe(selfmetrics::kExporterQueueWrittenBytes, labels,
                                     [queue] { return static_cast<double>(queue->stats().bytes_written.load()); }));
  gauges_.push_back(registry.observe(selfmetrics::kExporterQueueCorruptRecords, labels,
                                     [queue] { return static_cast<double>(queue->stats().corrupt_records.load()); }));
  return true;
}

bool QueuedExporter::start(std::string* error) {
  if (queue_config_.enabled && !queue_config_.storage.empty() && !open_durable(error)) return false;
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
  if (durable_) return enqueue_durable(std::move(batch));
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

std::uint64_t QueuedExporter::durable_used() const noexcept {
  switch (queue_config_.sizer) {
    case Sizer::requests: return durable_->records();
    case Sizer::items: return durable_->items();
    case Sizer::bytes: return durable_->bytes();
  }
  return 0;
}

ConsumeResult QueuedExporter::enqueue_durable(Batch&& batch) noexcept {
  static constexpr const char* kUnits[] = {"batches", "items", "bytes"};
  const auto signal = static_cast<std::size_t>(batch.signal);
  const auto max_size = static_cast<std::uint64_t>(queue_config_.queue_size);
  for (;;) {
    // queue_size counts what is on disk and not yet sent, in sizer units (as otelcol's).
    const std::uint64_t used = durable_used();
    const bool room = used == 0 || used + size_of(batch) <= max_size;
    storage::DurableQueue::AppendResult appended;
    if (room) {
      // Answered when the disk has it: the receiver waits for `pending`, not this thread.
      auto pending = std::make_shared<PendingResult>();
      appended = durable_->append(batch, [pending, id = settings_.id.str()](const storage::DurableQueue::AppendResult& r) {
        pending->complete(r.ok() ? ConsumeResult::ok()
                                 : ConsumeResult::retryable(
                                       fmt::format("sending queue of exporter {} cannot store the batch: {}", id, r.message)));
      });
      if (appended.ok()) {
        ConsumeResult ok = ConsumeResult::ok();
        if (appended.deferred) ok.pending = std::move(pending);
        return ok;
      }
    }
    const bool full = !room || appended.status == storage::DurableQueue::AppendResult::Status::full;
    if (full && queue_config_.block_on_overflow && accepting_.load(std::memory_order_acquire) &&
        !waiting_stopped_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    refused_[signal]->add(batch.item_count());
    if (!room) {
      return ConsumeResult::retryable(fmt::format("sending queue of exporter {} is full: {} {} queued + {} incoming > queue_size {}",
                                                  settings_.id.str(), used, kUnits[static_cast<int>(queue_config_.sizer)],
                                                  size_of(batch), max_size));
    }
    return ConsumeResult::retryable(fmt::format("sending queue of exporter {} {}: {}", settings_.id.str(),
                                                full ? "is full" : "cannot store the batch", appended.message));
  }
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
  if (durable_) {
    if (durable_used() >= static_cast<std::uint64_t>(queue_config_.queue_size) ||
        durable_->disk_bytes() + wire_bytes > max_bytes) {
      return ConsumeResult::retryable(fmt::format(
          "sending queue of exporter {} is full ({} batches, {} bytes on disk, max_size_mib {})", settings_.id.str(),
          durable_->records(), durable_->disk_bytes(), queue_config_.max_size_mib));
    }
    return ConsumeResult::ok();
  }
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

void QueuedExporter::run_durable_worker() noexcept {
  using Clock = std::chrono::steady_clock;
  const auto interval = sender_->flush_interval();
  const auto wait = interval.count() > 0 ? interval : std::chrono::milliseconds(500);
  auto next_flush = Clock::now() + interval;
  // Not accepting_: workers start before the exporter accepts.
  while (!stopping_.load(std::memory_order_acquire)) {
    if (std::optional<storage::DurableQueue::Item> item = durable_->take(wait)) {
      ConsumeResult result = sender_->send(item->batch);
      if (result.is_ok() || result.error_permanent) {
        record(item->batch, result);
        durable_->done(item->id);  // sent, or refused for good by the destination (logged and counted)
      } else if (!stopping_.load(std::memory_order_acquire)) {
        // Retries ran out, or there were none: keep the batch at the head and try again later,
        // rather than drop it (a persistent queue that bleeds its head during an outage is
        // otelcol issue 15324). Nothing is lost, so nothing counts as failed.
        settings_.status->recoverable_error(result.message);
        settings_.logger->warn("could not export {} {} yet, kept on disk and retried in 1 s: {}",
                               item->batch.item_count(), item_name(item->batch.signal), result.message);
        durable_->retry_later(std::move(*item));
        std::unique_lock lock(pause_mutex_);
        pause_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_.load(std::memory_order_acquire); });
      }
      // Else shutdown has begun: the batch stays on disk and is sent after the next start.
    }
    if (interval.count() > 0 && Clock::now() >= next_flush) {
      sender_->flush();
      next_flush = Clock::now() + interval;
    }
  }
  std::lock_guard lock(workers_mutex_);
  if (--workers_running_ == 0) workers_done_.notify_all();
}

void QueuedExporter::run_worker() noexcept {
  if (durable_) {
    run_durable_worker();
    return;
  }
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
  if (durable_) {
    // Nothing to drain: what is queued is on disk. Sends under way try once more and end.
    durable_->close();
    {
      std::lock_guard lock(pause_mutex_);
      stopping_.store(true, std::memory_order_release);
      pause_.notify_all();
    }
    sender_->interrupt_retries();
  }
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
  if (durable_) {
    settings_.logger->info("persistent queue {}: {} batches ({} items) stay on disk for the next start",
                           durable_->directory(), durable_->records(), durable_->items());
    gauges_.clear();   // they read the queue
    durable_.reset();  // lets go of its directory (a reload may give it to a new instance)
  }
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
