#include "loadgen/requests.h"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <utility>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace otlpd::loadgen {
namespace {

void random_bytes(std::mt19937_64& rng, std::string& bytes) {
  for (auto& c : bytes) c = static_cast<char>(rng());
}

// attr.0 .. attr.N-1: every third an int, the others short strings.
template <typename Record>
void add_attributes(std::mt19937_64& rng, int count, Record* record) {
  for (int a = 0; a < count; ++a) {
    auto* attr = record->add_attributes();
    attr->set_key(fmt::format("attr.{}", a));
    if (a % 3 == 1) attr->mutable_value()->set_int_value(static_cast<std::int64_t>(rng() % 100000));
    else attr->mutable_value()->set_string_value(fmt::format("value-{}", rng() % 1000));
  }
}

}  // namespace

std::string trace_request(std::mt19937_64& rng, const RequestShape& shape) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("loadgen");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("otlpd-loadgen");
  std::string trace_id(16, '\0');
  for (int i = 0; i < shape.records; ++i) {
    if (i % 10 == 0) random_bytes(rng, trace_id);
    auto* span = ss->add_spans();
    std::string span_id(8, '\0');
    random_bytes(rng, span_id);
    span->set_trace_id(trace_id);
    span->set_span_id(span_id);
    span->set_name("GET /api/tasks");
    span->set_kind(opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
    const auto start = 1'700'000'000'000'000'000ULL + rng() % 1'000'000'000ULL;
    span->set_start_time_unix_nano(start);
    span->set_end_time_unix_nano(start + 1'000'000);
    add_attributes(rng, shape.attributes, span);
    if (shape.record_bytes > 0) {
      // The span's length prefix in ScopeSpans takes 2 bytes at these sizes, the pad
      // attribute's own framing (key "pad", value) about 12.
      const int missing = shape.record_bytes - static_cast<int>(span->ByteSizeLong()) - 2 - 12;
      if (missing > 0) {
        auto* pad = span->add_attributes();
        pad->set_key("pad");
        pad->mutable_value()->set_string_value(std::string(static_cast<std::size_t>(missing), 'p'));
      }
    }
  }
  return req.SerializeAsString();
}

std::string log_request(std::mt19937_64& rng, const RequestShape& shape) {
  using opentelemetry::proto::logs::v1::SeverityNumber;
  static constexpr std::pair<SeverityNumber, const char*> kSeverities[] = {
      {SeverityNumber::SEVERITY_NUMBER_INFO, "INFO"},
      {SeverityNumber::SEVERITY_NUMBER_INFO, "INFO"},
      {SeverityNumber::SEVERITY_NUMBER_DEBUG, "DEBUG"},
      {SeverityNumber::SEVERITY_NUMBER_WARN, "WARN"},
      {SeverityNumber::SEVERITY_NUMBER_ERROR, "ERROR"},
  };
  opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  auto* kv = rl->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("loadgen");
  auto* sl = rl->add_scope_logs();
  sl->mutable_scope()->set_name("otlpd-loadgen");
  std::string trace_id(16, '\0');
  for (int i = 0; i < shape.records; ++i) {
    if (i % 10 == 0) random_bytes(rng, trace_id);
    auto* record = sl->add_log_records();
    std::string span_id(8, '\0');
    random_bytes(rng, span_id);
    record->set_trace_id(trace_id);
    record->set_span_id(span_id);
    record->set_flags(1);  // sampled
    const auto time = 1'700'000'000'000'000'000ULL + rng() % 1'000'000'000ULL;
    record->set_time_unix_nano(time);
    record->set_observed_time_unix_nano(time + 1'000'000);
    const auto& [number, text] = kSeverities[rng() % std::size(kSeverities)];
    record->set_severity_number(number);
    record->set_severity_text(text);
    std::string body = fmt::format("GET /api/tasks/{} answered 200 in {} ms", rng() % 100000, rng() % 1000);
    record->mutable_body()->set_string_value(body);
    add_attributes(rng, shape.attributes, record);
    if (shape.record_bytes > 0) {
      // The record's length prefix in ScopeLogs takes 2 bytes at these sizes.
      const int missing = shape.record_bytes - static_cast<int>(record->ByteSizeLong()) - 2;
      if (missing > 0) {
        body += ' ';
        body.append(static_cast<std::size_t>(missing - 1), 'p');
        record->mutable_body()->set_string_value(body);
      }
    }
  }
  return req.SerializeAsString();
}

}  // namespace otlpd::loadgen
