#pragma once

#include <algorithm>
#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/arena.h>
#include <google/protobuf/message.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/memory_account.h"
#include "otlp/signal.h"

namespace otlpd {

namespace otlp {
using TracesRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using MetricsRequest = opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest;
using LogsRequest = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
}  // namespace otlp

// Protobuf bytes of a request as received, kept alive by `owner` (e.g. a gRPC slice), so
// that they need not be copied.
struct WireBytes {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::shared_ptr<const void> owner;
};

// One Export*ServiceRequest. It is checked when received and decoded at most once, into its
// own arena, the first time a stage asks for the message (exporters that forward bytes or
// drop data never pay for decoding). It is immutable afterwards: any number of threads may
// read it concurrently, and fan-out shares it by reference count instead of copying spans.
class Request {
 public:
  // A request received as protobuf bytes: validated by a scan of the wire format (no
  // allocation, see wire_scan.h) and decoded lazily. Invalid input is decoded right away to
  // explain it: returns nullptr and sets *error (field path and offset where known).
  // Its memory is charged to `account` while it lives, if one is given.
  static std::shared_ptr<const Request> receive(Signal signal, WireBytes bytes, std::string* error,
                                                std::shared_ptr<MemoryAccount> account = nullptr);

  // Decodes `size` bytes of protobuf. On failure returns nullptr and sets *error to a
  // message that names what was wrong (the field path and byte offset where known).
  static std::shared_ptr<const Request> decode(Signal signal, const void* data, std::size_t size,
                                               std::string* error, std::shared_ptr<MemoryAccount> account = nullptr);

  // Takes ownership of an already-built message (tests, JSON decoding).
  static std::shared_ptr<const Request> adopt(Signal signal,
                                              std::unique_ptr<google::protobuf::Message> message);

  Signal signal() const { return signal_; }
  // The decoded message; decodes it on first use (thread-safe).
  const google::protobuf::Message& message() const;
  // The protobuf bytes it was received as; empty for requests built in memory.
  std::string_view wire() const {
    return {reinterpret_cast<const char*>(wire_.data), wire_.size};
  }
  const otlp::TracesRequest& traces() const;
  const otlp::MetricsRequest& metrics() const;
  const otlp::LogsRequest& logs() const;

  // Whether the fields of every message in wire() come in ascending order of their numbers
  // (WireScan::fields_in_order), so that a reader may stop once past the fields it needs.
  bool fields_in_order() const { return fields_in_order_; }

  // Spans, data points or log records in this request.
  std::size_t item_count() const { return item_count_; }
  // Size of the protobuf encoding this request was decoded from (or would encode to).
  std::size_t wire_size() const { return wire_size_; }

  // What this request holds (its wire bytes, and its decoded form once decoded), as charged
  // to its memory account.
  std::size_t memory_bytes() const { return static_cast<std::size_t>(std::max<std::int64_t>(tracked_bytes_.load(), 0)); }

  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request();

 private:
  Request(Signal signal, std::size_t wire_size);
  // decode() without counting the wire bytes (receive() keeps them, and counts them once).
  static std::shared_ptr<Request> decode_owned(Signal signal, const void* data, std::size_t size, std::string* error,
                                               std::shared_ptr<MemoryAccount> account);
  // Parses wire_ into the arena; false if protobuf rejects it.
  bool parse() const;
  void track(std::int64_t bytes) const;

  Signal signal_;
  std::size_t wire_size_;
  std::size_t item_count_ = 0;
  bool fields_in_order_ = false;
  WireBytes wire_;
  mutable std::once_flag decoded_;
  mutable std::atomic<std::int64_t> tracked_bytes_{0};  // charged to account_ until destruction
  std::shared_ptr<MemoryAccount> account_;               // nullptr: not charged
  mutable google::protobuf::Arena arena_;
  mutable google::protobuf::Message* message_ = nullptr;  // arena-owned unless owned_ is set
  std::unique_ptr<google::protobuf::Message> owned_;
};

using RequestPtr = std::shared_ptr<const Request>;

// An empty Export*ServiceRequest of a signal: in `arena`, or on the heap (the caller owns it).
google::protobuf::Message* new_request_message(Signal signal, google::protobuf::Arena* arena);
inline std::unique_ptr<google::protobuf::Message> new_request_message(Signal signal) {
  return std::unique_ptr<google::protobuf::Message>(new_request_message(signal, nullptr));
}

// Data points of one metric, whatever its type.
std::size_t data_point_count(const opentelemetry::proto::metrics::v1::Metric& metric);

// Counts spans / data points / log records of a request message.
std::size_t count_items(Signal signal, const google::protobuf::Message& message);

// A unit of work handed between pipeline stages: one or more requests of the same signal.
// Copying a Batch copies reference-counted pointers, never telemetry.
struct Batch {
  Signal signal = Signal::traces;
  std::vector<RequestPtr> requests;

  std::size_t item_count() const;
  std::size_t wire_size() const;

  static Batch of(RequestPtr request);
};

}  // namespace otlpd
