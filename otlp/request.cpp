#include "otlp/request.h"

#include "otlp/wire_scan.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/common.h>

#include <atomic>
#include <limits>
#include <numeric>

namespace otlpd {

namespace pb = google::protobuf;

pb::Message* new_request_message(Signal signal, pb::Arena* arena) {
  switch (signal) {
    case Signal::traces: return pb::Arena::CreateMessage<otlp::TracesRequest>(arena);
    case Signal::metrics: return pb::Arena::CreateMessage<otlp::MetricsRequest>(arena);
    case Signal::logs: return pb::Arena::CreateMessage<otlp::LogsRequest>(arena);
  }
  return nullptr;
}

Request::Request(Signal signal, std::size_t wire_size) : signal_(signal), wire_size_(wire_size) {}

Request::~Request() {
  if (account_) account_->add(-tracked_bytes_.load());
}

void Request::track(std::int64_t bytes) const {
  tracked_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  if (account_) account_->add(bytes);
}

bool Request::parse() const {
  message_ = new_request_message(signal_, &arena_);
  const bool ok = message_->ParseFromArray(wire_.data, static_cast<int>(wire_.size));
  // The arena holds the messages; long string and bytes contents live on the heap (protobuf
  // 3.21), bounded by the wire size, which is already counted.
  track(static_cast<std::int64_t>(arena_.SpaceAllocated()));
  return ok;
}

const pb::Message& Request::message() const {
  std::call_once(decoded_, [this] {
    if (message_) return;  // decoded eagerly, or built in memory
    if (!parse()) {
      // Cannot happen for scanned input (the scan is at least as strict as protobuf); if it
      // ever did, the stages see an empty request rather than a half-parsed one.
      message_->Clear();
    }
  });
  return *message_;
}

std::shared_ptr<const Request> Request::receive(Signal signal, WireBytes bytes, std::string* error,
                                                std::shared_ptr<MemoryAccount> account) {
  const WireScan scan = scan_request(signal, bytes.data, bytes.size);
  if (scan.verdict == WireScan::Verdict::invalid) {
    *error = explain_request(signal, bytes.data, bytes.size).error;  // the same walk, slowly
    return nullptr;
  }
  std::shared_ptr<Request> request;
  if (scan.verdict == WireScan::Verdict::valid) {
    request.reset(new Request(signal, bytes.size));
    request->account_ = std::move(account);
    request->item_count_ = scan.items;
    request->fields_in_order_ = scan.fields_in_order;
  } else {  // unsure (protobuf groups): protobuf decides
    request = decode_owned(signal, bytes.data, bytes.size, error, std::move(account));
    if (!request) return nullptr;
  }
  request->wire_ = std::move(bytes);
  request->track(static_cast<std::int64_t>(request->wire_.size));
  return request;
}

std::shared_ptr<const Request> Request::decode(Signal signal, const void* data, std::size_t size,
                                               std::string* error, std::shared_ptr<MemoryAccount> account) {
  auto request = decode_owned(signal, data, size, error, std::move(account));
  if (request) request->track(static_cast<std::int64_t>(size));
  return request;
}

std::shared_ptr<Request> Request::decode_owned(Signal signal, const void* data, std::size_t size,
                                               std::string* error, std::shared_ptr<MemoryAccount> account) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    *error = fmt::format("request of {} bytes is larger than protobuf can decode", size);
    return nullptr;
  }
  std::shared_ptr<Request> request(new Request(signal, size));
  request->account_ = std::move(account);
  request->wire_ = WireBytes{bytes, size, nullptr};
  const bool parsed = request->parse();
  request->wire_ = WireBytes{};  // the caller's buffer is not ours to keep
  // The walk checks what protobuf cannot (id lengths), quickly, and counts the items on the
  // way (cheaper than counting them in the decoded message); slowly, it says what is wrong.
  const WireScan scan = parsed ? scan_request(signal, bytes, size) : WireScan{};
  if (scan.verdict == WireScan::Verdict::valid) {
    request->item_count_ = scan.items;
    return request;
  }
  const WireScan explained = explain_request(signal, bytes, size);
  if (!parsed || explained.verdict == WireScan::Verdict::invalid) {
    *error = !explained.error.empty() ? explained.error
                                      : fmt::format("malformed {}: not a valid protobuf encoding",
                                                    request->message_->GetDescriptor()->name());
    return nullptr;
  }
  request->item_count_ = count_items(signal, *request->message_);  // groups in it: protobuf decided
  return request;
}

std::shared_ptr<const Request> Request::adopt(Signal signal,
                                              std::unique_ptr<pb::Message> message) {
  std::shared_ptr<Request> request(new Request(signal, message->ByteSizeLong()));
  request->message_ = message.get();
  request->owned_ = std::move(message);
  request->item_count_ = count_items(signal, *request->message_);
  return request;
}

const otlp::TracesRequest& Request::traces() const {
  return static_cast<const otlp::TracesRequest&>(message());
}
const otlp::MetricsRequest& Request::metrics() const {
  return static_cast<const otlp::MetricsRequest&>(message());
}
const otlp::LogsRequest& Request::logs() const {
  return static_cast<const otlp::LogsRequest&>(message());
}

std::size_t data_point_count(const opentelemetry::proto::metrics::v1::Metric& m) {
  using Metric = opentelemetry::proto::metrics::v1::Metric;
  switch (m.data_case()) {
    case Metric::kGauge: return static_cast<std::size_t>(m.gauge().data_points_size());
    case Metric::kSum: return static_cast<std::size_t>(m.sum().data_points_size());
    case Metric::kHistogram: return static_cast<std::size_t>(m.histogram().data_points_size());
    case Metric::kExponentialHistogram:
      return static_cast<std::size_t>(m.exponential_histogram().data_points_size());
    case Metric::kSummary: return static_cast<std::size_t>(m.summary().data_points_size());
    case Metric::DATA_NOT_SET: return 0;
  }
  return 0;
}

std::size_t count_items(Signal signal, const pb::Message& message) {
  std::size_t n = 0;
  switch (signal) {
    case Signal::traces:
      for (const auto& rs : static_cast<const otlp::TracesRequest&>(message).resource_spans())
        for (const auto& ss : rs.scope_spans()) n += static_cast<std::size_t>(ss.spans_size());
      break;
    case Signal::logs:
      for (const auto& rl : static_cast<const otlp::LogsRequest&>(message).resource_logs())
        for (const auto& sl : rl.scope_logs()) n += static_cast<std::size_t>(sl.log_records_size());
      break;
    case Signal::metrics:
      for (const auto& rm : static_cast<const otlp::MetricsRequest&>(message).resource_metrics())
        for (const auto& sm : rm.scope_metrics())
          for (const auto& m : sm.metrics()) n += data_point_count(m);
      break;
  }
  return n;
}

std::size_t Batch::item_count() const {
  return std::accumulate(requests.begin(), requests.end(), std::size_t{0},
                         [](std::size_t n, const RequestPtr& r) { return n + r->item_count(); });
}

std::size_t Batch::wire_size() const {
  return std::accumulate(requests.begin(), requests.end(), std::size_t{0},
                         [](std::size_t n, const RequestPtr& r) { return n + r->wire_size(); });
}

Batch Batch::of(RequestPtr request) {
  Batch batch;
  batch.signal = request->signal();
  batch.requests.push_back(std::move(request));
  return batch;
}

}  // namespace otlpd
