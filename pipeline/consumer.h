#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>
#include <string>
#include <utility>

#include "otlp/request.h"

namespace otlpd {

class PendingResult;

// The one result of the data path: what handing a batch to a stage came to (Consumer), what a
// receiver answers for one request (ingest), and what one export attempt came to (the retrier).
// Errors travel as values of this type; nothing on the data path throws or answers with a bool.
struct ConsumeResult {
  enum class Code {
    ok,
    // The stage is full right now (bounded queue, memory limit), or the destination is down;
    // the sender should retry later. Receivers turn this into gRPC UNAVAILABLE / HTTP 503.
    retryable,
    // The data will never be accepted (e.g. an exporter that cannot encode it).
    permanent,
    // The request is larger than a budget it must fit in (a sending queue's bytes, the memory
    // limit): it can never be accepted, however long the client waits. gRPC
    // RESOURCE_EXHAUSTED without RetryInfo, HTTP 413.
    too_large,
    // The request is not valid OTLP (a receiver's verdict on its bytes): gRPC
    // INVALID_ARGUMENT, HTTP 400.
    invalid,
  };
  Code code = Code::ok;
  std::string message;
  // For an exporter's failure, its kind as OpenTelemetry's error.type ("Unavailable" for a gRPC
  // status, "503" for an HTTP one, "connection"; empty when unknown) and whether the destination
  // called it permanent (a retryable error that ran out of retries is not).
  std::string error_type;
  bool error_permanent = false;
  // For a retryable export attempt: the delay the destination asked for (gRPC RetryInfo, HTTP
  // Retry-After), if it did.
  std::optional<std::chrono::milliseconds> retry_after;
  // Set on an ok result that is not final yet: a persistent sending queue has written the data
  // and waits for the disk to confirm it (fdatasync). The receiver answers the client when this
  // completes, with the final result; meanwhile it goes on with other requests, so that the
  // requests of many clients share one fdatasync.
  std::shared_ptr<PendingResult> pending;

  static ConsumeResult ok() { return {}; }
  static ConsumeResult retryable(std::string why, std::optional<std::chrono::milliseconds> after = {}) {
    ConsumeResult r{Code::retryable, std::move(why)};
    r.retry_after = after;
    return r;
  }
  static ConsumeResult permanent(std::string why) { return {Code::permanent, std::move(why)}; }
  static ConsumeResult too_large(std::string why) { return {Code::too_large, std::move(why)}; }
  static ConsumeResult invalid(std::string why) { return {Code::invalid, std::move(why)}; }
  bool is_ok() const { return code == Code::ok; }
  // The same result, with its error.type set.
  ConsumeResult typed(std::string type) && {
    error_type = std::move(type);
    return std::move(*this);
  }
};

// A result that completes later (ConsumeResult::pending). Thread-safe; completes once.
class PendingResult {
 public:
  // The first call decides; callbacks registered so far run on this thread.
  void complete(ConsumeResult result);
  // Runs `done` with the final result: at once (on this thread) if it is known, else on the
  // thread that completes it. At most one callback per PendingResult.
  void then(std::function<void(ConsumeResult)> done);
  // Blocks until the result is known.
  ConsumeResult wait();
  // Completes when every one of `parts` has, with the first failure among them, or ok.
  static std::shared_ptr<PendingResult> all(std::vector<std::shared_ptr<PendingResult>> parts);

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  ConsumeResult result_;
  std::function<void(ConsumeResult)> callback_;
};

// The single interface between pipeline stages (receivers hand to processors, processors
// to exporters, fan-out to several). The callee owns the batch after the call, whatever it
// returns. Implementations are thread-safe: receivers call consume() from many threads.
class Consumer {
 public:
  virtual ~Consumer() = default;
  virtual ConsumeResult consume(Batch&& batch) noexcept = 0;

  // Asked by a receiver before it decodes a request of `wire_bytes` bytes, so that a stage
  // that is full or over its memory budget refuses before anything is allocated for the
  // request. A stage that has nothing to check passes the question on. Thread-safe.
  virtual ConsumeResult admit(Signal signal, std::size_t wire_bytes) noexcept {
    (void)signal;
    (void)wire_bytes;
    return ConsumeResult::ok();
  }

  // Why a request of `wire_bytes` bytes could never be admitted, however empty the pipeline
  // (a budget smaller than the request); empty if it could. Has no effect (nothing counted):
  // receivers ask it at start, to warn of a size limit larger than the pipeline takes.
  virtual std::string never_fits(Signal signal, std::size_t wire_bytes) const noexcept {
    (void)signal;
    (void)wire_bytes;
    return {};
  }
};

}  // namespace otlpd
