#pragma once

#include <string>
#include <utility>

#include "otlp/request.h"

namespace otlpd {

// Result of handing a batch to the next stage.
struct ConsumeResult {
  enum class Code {
    ok,
    // The stage is full right now (bounded queue, memory limit); the sender should retry
    // later. Receivers turn this into gRPC UNAVAILABLE / HTTP 503.
    retryable,
    // The data will never be accepted (e.g. an exporter that cannot encode it).
    permanent,
    // The request is larger than a budget it must fit in (a sending queue's bytes, the memory
    // limit): it can never be accepted, however long the client waits. gRPC
    // RESOURCE_EXHAUSTED without RetryInfo, HTTP 413.
    too_large,
  };
  Code code = Code::ok;
  std::string message;
  // For an exporter's failure, its kind as OpenTelemetry's error.type ("Unavailable" for a gRPC
  // status, "503" for an HTTP one; empty when unknown) and whether the destination called it
  // permanent (a retryable error that ran out of retries is not).
  std::string error_type;
  bool error_permanent = false;

  static ConsumeResult ok() { return {}; }
  static ConsumeResult retryable(std::string why) { return {Code::retryable, std::move(why)}; }
  static ConsumeResult permanent(std::string why) { return {Code::permanent, std::move(why)}; }
  static ConsumeResult too_large(std::string why) { return {Code::too_large, std::move(why)}; }
  bool is_ok() const { return code == Code::ok; }
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
