#include "translator/jaeger/jaeger_mapping.h"

#include <fmt/format.h>

#include "json/json_writer.h"
#include "otlp/json_encoder.h"
#include "otlp/span_kind.h"

namespace otlpd::jaeger {
namespace {

namespace jt = jaegertracing::thrift;
namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;

jt::Tag string_tag(std::string key, std::string value) {
  jt::Tag t;
  t.key = std::move(key);
  t.vType = jt::TagType::STRING;
  t.__set_vStr(std::move(value));
  return t;
}

jt::Tag bool_tag(std::string key, bool value) {
  jt::Tag t;
  t.key = std::move(key);
  t.vType = jt::TagType::BOOL;
  t.__set_vBool(value);
  return t;
}

void write_json(JsonWriter& w, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: w.string(v.string_value()); break;
    case common::AnyValue::kBoolValue: w.boolean(v.bool_value()); break;
    case common::AnyValue::kIntValue: w.number(static_cast<std::int64_t>(v.int_value())); break;
    case common::AnyValue::kDoubleValue: w.number(v.double_value()); break;
    case common::AnyValue::kBytesValue: {
      std::string b64;
      append_base64(b64, v.bytes_value());
      w.string(b64);
      break;
    }
    case common::AnyValue::kArrayValue:
      w.begin_array();
      for (const auto& x : v.array_value().values()) write_json(w, x);
      w.end_array();
      break;
    case common::AnyValue::kKvlistValue:
      w.begin_object();
      for (const auto& kv : v.kvlist_value().values()) {
        w.key(kv.key());
        write_json(w, kv.value());
      }
      w.end_object();
      break;
    default: w.null();
  }
}

jt::Tag to_tag(const common::KeyValue& kv) {
  jt::Tag t;
  t.key = kv.key();
  const auto& v = kv.value();
  switch (v.value_case()) {
    case common::AnyValue::kBoolValue: t.vType = jt::TagType::BOOL; t.__set_vBool(v.bool_value()); break;
    case common::AnyValue::kIntValue: t.vType = jt::TagType::LONG; t.__set_vLong(v.int_value()); break;
    case common::AnyValue::kDoubleValue: t.vType = jt::TagType::DOUBLE; t.__set_vDouble(v.double_value()); break;
    case common::AnyValue::kBytesValue: t.vType = jt::TagType::BINARY; t.__set_vBinary(v.bytes_value()); break;
    case common::AnyValue::kStringValue: t.vType = jt::TagType::STRING; t.__set_vStr(v.string_value()); break;
    default: {  // arrays and maps as JSON strings
      std::string json;
      JsonWriter w(json);
      write_json(w, v);
      t.vType = jt::TagType::STRING;
      t.__set_vStr(json);
    }
  }
  return t;
}

jt::SpanRef reference(jt::SpanRefType::type type, const std::string& trace_id, const std::string& span_id) {
  jt::SpanRef r;
  r.refType = type;
  r.traceIdHigh = big_endian_i64(std::string_view(trace_id).substr(0, 8));
  r.traceIdLow = big_endian_i64(std::string_view(trace_id).substr(8, 8));
  r.spanId = big_endian_i64(span_id);
  return r;
}

}  // namespace

jt::Span to_span(const trace::Span& s, const common::InstrumentationScope& scope) {
  jt::Span j;
  const std::string_view trace_id = s.trace_id();
  j.traceIdHigh = trace_id.size() == 16 ? big_endian_i64(trace_id.substr(0, 8)) : 0;
  j.traceIdLow = trace_id.size() == 16 ? big_endian_i64(trace_id.substr(8, 8)) : 0;
  j.spanId = big_endian_i64(s.span_id());
  j.parentSpanId = s.parent_span_id().empty() ? 0 : big_endian_i64(s.parent_span_id());
  j.operationName = s.name();
  j.flags = static_cast<std::int32_t>(s.flags() & 0xff);
  j.startTime = static_cast<std::int64_t>(s.start_time_unix_nano() / 1000);
  j.duration = static_cast<std::int64_t>(
      (s.end_time_unix_nano() > s.start_time_unix_nano() ? s.end_time_unix_nano() - s.start_time_unix_nano() : 0) / 1000);

  std::vector<jt::SpanRef> refs;
  if (!s.parent_span_id().empty() && trace_id.size() == 16) {
    refs.push_back(reference(jt::SpanRefType::CHILD_OF, s.trace_id(), s.parent_span_id()));
  }
  for (const auto& link : s.links()) {
    if (link.trace_id().size() == 16 && link.span_id().size() == 8) {
      refs.push_back(reference(jt::SpanRefType::FOLLOWS_FROM, link.trace_id(), link.span_id()));
    }
  }
  if (!refs.empty()) j.__set_references(refs);

  std::vector<jt::Tag> tags;
  for (const auto& kv : s.attributes()) tags.push_back(to_tag(kv));
  if (const std::string_view kind = span_kind_names(s.kind()).lower; !kind.empty()) {
    tags.push_back(string_tag("span.kind", std::string(kind)));
  }
  if (s.status().code() == trace::Status::STATUS_CODE_ERROR) {
    tags.push_back(string_tag("otel.status_code", "ERROR"));
    tags.push_back(bool_tag("error", true));
  } else if (s.status().code() == trace::Status::STATUS_CODE_OK) {
    tags.push_back(string_tag("otel.status_code", "OK"));
  }
  if (!s.status().message().empty()) tags.push_back(string_tag("otel.status_description", s.status().message()));
  if (!scope.name().empty()) tags.push_back(string_tag("otel.scope.name", scope.name()));
  if (!scope.version().empty()) tags.push_back(string_tag("otel.scope.version", scope.version()));
  if (!s.trace_state().empty()) tags.push_back(string_tag("w3c.tracestate", s.trace_state()));
  if (!tags.empty()) j.__set_tags(tags);

  std::vector<jt::Log> logs;
  for (const auto& event : s.events()) {
    jt::Log log;
    log.timestamp = static_cast<std::int64_t>(event.time_unix_nano() / 1000);
    log.fields.push_back(string_tag("event", event.name()));
    for (const auto& kv : event.attributes()) log.fields.push_back(to_tag(kv));
    logs.push_back(std::move(log));
  }
  if (!logs.empty()) j.__set_logs(logs);
  return j;
}

jt::Process to_process(const opentelemetry::proto::resource::v1::Resource& resource) {
  jt::Process process;
  process.serviceName = "unknown_service";
  std::vector<jt::Tag> tags;
  for (const auto& kv : resource.attributes()) {
    if (kv.key() == "service.name" && kv.value().has_string_value()) {
      process.serviceName = kv.value().string_value();
    } else {
      tags.push_back(to_tag(kv));
    }
  }
  if (!tags.empty()) process.__set_tags(tags);
  return process;
}

std::vector<jt::Batch> to_batches(const otlp::TracesRequest& request) {
  std::vector<jt::Batch> batches;
  for (const auto& rs : request.resource_spans()) {
    jt::Batch b;
    b.process = to_process(rs.resource());
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) b.spans.push_back(to_span(span, ss.scope()));
    }
    if (!b.spans.empty()) batches.push_back(std::move(b));
  }
  return batches;
}

}  // namespace otlpd::jaeger
