#include "exporters/console/pretty_json.h"

#include "json/json_writer.h"
#include "otlp/json_encoder.h"
#include "otlp/span_kind.h"
#include "exporters/common/time_format.h"

namespace otlpd {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace logs = opentelemetry::proto::logs::v1;
namespace resource = opentelemetry::proto::resource::v1;

constexpr int kIndent = 4;

void write_any(JsonWriter& w, const common::AnyValue& value);

void write_attributes(JsonWriter& w,
                      const google::protobuf::RepeatedPtrField<common::KeyValue>& attributes) {
  w.begin_object();
  for (const auto& kv : attributes) {
    w.key(kv.key());
    write_any(w, kv.value());
  }
  w.end_object();
}

void write_any(JsonWriter& w, const common::AnyValue& value) {
  switch (value.value_case()) {
    case common::AnyValue::kStringValue: w.string(value.string_value()); break;
    case common::AnyValue::kBoolValue: w.boolean(value.bool_value()); break;
    case common::AnyValue::kIntValue: w.number(static_cast<std::int64_t>(value.int_value())); break;
    case common::AnyValue::kDoubleValue: w.number(value.double_value()); break;
    case common::AnyValue::kArrayValue:
      w.begin_array();
      for (const auto& v : value.array_value().values()) write_any(w, v);
      w.end_array();
      break;
    case common::AnyValue::kKvlistValue: write_attributes(w, value.kvlist_value().values()); break;
    case common::AnyValue::kBytesValue: {
      std::string b64;
      append_base64(b64, value.bytes_value());
      w.string(b64);
      break;
    }
    case common::AnyValue::kStringValueStrindex:
      w.number(static_cast<std::int64_t>(value.string_value_strindex()));
      break;
    case common::AnyValue::VALUE_NOT_SET: w.null(); break;
  }
}

void write_prefixed_hex(JsonWriter& w, const std::string& id) {
  std::string text = "0x";
  append_hex(text, id);
  w.string(text);
}

void write_resource(JsonWriter& w, const resource::Resource& r, const std::string& schema_url) {
  w.key("resource");
  w.begin_object();
  w.key("attributes");
  write_attributes(w, r.attributes());
  w.key("schema_url");
  w.string(schema_url);
  w.end_object();
}

// W3C tracestate "a=1,b=2" shown as Python's TraceState repr of its pairs.
std::string trace_state_repr(const std::string& state) {
  std::string out = "[";
  std::size_t start = 0;
  bool first = true;
  while (start < state.size()) {
    std::size_t end = state.find(',', start);
    if (end == std::string::npos) end = state.size();
    std::string member = state.substr(start, end - start);
    if (const auto eq = member.find('='); eq != std::string::npos) {
      out += first ? "" : ", ";
      out += "('" + member.substr(0, eq) + "', '" + member.substr(eq + 1) + "')";
      first = false;
    }
    start = end + 1;
  }
  return out + "]";
}

void write_context(JsonWriter& w, const std::string& trace_id, const std::string& span_id,
                   const std::string& trace_state) {
  w.begin_object();
  w.key("trace_id");
  write_prefixed_hex(w, trace_id);
  w.key("span_id");
  write_prefixed_hex(w, span_id);
  w.key("trace_state");
  w.string(trace_state_repr(trace_state));
  w.end_object();
}

const char* status_code_name(int code) {
  switch (code) {
    case trace::Status::STATUS_CODE_OK: return "OK";
    case trace::Status::STATUS_CODE_ERROR: return "ERROR";
    default: return "UNSET";
  }
}

void append_spans(std::string& out, const otlp::TracesRequest& request) {
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& span : ss.spans()) {
        JsonWriter w(out, kIndent);
        w.begin_object();
        w.key("name");
        w.string(span.name());
        w.key("context");
        write_context(w, span.trace_id(), span.span_id(), span.trace_state());
        w.key("kind");
        w.string(span_kind_names(span.kind()).python);
        w.key("parent_id");
        if (span.parent_span_id().empty()) w.null();
        else write_prefixed_hex(w, span.parent_span_id());
        w.key("start_time");
        w.string(format_iso8601_micros(span.start_time_unix_nano()));
        w.key("end_time");
        w.string(format_iso8601_micros(span.end_time_unix_nano()));
        w.key("status");
        w.begin_object();
        w.key("status_code");
        w.string(status_code_name(span.status().code()));
        if (!span.status().message().empty()) {
          w.key("description");
          w.string(span.status().message());
        }
        w.end_object();
        w.key("attributes");
        write_attributes(w, span.attributes());
        w.key("events");
        w.begin_array();
        for (const auto& event : span.events()) {
          w.begin_object();
          w.key("name");
          w.string(event.name());
          w.key("timestamp");
          w.string(format_iso8601_micros(event.time_unix_nano()));
          w.key("attributes");
          write_attributes(w, event.attributes());
          w.end_object();
        }
        w.end_array();
        w.key("links");
        w.begin_array();
        for (const auto& link : span.links()) {
          w.begin_object();
          w.key("context");
          write_context(w, link.trace_id(), link.span_id(), link.trace_state());
          w.key("attributes");
          write_attributes(w, link.attributes());
          w.end_object();
        }
        w.end_array();
        write_resource(w, rs.resource(), rs.schema_url());
        w.end_object();
        out += '\n';
      }
    }
  }
}

void append_logs(std::string& out, const otlp::LogsRequest& request) {
  for (const auto& rl : request.resource_logs()) {
    for (const auto& sl : rl.scope_logs()) {
      for (const auto& record : sl.log_records()) {
        JsonWriter w(out, kIndent);
        w.begin_object();
        w.key("body");
        write_any(w, record.body());
        w.key("severity_number");
        w.number(static_cast<std::int64_t>(record.severity_number()));
        w.key("severity_text");
        w.string(record.severity_text());
        w.key("attributes");
        write_attributes(w, record.attributes());
        w.key("dropped_attributes");
        w.number(record.dropped_attributes_count());
        w.key("timestamp");
        if (record.time_unix_nano()) w.string(format_iso8601_micros(record.time_unix_nano()));
        else w.null();
        w.key("observed_timestamp");
        w.string(format_iso8601_micros(record.observed_time_unix_nano()));
        w.key("trace_id");
        if (record.trace_id().empty()) w.string("");
        else write_prefixed_hex(w, record.trace_id());
        w.key("span_id");
        if (record.span_id().empty()) w.string("");
        else write_prefixed_hex(w, record.span_id());
        w.key("trace_flags");
        w.number(record.flags() & 0xffu);
        if (!record.event_name().empty()) {
          w.key("event_name");
          w.string(record.event_name());
        }
        w.key("scope");
        w.begin_object();
        w.key("name");
        w.string(sl.scope().name());
        w.key("version");
        w.string(sl.scope().version());
        w.end_object();
        write_resource(w, rl.resource(), rl.schema_url());
        w.end_object();
        out += '\n';
      }
    }
  }
}

// Fields shared by every data point: the metric's identity, its point's times and attributes.
void begin_point(JsonWriter& w, const metrics::Metric& metric, const char* type,
                 const google::protobuf::RepeatedPtrField<common::KeyValue>& attributes,
                 std::uint64_t start, std::uint64_t time) {
  w.begin_object();
  w.key("name");
  w.string(metric.name());
  w.key("description");
  w.string(metric.description());
  w.key("unit");
  w.string(metric.unit());
  w.key("type");
  w.string(type);
  w.key("attributes");
  write_attributes(w, attributes);
  w.key("start_time_unix_nano");
  w.number(start);
  w.key("time_unix_nano");
  w.number(time);
}

void end_point(std::string& out, JsonWriter& w, const metrics::ResourceMetrics& rm,
               const metrics::ScopeMetrics& sm) {
  w.key("scope");
  w.begin_object();
  w.key("name");
  w.string(sm.scope().name());
  w.key("version");
  w.string(sm.scope().version());
  w.end_object();
  write_resource(w, rm.resource(), rm.schema_url());
  w.end_object();
  out += '\n';
}

void write_number_value(JsonWriter& w, const metrics::NumberDataPoint& p) {
  w.key("value");
  if (p.value_case() == metrics::NumberDataPoint::kAsInt) w.number(static_cast<std::int64_t>(p.as_int()));
  else w.number(p.as_double());
}

template <typename Points>
void append_number_points(std::string& out, const metrics::ResourceMetrics& rm,
                          const metrics::ScopeMetrics& sm, const metrics::Metric& m,
                          const char* type, const Points& points, int temporality,
                          const bool* monotonic) {
  for (const auto& p : points) {
    JsonWriter w(out, kIndent);
    begin_point(w, m, type, p.attributes(), p.start_time_unix_nano(), p.time_unix_nano());
    write_number_value(w, p);
    if (temporality >= 0) {
      w.key("aggregation_temporality");
      w.number(static_cast<std::int64_t>(temporality));
    }
    if (monotonic) {
      w.key("is_monotonic");
      w.boolean(*monotonic);
    }
    end_point(out, w, rm, sm);
  }
}

void append_metrics(std::string& out, const otlp::MetricsRequest& request) {
  for (const auto& rm : request.resource_metrics()) {
    for (const auto& sm : rm.scope_metrics()) {
      for (const auto& m : sm.metrics()) {
        switch (m.data_case()) {
          case metrics::Metric::kGauge:
            append_number_points(out, rm, sm, m, "gauge", m.gauge().data_points(), -1, nullptr);
            break;
          case metrics::Metric::kSum: {
            const bool monotonic = m.sum().is_monotonic();
            append_number_points(out, rm, sm, m, "sum", m.sum().data_points(),
                                 m.sum().aggregation_temporality(), &monotonic);
            break;
          }
          case metrics::Metric::kHistogram:
            for (const auto& p : m.histogram().data_points()) {
              JsonWriter w(out, kIndent);
              begin_point(w, m, "histogram", p.attributes(), p.start_time_unix_nano(), p.time_unix_nano());
              w.key("count");
              w.number(p.count());
              w.key("sum");
              if (p.has_sum()) w.number(p.sum()); else w.null();
              w.key("bucket_counts");
              w.begin_array();
              for (auto c : p.bucket_counts()) w.number(static_cast<std::uint64_t>(c));
              w.end_array();
              w.key("explicit_bounds");
              w.begin_array();
              for (double b : p.explicit_bounds()) w.number(b);
              w.end_array();
              w.key("min");
              if (p.has_min()) w.number(p.min()); else w.null();
              w.key("max");
              if (p.has_max()) w.number(p.max()); else w.null();
              w.key("aggregation_temporality");
              w.number(static_cast<std::int64_t>(m.histogram().aggregation_temporality()));
              end_point(out, w, rm, sm);
            }
            break;
          case metrics::Metric::kExponentialHistogram:
            for (const auto& p : m.exponential_histogram().data_points()) {
              JsonWriter w(out, kIndent);
              begin_point(w, m, "exponential_histogram", p.attributes(), p.start_time_unix_nano(),
                          p.time_unix_nano());
              w.key("count");
              w.number(p.count());
              w.key("sum");
              if (p.has_sum()) w.number(p.sum()); else w.null();
              w.key("scale");
              w.number(p.scale());
              w.key("zero_count");
              w.number(p.zero_count());
              for (const auto& [name, buckets] :
                   {std::pair{"positive", &p.positive()}, std::pair{"negative", &p.negative()}}) {
                w.key(name);
                w.begin_object();
                w.key("offset");
                w.number(buckets->offset());
                w.key("bucket_counts");
                w.begin_array();
                for (auto c : buckets->bucket_counts()) w.number(static_cast<std::uint64_t>(c));
                w.end_array();
                w.end_object();
              }
              w.key("min");
              if (p.has_min()) w.number(p.min()); else w.null();
              w.key("max");
              if (p.has_max()) w.number(p.max()); else w.null();
              end_point(out, w, rm, sm);
            }
            break;
          case metrics::Metric::kSummary:
            for (const auto& p : m.summary().data_points()) {
              JsonWriter w(out, kIndent);
              begin_point(w, m, "summary", p.attributes(), p.start_time_unix_nano(), p.time_unix_nano());
              w.key("count");
              w.number(p.count());
              w.key("sum");
              w.number(p.sum());
              w.key("quantile_values");
              w.begin_array();
              for (const auto& q : p.quantile_values()) {
                w.begin_object();
                w.key("quantile");
                w.number(q.quantile());
                w.key("value");
                w.number(q.value());
                w.end_object();
              }
              w.end_array();
              end_point(out, w, rm, sm);
            }
            break;
          case metrics::Metric::DATA_NOT_SET:
            break;
        }
      }
    }
  }
}

}  // namespace

void append_pretty_json(std::string& out, const Batch& batch) {
  for (const RequestPtr& request : batch.requests) {
    switch (request->signal()) {
      case Signal::traces: append_spans(out, request->traces()); break;
      case Signal::metrics: append_metrics(out, request->metrics()); break;
      case Signal::logs: append_logs(out, request->logs()); break;
    }
  }
}

}  // namespace otlpd
