#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config_node.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/component.h"
#include "storage/durable_queue.h"

namespace otlpd {

// exporters::<id>::sending_queue, with otelcol's option names and defaults: queue_size is
// counted in `sizer` units (requests = batches, items = spans/points/records, bytes).
// otlpd adds max_size_mib (default 64), a ceiling on the protobuf bytes queued whatever the sizer: with
// otelcol's defaults (1000 batches of up to 8192 spans) a slow exporter can queue gigabytes.
struct SendingQueueConfig {
  enum class Sizer { requests, items, bytes };
  bool enabled = true;
  std::int64_t num_consumers = 1;
  std::int64_t queue_size = 1000;
  Sizer sizer = Sizer::requests;
  std::int64_t max_size_mib = 64;
  bool block_on_overflow = false;
  // The id of a file_storage extension: the queue lives on disk there (a persistent queue).
  std::string storage;

  // Reads "sending_queue" from `node` (absent: the defaults given).
  static SendingQueueConfig parse(ConfigNode& node, SendingQueueConfig defaults);
  // Keys relative to the sending_queue mapping (the owner adds "sending_queue::").
  ConfigProblems validate() const;
};

// The synchronous part of an exporter: turns a batch into output. Called from the queue's
// workers, so with num_consumers > 1 concurrently: implementations must be thread-safe.
class BatchSender {
 public:
  virtual ~BatchSender() = default;
  virtual bool start(std::string* /*error*/) { return true; }
  virtual ConsumeResult send(const Batch& batch) noexcept = 0;
  // How often flush() runs while idle; zero: never.
  virtual std::chrono::milliseconds flush_interval() const { return std::chrono::milliseconds(0); }
  // Pushes buffered output out. Also called once after the queue has drained at shutdown.
  virtual void flush() noexcept {}
  virtual void stop() noexcept {}
  // Shutdown has begun: a send that is retrying gives up after its current attempt, and later
  // sends try once (as otelcol's retry sender does at shutdown), so that draining the queue
  // towards a backend that is down ends. Called while workers may be sending.
  virtual void interrupt_retries() noexcept {}
  // Labels of this exporter's sent / send_failed series besides `exporter`, as otelcol's
  // exporters add them (server_address, server_port; url_path for OTLP/HTTP).
  virtual MetricLabels metric_labels(Signal) const { return {}; }
};

// An exporter made of a bounded sending queue and `num_consumers` workers that call a
// BatchSender. consume() never blocks unless block_on_overflow is set: when the queue is
// full it refuses with a retryable result, so the receiver can push back on the client.
// shutdown() stops accepting, lets the workers drain the queue, flushes and joins.
//
// With `storage` set the queue is a DurableQueue on disk: consume() returns ok only once the
// batch is durable, what the previous run left is sent first, a batch is removed only when
// sent (or refused for good by the destination), a batch whose retries ran out goes back to
// the head of the queue instead of being dropped, and shutdown() does not drain: what is
// queued stays on disk for the next start.
class QueuedExporter final : public Exporter {
 public:
  QueuedExporter(CreateSettings settings, SendingQueueConfig queue,
                 std::unique_ptr<BatchSender> sender);
  ~QueuedExporter() override;

  bool start(std::string* error) override;
  void shutdown() noexcept override;
  void stop_waiting() noexcept override { waiting_stopped_.store(true, std::memory_order_release); }
  ConsumeResult consume(Batch&& batch) noexcept override;
  // Refuses early, before the receiver decodes, when the sending queue is already full.
  ConsumeResult admit(Signal signal, std::size_t wire_bytes) noexcept override;
  std::string never_fits(Signal signal, std::size_t wire_bytes) const noexcept override;

  // What this instance sent and failed to send (the registry's counters go on across reloads).
  std::uint64_t sent(Signal s) const;
  std::uint64_t failed(Signal s) const;

 private:
  void run_worker() noexcept;
  void run_durable_worker() noexcept;
  bool open_durable(std::string* error);
  std::uint64_t durable_used() const noexcept;  // the persistent queue's size in sizer units
  ConsumeResult enqueue_durable(Batch&& batch) noexcept;
  void record(const Batch& batch, const ConsumeResult& result) noexcept;
  // The refusal when a budget is full for now, naming the budget that was hit and its figures.
  ConsumeResult queue_full(std::uint64_t incoming_size, std::uint64_t incoming_bytes) const;

  // Reserves room for a batch in the queue's size and byte budgets; false when full.
  bool reserve(const Batch& batch) noexcept;
  void release(const Batch& batch) noexcept;
  std::uint64_t size_of(const Batch& batch) const noexcept;

  CreateSettings settings_;
  SendingQueueConfig queue_config_;
  std::unique_ptr<BatchSender> sender_;
  BoundedQueue<Batch> queue_;
  std::atomic<std::uint64_t> queued_size_{0};   // in sizer units
  std::atomic<std::uint64_t> queued_bytes_{0};  // protobuf bytes
  std::array<std::atomic<std::uint64_t>, 3> queued_batches_{};  // per signal, for queue_size
  std::vector<std::thread> workers_;
  std::mutex workers_mutex_;
  std::condition_variable workers_done_;
  std::size_t workers_running_ = 0;  // guarded by workers_mutex_
  std::atomic<bool> accepting_{false};
  std::atomic<bool> waiting_stopped_{false};  // stop_waiting(): block_on_overflow no longer waits
  bool started_ = false;
  bool stopped_ = false;
  // otelcol_exporter_sent_* / send_failed_* / enqueue_failed_* in the process's registry, and
  // their values when this instance was built (its shutdown log reports its own share).
  std::array<Counter*, 3> sent_{}, refused_{};
  MetricsRegistry unshown_;  // counters of signals no pipeline sends here
  std::array<std::uint64_t, 3> sent_baseline_{}, refused_baseline_{};
  // send_failed_*: a series per error.type and error.permanent, made at the first such failure.
  std::array<MetricLabels, 3> failed_labels_;
  std::array<std::atomic<std::uint64_t>, 3> failed_{};  // by this instance
  std::vector<MetricsRegistry::Observation> gauges_;  // queue size and capacity
  std::unique_ptr<storage::DurableQueue> durable_;     // with `storage`
  std::mutex pause_mutex_;
  std::condition_variable pause_;  // a durable worker's pause after its retries ran out
  std::atomic<bool> stopping_{false};  // shutdown has begun: durable workers end
};

}  // namespace otlpd
