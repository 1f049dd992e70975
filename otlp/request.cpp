#include "otlp/request.h"

#include "otlp/wire_scan.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

#include <atomic>
#include <limits>
#include <numeric>

namespace otlpd {
namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;

pb::Message* new_request_message(Signal signal, pb::Arena* arena) {
  switch (signal) {
    case Signal::traces: return pb::Arena::CreateMessage<otlp::TracesRequest>(arena);
    case Signal::metrics: return pb::Arena::CreateMessage<otlp::MetricsRequest>(arena);
    case Signal::logs: return pb::Arena::CreateMessage<otlp::LogsRequest>(arena);
  }
  return nullptr;
}

constexpr int kMaxDepth = 100;

// Walks the protobuf wire format of a message that failed to parse, guided by its
// descriptor, to say where and why it is malformed. Only used on the error path.
class WireDiagnosis {
 public:
  WireDiagnosis(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::string diagnose(const pb::Descriptor* descriptor) {
    pb::io::CodedInputStream in(data_, static_cast<int>(size_));
    in.SetRecursionLimit(kMaxDepth + 1);
    std::string path;
    if (walk(in, descriptor, path, 0)) return {};
    return error_;
  }

 private:
  bool fail(std::string_view path, int offset, std::string what) {
    error_ = path.empty() ? fmt::format("{} at byte offset {}", what, offset)
                          : fmt::format("field {}: {} at byte offset {}", path, what, offset);
    return false;
  }

  bool walk(pb::io::CodedInputStream& in, const pb::Descriptor* descriptor, std::string& path,
            int depth) {
    if (depth > kMaxDepth) return fail(path, in.CurrentPosition(), "message nested too deeply");
    std::vector<int> repeat_index(descriptor ? descriptor->field_count() : 0, 0);
    for (;;) {
      const int tag_offset = in.CurrentPosition();
      const std::uint32_t tag = in.ReadTag();
      if (tag == 0) {
        if (in.BytesUntilLimit() == 0 || in.ExpectAtEnd()) return true;
        return fail(path, tag_offset, "invalid tag (field number 0)");
      }
      const int number = static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
      const auto wire_type = WireFormatLite::GetTagWireType(tag);
      const pb::FieldDescriptor* field =
          descriptor ? descriptor->FindFieldByNumber(number) : nullptr;

      const std::size_t saved = path.size();
      if (!path.empty()) path += '.';
      if (field) {
        path += field->name();
        if (field->is_repeated()) path += fmt::format("[{}]", repeat_index[field->index()]++);
      } else {
        path += fmt::format("#{}", number);
      }

      const int offset = in.CurrentPosition();
      bool ok = true;
      switch (wire_type) {
        case WireFormatLite::WIRETYPE_VARINT: {
          std::uint64_t v;
          if (!in.ReadVarint64(&v)) ok = fail(path, offset, "truncated or overlong varint");
          break;
        }
        case WireFormatLite::WIRETYPE_FIXED64: {
          std::uint64_t v;
          if (!in.ReadLittleEndian64(&v)) ok = fail(path, offset, "truncated 8-byte value");
          break;
        }
        case WireFormatLite::WIRETYPE_FIXED32: {
          std::uint32_t v;
          if (!in.ReadLittleEndian32(&v)) ok = fail(path, offset, "truncated 4-byte value");
          break;
        }
        case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
          std::uint32_t length;
          if (!in.ReadVarint32(&length)) {
            ok = fail(path, offset, "truncated length");
            break;
          }
          const int left = in.BytesUntilLimit();
          if (left >= 0 && length > static_cast<std::uint32_t>(left)) {
            ok = fail(path, offset,
                      fmt::format("length {} exceeds the {} bytes left (truncated request?)",
                                  length, left));
            break;
          }
          if (field && field->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
            auto limit = in.PushLimit(static_cast<int>(length));
            ok = walk(in, field->message_type(), path, depth + 1);
            in.PopLimit(limit);
          } else if (field && field->type() == pb::FieldDescriptor::TYPE_STRING) {
            const int start = in.CurrentPosition();
            const char* text = reinterpret_cast<const char*>(data_) + start;
            if (!pb::internal::IsStructurallyValidUTF8(text, static_cast<int>(length))) {
              ok = fail(path, start, "string is not valid UTF-8");
            } else {
              in.Skip(static_cast<int>(length));
            }
          } else {
            in.Skip(static_cast<int>(length));
          }
          break;
        }
        default:
          ok = fail(path, tag_offset, fmt::format("invalid wire type {}", static_cast<int>(wire_type)));
      }
      if (!ok) return false;
      path.resize(saved);
    }
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::string error_;
};

template <typename Fn>
void for_each_id(Signal signal, const pb::Message& message, Fn&& check) {
  switch (signal) {
    case Signal::traces: {
      const auto& req = static_cast<const otlp::TracesRequest&>(message);
      for (int r = 0; r < req.resource_spans_size(); ++r) {
        const auto& rs = req.resource_spans(r);
        for (int s = 0; s < rs.scope_spans_size(); ++s) {
          const auto& ss = rs.scope_spans(s);
          for (int i = 0; i < ss.spans_size(); ++i) {
            const auto& span = ss.spans(i);
            auto where = [&](std::string_view field) {
              return fmt::format("resource_spans[{}].scope_spans[{}].spans[{}].{}", r, s, i, field);
            };
            if (!check(span.trace_id(), 16, where, "trace_id")) return;
            if (!check(span.span_id(), 8, where, "span_id")) return;
            if (!check(span.parent_span_id(), 8, where, "parent_span_id")) return;
            for (int l = 0; l < span.links_size(); ++l) {
              const std::string link = fmt::format("links[{}].", l);
              if (!check(span.links(l).trace_id(), 16, where, link + "trace_id")) return;
              if (!check(span.links(l).span_id(), 8, where, link + "span_id")) return;
            }
          }
        }
      }
      break;
    }
    case Signal::logs: {
      const auto& req = static_cast<const otlp::LogsRequest&>(message);
      for (int r = 0; r < req.resource_logs_size(); ++r) {
        const auto& rl = req.resource_logs(r);
        for (int s = 0; s < rl.scope_logs_size(); ++s) {
          const auto& sl = rl.scope_logs(s);
          for (int i = 0; i < sl.log_records_size(); ++i) {
            const auto& record = sl.log_records(i);
            auto where = [&](std::string_view field) {
              return fmt::format("resource_logs[{}].scope_logs[{}].log_records[{}].{}", r, s, i,
                                 field);
            };
            if (!check(record.trace_id(), 16, where, "trace_id")) return;
            if (!check(record.span_id(), 8, where, "span_id")) return;
          }
        }
      }
      break;
    }
    case Signal::metrics:
      break;  // exemplar ids are optional and otelcol does not reject them either
  }
}

}  // namespace

Request::Request(Signal signal, std::size_t wire_size) : signal_(signal), wire_size_(wire_size) {}

namespace {
std::atomic<std::int64_t> g_live_request_bytes{0};
}  // namespace

Request::~Request() { g_live_request_bytes.fetch_sub(tracked_bytes_.load(), std::memory_order_relaxed); }

std::int64_t Request::live_bytes() { return g_live_request_bytes.load(std::memory_order_relaxed); }

void Request::track(std::int64_t bytes) const {
  tracked_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  g_live_request_bytes.fetch_add(bytes, std::memory_order_relaxed);
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

std::shared_ptr<const Request> Request::receive(Signal signal, WireBytes bytes, std::string* error) {
  const WireScan scan = scan_request(signal, bytes.data, bytes.size);
  if (scan.verdict == WireScan::Verdict::valid) {
    std::shared_ptr<Request> request(new Request(signal, bytes.size));
    request->item_count_ = scan.items;
    request->wire_ = std::move(bytes);
    request->track(static_cast<std::int64_t>(request->wire_.size));
    return request;
  }
  // Invalid (or unusual) input: a full decode says what is wrong, or accepts it after all.
  auto request = decode(signal, bytes.data, bytes.size, error);
  if (request) std::const_pointer_cast<Request>(request)->wire_ = std::move(bytes);
  return request;
}

std::shared_ptr<const Request> Request::decode(Signal signal, const void* data, std::size_t size,
                                               std::string* error) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    *error = fmt::format("request of {} bytes is larger than protobuf can decode", size);
    return nullptr;
  }
  std::shared_ptr<Request> request(new Request(signal, size));
  request->wire_ = WireBytes{static_cast<const std::uint8_t*>(data), size, nullptr};
  request->track(static_cast<std::int64_t>(size));
  if (!request->parse()) {
    std::string why = WireDiagnosis(static_cast<const std::uint8_t*>(data), size)
                          .diagnose(request->message_->GetDescriptor());
    *error = fmt::format("malformed {}: {}", request->message_->GetDescriptor()->name(),
                         why.empty() ? "not a valid protobuf encoding" : why);
    return nullptr;
  }
  request->wire_ = WireBytes{};  // the caller's buffer is not ours to keep
  if (std::string invalid = validate_ids(signal, *request->message_); !invalid.empty()) {
    *error = std::move(invalid);
    return nullptr;
  }
  request->item_count_ = count_items(signal, *request->message_);
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

std::string validate_ids(Signal signal, const pb::Message& message) {
  std::string error;
  for_each_id(signal, message,
              [&](const std::string& id, std::size_t expected, auto&& where, std::string_view name) {
                if (id.empty() || id.size() == expected) return true;
                error = fmt::format("field {}: must be {} bytes or empty, got {}", where(name),
                                    expected, id.size());
                return false;
              });
  return error;
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
