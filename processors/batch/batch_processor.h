#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "pipeline/bounded_queue.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// processors::batch, with the OpenTelemetry Collector's options and defaults.
struct BatchProcessorConfig final : ComponentConfig {
  std::int64_t send_batch_size = 8192;     // items that trigger a send
  std::int64_t send_batch_max_size = 0;    // upper bound of a batch; 0: none
  std::chrono::milliseconds timeout{200};  // a non-empty batch is sent at the latest after this
  // otlpd: how many items may wait in this processor (queued, being batched, or being handed
  // on) before it refuses new data with a retryable error. 0: 4 x the larger batch size.
  std::int64_t max_pending_items = 0;

  // max_pending_items, or its default.
  std::uint64_t pending_limit() const;
  // Reads the options (validate() checks them).
  static BatchProcessorConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

// Groups requests into batches without copying them: a batch is a list of shared, immutable
// requests. One worker thread per instance (one instance per pipeline) forms batches from a
// lock-free queue fed by the receiver threads.
//
// Unlike otelcol's batch processor, it never drops what it accepted: if the next stage
// refuses a batch (e.g. a full exporter queue), the worker keeps it and retries with backoff,
// and meanwhile refuses new data once max_pending_items are waiting, so the pressure reaches
// the client as a retryable status. At shutdown it flushes everything it holds.
class BatchProcessor final : public Processor {
 public:
  BatchProcessor(CreateSettings settings, const BatchProcessorConfig& config, Consumer& next);
  ~BatchProcessor() override;

  bool start(std::string* error) override;
  void shutdown() noexcept override;
  ConsumeResult consume(Batch&& batch) noexcept override;
  ConsumeResult admit(Signal signal, std::size_t wire_bytes) noexcept override;
  std::string never_fits(Signal signal, std::size_t wire_bytes) const noexcept override {
    return next_.never_fits(signal, wire_bytes);
  }

  std::uint64_t pending_items() const { return pending_items_.load(); }

 private:
  void run() noexcept;
  // Hands `batch` to the next stage, retrying retryable refusals; releases its items.
  void send(Batch&& batch) noexcept;
  ConsumeResult full() const;

  CreateSettings settings_;
  BatchProcessorConfig config_;
  const std::uint64_t batch_size_, batch_max_size_, max_pending_;  // config_'s, validated
  Consumer& next_;  // the next stage: owned by the Service, built before and stopped after this
  BoundedQueue<Batch> queue_;
  std::atomic<std::uint64_t> pending_items_{0};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> stopping_{false};
  // The worker holding a batch until its timeout sleeps on wake_ (sleeping_ set), not on the
  // queue: requests arriving meanwhile wait in the queue without waking it, and the one that
  // would fill the batch wakes it.
  moodycamel::LightweightSemaphore wake_;
  std::atomic<bool> sleeping_{false};
  std::thread worker_;
  bool stopped_ = false;
  // Self-telemetry (otelcol's names): items per batch sent, and what triggered each send.
  Histogram* send_size_;
  Counter* size_trigger_;
  Counter* timeout_trigger_;
  std::uint64_t batches_sent_ = 0;  // worker thread only
  std::uint64_t dropped_items_ = 0;  // worker thread only
};

class BatchProcessorFactory final : public TypedProcessorFactory<BatchProcessorConfig> {
 public:
  std::string_view type() const override { return "batch"; }
  BatchProcessorConfig parse(ConfigNode& node) const override { return BatchProcessorConfig::parse(node); }
  std::unique_ptr<Processor> make(const CreateSettings& settings, const BatchProcessorConfig& config,
                                  Consumer& next) const override {
    return std::make_unique<BatchProcessor>(settings, config, next);
  }
};

}  // namespace otlpd
