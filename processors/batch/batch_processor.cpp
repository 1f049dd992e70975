#include "processors/batch/batch_processor.h"

#include <fmt/format.h>

#include "otlp/split.h"
#include "selftelemetry/otelcol_metrics.h"

namespace otlpd {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kIdlePoll = std::chrono::milliseconds(200);
constexpr auto kShutdownDeadline = std::chrono::seconds(10);

}  // namespace

BatchProcessorConfig BatchProcessorConfig::parse(ConfigNode& node) {
  BatchProcessorConfig c;
  c.send_batch_size = node.get_int("send_batch_size", c.send_batch_size);
  c.send_batch_max_size = node.get_int("send_batch_max_size", c.send_batch_max_size);
  c.timeout = node.get_duration("timeout", c.timeout);
  c.max_pending_items = node.get_int("max_pending_items", c.max_pending_items);
  node.finish();
  return c;
}

ConfigProblems BatchProcessorConfig::validate() const {
  ConfigProblems problems;
  if (send_batch_size < 0) problems.push_back({"send_batch_size", "must be >= 0"});
  if (send_batch_max_size < 0) problems.push_back({"send_batch_max_size", "must be >= 0"});
  if (send_batch_max_size > 0 && send_batch_max_size < send_batch_size) {
    problems.push_back({"send_batch_max_size", "must be greater than or equal to send_batch_size"});
  }
  if (timeout.count() < 0) problems.push_back({"timeout", "must be >= 0"});
  if (max_pending_items < 0) problems.push_back({"max_pending_items", "must be >= 0"});
  return problems;
}

std::uint64_t BatchProcessorConfig::pending_limit() const {
  if (max_pending_items > 0) return static_cast<std::uint64_t>(max_pending_items);
  return 4 * static_cast<std::uint64_t>(std::max<std::int64_t>({send_batch_size, send_batch_max_size, 1}));
}

BatchProcessor::BatchProcessor(CreateSettings settings, const BatchProcessorConfig& config,
                               Consumer& next)
    : settings_(std::move(settings)),
      config_(config),
      batch_size_(static_cast<std::uint64_t>(std::max<std::int64_t>(config.send_batch_size, 0))),
      batch_max_size_(static_cast<std::uint64_t>(std::max<std::int64_t>(config.send_batch_max_size, 0))),
      max_pending_(config.pending_limit()),
      next_(next),
      queue_(static_cast<std::size_t>(max_pending_)) {
  MetricsRegistry& registry = settings_.telemetry->metrics;
  const MetricLabels labels{{"processor", settings_.id.str()}};
  // otelcol's buckets for batch_send_size.
  static const std::vector<double> kBounds{10,   25,   50,   75,   100,  250,  500,   750,   1000,  2000,  3000,
                                           4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 30000, 50000, 100000};
  send_size_ = &registry.histogram(selfmetrics::kBatchSendSize, labels, kBounds);
  size_trigger_ = &registry.counter(selfmetrics::kBatchSizeTrigger, labels);
  timeout_trigger_ = &registry.counter(selfmetrics::kBatchTimeoutTrigger, labels);
}

BatchProcessor::~BatchProcessor() { shutdown(); }

bool BatchProcessor::start(std::string*) {
  worker_ = std::thread([this] { run(); });
  accepting_.store(true, std::memory_order_release);
  return true;
}

ConsumeResult BatchProcessor::full() const {
  return ConsumeResult::retryable(fmt::format("batch processor {} is full ({} items waiting)",
                                              settings_.id.str(), pending_items_.load()));
}

ConsumeResult BatchProcessor::admit(Signal signal, std::size_t wire_bytes) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    return ConsumeResult::retryable(fmt::format("processor {} is shutting down", settings_.id.str()));
  }
  if (pending_items_.load(std::memory_order_relaxed) >= max_pending_) return full();
  return next_.admit(signal, wire_bytes);
}

ConsumeResult BatchProcessor::consume(Batch&& batch) noexcept {
  if (!accepting_.load(std::memory_order_acquire)) {
    return ConsumeResult::retryable(fmt::format("processor {} is shutting down", settings_.id.str()));
  }
  const std::uint64_t items = batch.item_count();
  // Reserve room for the items; one request larger than the whole bound is still let in
  // when nothing is pending, so that it can be split rather than refused forever.
  std::uint64_t pending = pending_items_.load(std::memory_order_relaxed);
  do {
    if (pending > 0 && pending + items > max_pending_) return full();
  } while (!pending_items_.compare_exchange_weak(pending, pending + items, std::memory_order_acq_rel));
  if (!queue_.try_push(std::move(batch))) {
    pending_items_.fetch_sub(items, std::memory_order_acq_rel);
    return full();
  }
  // Pushed before this check; the worker sets sleeping_ before it reads pending_items_: one of
  // the two sees the other (both sequentially consistent), so a filling request never waits for
  // the timeout.
  if (pending + items >= batch_size_ && sleeping_.load(std::memory_order_seq_cst)) wake_.signal();
  return ConsumeResult::ok();
}

void BatchProcessor::run() noexcept {
  Batch current;
  std::uint64_t current_items = 0;
  Clock::time_point deadline{};
  enum class Trigger { size, timeout, shutdown };
  auto flush = [&](Trigger trigger) {
    if (current_items == 0) return;
    send_size_->observe(static_cast<double>(current_items));
    if (trigger == Trigger::size) size_trigger_->add();
    if (trigger == Trigger::timeout) timeout_trigger_->add();
    send(std::move(current));
    current = Batch{};
    current_items = 0;
  };
  auto add = [&](RequestPtr request) {
    if (current_items == 0) {
      current.signal = request->signal();
      deadline = Clock::now() + config_.timeout;
    }
    current_items += request->item_count();
    current.requests.push_back(std::move(request));
  };

  for (;;) {
    std::optional<Batch> incoming = queue_.try_pop();
    if (!incoming) {
      if (current_items == 0) {
        incoming = queue_.pop_for(kIdlePoll);
      } else if (const auto now = Clock::now(); now < deadline && !stopping_.load(std::memory_order_acquire)) {
        // Holding a batch: sleep until its deadline, not woken by each request that comes (a
        // wake-up per request was a fifth of otlpd's CPU at 10k spans/s), unless the requests
        // waiting fill the batch. Rounded up: rounded down, the last fraction of a microsecond
        // became waits of 0 and the thread spun until the deadline.
        const auto wait = std::chrono::ceil<std::chrono::microseconds>(deadline - now);
        sleeping_.store(true, std::memory_order_seq_cst);
        if (pending_items_.load(std::memory_order_seq_cst) < batch_size_) {
          wake_.wait(wait.count());
        } else {
          // A request that fills the batch has been counted and is being queued.
          incoming = queue_.pop_for(std::chrono::milliseconds(1));
        }
        sleeping_.store(false, std::memory_order_relaxed);
      }
    }
    if (incoming) {
      for (RequestPtr& request : incoming->requests) {
        const std::uint64_t max = batch_max_size_;
        // Keep batches within send_batch_max_size: close the current one first, and split a
        // request that alone is larger than the limit.
        while (max > 0 && current_items + request->item_count() > max) {
          if (current_items > 0) {
            flush(Trigger::size);
            continue;
          }
          auto [head, tail] = split_request(*request, max);
          add(std::move(head));
          flush(Trigger::size);
          request = std::move(tail);
        }
        if (request->item_count() > 0) add(std::move(request));
        if (current_items >= batch_size_) flush(Trigger::size);
      }
    } else if (queue_.closed_and_empty()) {
      flush(Trigger::shutdown);
      return;
    }
    if (current_items > 0 && Clock::now() >= deadline) flush(Trigger::timeout);
  }
}

void BatchProcessor::send(Batch&& batch) noexcept {
  const std::uint64_t items = batch.item_count();
  auto backoff = std::chrono::milliseconds(5);
  // Retries run for as long as otlpd runs; once it stops, for kShutdownDeadline more.
  Clock::time_point deadline = Clock::time_point::max();
  for (;;) {
    // The batch is kept for retries, so hand over a copy of its request list (pointers only).
    ConsumeResult result = next_.consume(Batch(batch));
    if (result.is_ok()) {
      ++batches_sent_;
      break;
    }
    if (result.code == ConsumeResult::Code::permanent || result.code == ConsumeResult::Code::too_large) {
      dropped_items_ += items;
      settings_.logger->error("dropped {} {}: {}", items, item_name(batch.signal), result.message);
      break;
    }
    if (stopping_.load(std::memory_order_acquire) && deadline == Clock::time_point::max()) {
      deadline = Clock::now() + kShutdownDeadline;
    }
    if (Clock::now() >= deadline) {
      dropped_items_ += items;
      settings_.logger->error("dropped {} {} at shutdown: the next stage kept refusing ({})", items,
                              item_name(batch.signal), result.message);
      break;
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
  pending_items_.fetch_sub(items, std::memory_order_acq_rel);
}

void BatchProcessor::shutdown() noexcept {
  if (stopped_) return;
  stopped_ = true;
  accepting_.store(false, std::memory_order_release);
  stopping_.store(true, std::memory_order_release);
  queue_.close();
  wake_.signal();  // a worker sleeping until its batch's deadline
  if (worker_.joinable()) worker_.join();
  if (batches_sent_ || dropped_items_) {
    settings_.logger->info("sent {} batches, dropped {} items", batches_sent_, dropped_items_);
  }
}

}  // namespace otlpd
