#include "exporters/debug/text_dump.h"

#include <fmt/format.h>

#include "otlp/json_encoder.h"
#include "otlp/span_kind.h"
#include "exporters/common/time_format.h"

namespace otlpd {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace logs = opentelemetry::proto::logs::v1;
using Attributes = google::protobuf::RepeatedPtrField<common::KeyValue>;
using Out = std::back_insert_iterator<std::string>;

std::string any_text(const common::AnyValue& v);

std::string any_plain(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return v.string_value();
    case common::AnyValue::kBoolValue: return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue: return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue: return fmt::format("{}", v.double_value());
    case common::AnyValue::kBytesValue: {
      std::string s;
      append_base64(s, v.bytes_value());
      return s;
    }
    case common::AnyValue::kArrayValue: {
      std::string s = "[";
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i) s += ",";
        s += any_plain(v.array_value().values(i));
      }
      return s + "]";
    }
    case common::AnyValue::kKvlistValue: {
      std::string s = "{";
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        const auto& kv = v.kvlist_value().values(i);
        if (i) s += ",";
        s += kv.key() + ":" + any_plain(kv.value());
      }
      return s + "}";
    }
    case common::AnyValue::kStringValueStrindex: return std::to_string(v.string_value_strindex());
    case common::AnyValue::VALUE_NOT_SET: return "";
  }
  return "";
}

// pcommon.Value in otelcol's text: Str(x), Int(3), Double(1.5), Bool(true), Slice([..]),
// Map({..}), Bytes(base64), Empty().
std::string any_text(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return fmt::format("Str({})", v.string_value());
    case common::AnyValue::kBoolValue: return fmt::format("Bool({})", v.bool_value());
    case common::AnyValue::kIntValue: return fmt::format("Int({})", v.int_value());
    case common::AnyValue::kDoubleValue: return fmt::format("Double({})", v.double_value());
    case common::AnyValue::kBytesValue: return fmt::format("Bytes({})", any_plain(v));
    case common::AnyValue::kArrayValue: return fmt::format("Slice({})", any_plain(v));
    case common::AnyValue::kKvlistValue: return fmt::format("Map({})", any_plain(v));
    case common::AnyValue::kStringValueStrindex: return fmt::format("Int({})", v.string_value_strindex());
    case common::AnyValue::VALUE_NOT_SET: return "Empty()";
  }
  return "Empty()";
}

void attributes(Out out, std::string_view title, const Attributes& attrs, int indent = 5) {
  if (!title.empty()) {
    if (attrs.empty()) return;
    fmt::format_to(out, "{}:\n", title);
  }
  for (const auto& kv : attrs) {
    fmt::format_to(out, "{:{}}-> {}: {}\n", "", indent, kv.key(), any_text(kv.value()));
  }
}

std::string flat_attributes(const Attributes& attrs) {
  std::string s;
  for (const auto& kv : attrs) {
    if (!s.empty()) s += ' ';
    s += kv.key() + "=" + any_plain(kv.value());
  }
  return s;
}

const char* status_name(int code) {
  switch (code) {
    case trace::Status::STATUS_CODE_OK: return "Ok";
    case trace::Status::STATUS_CODE_ERROR: return "Error";
    default: return "Unset";
  }
}

const char* temporality_name(int t) {
  switch (t) {
    case metrics::AGGREGATION_TEMPORALITY_DELTA: return "Delta";
    case metrics::AGGREGATION_TEMPORALITY_CUMULATIVE: return "Cumulative";
    default: return "Unspecified";
  }
}

std::string severity_name(int number) {
  if (number <= 0 || number > 24) return "Unspecified(0)";
  static constexpr const char* kNames[] = {"Trace", "Debug", "Info", "Warn", "Error", "Fatal"};
  const int group = (number - 1) / 4;
  const int step = (number - 1) % 4;
  return step == 0 ? fmt::format("{}({})", kNames[group], number)
                   : fmt::format("{}{}({})", kNames[group], step + 1, number);
}

template <typename Scope>
void scope_header(Out out, std::string_view what, int index, const Scope& scoped) {
  fmt::format_to(out, "{} #{}\n{} SchemaURL: {}\n", what, index, what, scoped.schema_url());
  fmt::format_to(out, "InstrumentationScope {} {}\n", scoped.scope().name(), scoped.scope().version());
  attributes(out, "InstrumentationScope attributes", scoped.scope().attributes());
}

template <typename ResourceData>
void resource_header(Out out, std::string_view what, int index, const ResourceData& r) {
  fmt::format_to(out, "{} #{}\nResource SchemaURL: {}\n", what, index, r.schema_url());
  attributes(out, "Resource attributes", r.resource().attributes());
}

void detailed_traces(Out out, const otlp::TracesRequest& req) {
  for (int r = 0; r < req.resource_spans_size(); ++r) {
    const auto& rs = req.resource_spans(r);
    resource_header(out, "ResourceSpans", r, rs);
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const auto& ss = rs.scope_spans(s);
      scope_header(out, "ScopeSpans", s, ss);
      for (int i = 0; i < ss.spans_size(); ++i) {
        const auto& span = ss.spans(i);
        fmt::format_to(out, "Span #{}\n", i);
        fmt::format_to(out, "    Trace ID       : {}\n", to_hex(span.trace_id()));
        fmt::format_to(out, "    Parent ID      : {}\n", to_hex(span.parent_span_id()));
        fmt::format_to(out, "    ID             : {}\n", to_hex(span.span_id()));
        fmt::format_to(out, "    Name           : {}\n", span.name());
        fmt::format_to(out, "    Kind           : {}\n", span_kind_names(span.kind()).title);
        fmt::format_to(out, "    Start time     : {}\n", format_go_time(span.start_time_unix_nano()));
        fmt::format_to(out, "    End time       : {}\n", format_go_time(span.end_time_unix_nano()));
        fmt::format_to(out, "    Status code    : {}\n", status_name(span.status().code()));
        fmt::format_to(out, "    Status message : {}\n", span.status().message());
        attributes(out, "Attributes", span.attributes());
        if (span.events_size()) fmt::format_to(out, "Events:\n");
        for (int e = 0; e < span.events_size(); ++e) {
          const auto& ev = span.events(e);
          fmt::format_to(out, "SpanEvent #{}\n     -> Name: {}\n     -> Timestamp: {}\n"
                              "     -> DroppedAttributesCount: {}\n",
                         e, ev.name(), format_go_time(ev.time_unix_nano()), ev.dropped_attributes_count());
          if (ev.attributes_size()) fmt::format_to(out, "     -> Attributes::\n");
          attributes(out, "", ev.attributes(), 10);
        }
        if (span.links_size()) fmt::format_to(out, "Links:\n");
        for (int l = 0; l < span.links_size(); ++l) {
          const auto& link = span.links(l);
          fmt::format_to(out, "SpanLink #{}\n     -> Trace ID: {}\n     -> ID: {}\n"
                              "     -> TraceState: {}\n     -> DroppedAttributesCount: {}\n",
                         l, to_hex(link.trace_id()), to_hex(link.span_id()), link.trace_state(),
                         link.dropped_attributes_count());
          if (link.attributes_size()) fmt::format_to(out, "     -> Attributes::\n");
          attributes(out, "", link.attributes(), 10);
        }
      }
    }
  }
}

void normal_traces(Out out, const otlp::TracesRequest& req) {
  for (int r = 0; r < req.resource_spans_size(); ++r) {
    const auto& rs = req.resource_spans(r);
    fmt::format_to(out, "ResourceSpans #{} {}\n", r, flat_attributes(rs.resource().attributes()));
    for (int s = 0; s < rs.scope_spans_size(); ++s) {
      const auto& ss = rs.scope_spans(s);
      fmt::format_to(out, "ScopeSpans #{} {} {}\n", s, ss.scope().name(), ss.scope().version());
      for (const auto& span : ss.spans()) {
        fmt::format_to(out, "{} {} {} {}\n", span.name(), to_hex(span.trace_id()),
                       to_hex(span.span_id()), flat_attributes(span.attributes()));
      }
    }
  }
}

template <typename Point>
void point_header(Out out, std::string_view what, int index, const Point& p) {
  fmt::format_to(out, "{} #{}\n", what, index);
  attributes(out, "Data point attributes", p.attributes());
  fmt::format_to(out, "StartTimestamp: {}\nTimestamp: {}\n", format_go_time(p.start_time_unix_nano()),
                 format_go_time(p.time_unix_nano()));
}

void detailed_metrics(Out out, const otlp::MetricsRequest& req) {
  for (int r = 0; r < req.resource_metrics_size(); ++r) {
    const auto& rm = req.resource_metrics(r);
    resource_header(out, "ResourceMetrics", r, rm);
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      const auto& sm = rm.scope_metrics(s);
      scope_header(out, "ScopeMetrics", s, sm);
      for (int i = 0; i < sm.metrics_size(); ++i) {
        const auto& m = sm.metrics(i);
        fmt::format_to(out, "Metric #{}\nDescriptor:\n     -> Name: {}\n     -> Description: {}\n"
                            "     -> Unit: {}\n",
                       i, m.name(), m.description(), m.unit());
        auto numbers = [&](const auto& points) {
          for (int p = 0; p < points.size(); ++p) {
            const auto& dp = points[p];
            point_header(out, "NumberDataPoints", p, dp);
            if (dp.value_case() == metrics::NumberDataPoint::kAsInt) fmt::format_to(out, "Value: {}\n", dp.as_int());
            else fmt::format_to(out, "Value: {:.6f}\n", dp.as_double());
          }
        };
        switch (m.data_case()) {
          case metrics::Metric::kGauge:
            fmt::format_to(out, "     -> DataType: Gauge\n");
            numbers(m.gauge().data_points());
            break;
          case metrics::Metric::kSum:
            fmt::format_to(out, "     -> DataType: Sum\n     -> IsMonotonic: {}\n"
                                "     -> AggregationTemporality: {}\n",
                           m.sum().is_monotonic(), temporality_name(m.sum().aggregation_temporality()));
            numbers(m.sum().data_points());
            break;
          case metrics::Metric::kHistogram:
            fmt::format_to(out, "     -> DataType: Histogram\n     -> AggregationTemporality: {}\n",
                           temporality_name(m.histogram().aggregation_temporality()));
            for (int p = 0; p < m.histogram().data_points_size(); ++p) {
              const auto& dp = m.histogram().data_points(p);
              point_header(out, "HistogramDataPoints", p, dp);
              fmt::format_to(out, "Count: {}\n", dp.count());
              if (dp.has_sum()) fmt::format_to(out, "Sum: {:.6f}\n", dp.sum());
              if (dp.has_min()) fmt::format_to(out, "Min: {:.6f}\n", dp.min());
              if (dp.has_max()) fmt::format_to(out, "Max: {:.6f}\n", dp.max());
              for (int b = 0; b < dp.explicit_bounds_size(); ++b)
                fmt::format_to(out, "ExplicitBounds #{}: {:.6f}\n", b, dp.explicit_bounds(b));
              for (int b = 0; b < dp.bucket_counts_size(); ++b)
                fmt::format_to(out, "Buckets #{}, Count: {}\n", b, dp.bucket_counts(b));
            }
            break;
          case metrics::Metric::kExponentialHistogram:
            fmt::format_to(out, "     -> DataType: ExponentialHistogram\n     -> AggregationTemporality: {}\n",
                           temporality_name(m.exponential_histogram().aggregation_temporality()));
            for (int p = 0; p < m.exponential_histogram().data_points_size(); ++p) {
              const auto& dp = m.exponential_histogram().data_points(p);
              point_header(out, "ExponentialHistogramDataPoints", p, dp);
              fmt::format_to(out, "Count: {}\nSum: {:.6f}\nScale: {}\nZeroCount: {}\n", dp.count(),
                             dp.sum(), dp.scale(), dp.zero_count());
            }
            break;
          case metrics::Metric::kSummary:
            fmt::format_to(out, "     -> DataType: Summary\n");
            for (int p = 0; p < m.summary().data_points_size(); ++p) {
              const auto& dp = m.summary().data_points(p);
              point_header(out, "SummaryDataPoints", p, dp);
              fmt::format_to(out, "Count: {}\nSum: {:.6f}\n", dp.count(), dp.sum());
              for (int q = 0; q < dp.quantile_values_size(); ++q)
                fmt::format_to(out, "QuantileValue #{}: Quantile {:.6f}, Value {:.6f}\n", q,
                               dp.quantile_values(q).quantile(), dp.quantile_values(q).value());
            }
            break;
          case metrics::Metric::DATA_NOT_SET:
            fmt::format_to(out, "     -> DataType: Empty\n");
            break;
        }
      }
    }
  }
}

void normal_metrics(Out out, const otlp::MetricsRequest& req) {
  for (int r = 0; r < req.resource_metrics_size(); ++r) {
    const auto& rm = req.resource_metrics(r);
    fmt::format_to(out, "ResourceMetrics #{} {}\n", r, flat_attributes(rm.resource().attributes()));
    for (int s = 0; s < rm.scope_metrics_size(); ++s) {
      const auto& sm = rm.scope_metrics(s);
      fmt::format_to(out, "ScopeMetrics #{} {} {}\n", s, sm.scope().name(), sm.scope().version());
      for (const auto& m : sm.metrics()) {
        fmt::format_to(out, "{} {} data points: {}\n", m.name(), m.unit(), data_point_count(m));
      }
    }
  }
}

void detailed_logs(Out out, const otlp::LogsRequest& req) {
  for (int r = 0; r < req.resource_logs_size(); ++r) {
    const auto& rl = req.resource_logs(r);
    resource_header(out, "ResourceLog", r, rl);
    for (int s = 0; s < rl.scope_logs_size(); ++s) {
      const auto& sl = rl.scope_logs(s);
      scope_header(out, "ScopeLogs", s, sl);
      for (int i = 0; i < sl.log_records_size(); ++i) {
        const auto& lr = sl.log_records(i);
        fmt::format_to(out, "LogRecord #{}\nObservedTimestamp: {}\nTimestamp: {}\nSeverityText: {}\n"
                            "SeverityNumber: {}\nBody: {}\n",
                       i, format_go_time(lr.observed_time_unix_nano()), format_go_time(lr.time_unix_nano()),
                       lr.severity_text(), severity_name(lr.severity_number()), any_text(lr.body()));
        if (!lr.event_name().empty()) fmt::format_to(out, "EventName: {}\n", lr.event_name());
        attributes(out, "Attributes", lr.attributes());
        fmt::format_to(out, "Trace ID: {}\nSpan ID: {}\nFlags: {}\n", to_hex(lr.trace_id()),
                       to_hex(lr.span_id()), lr.flags());
      }
    }
  }
}

void normal_logs(Out out, const otlp::LogsRequest& req) {
  for (int r = 0; r < req.resource_logs_size(); ++r) {
    const auto& rl = req.resource_logs(r);
    fmt::format_to(out, "ResourceLog #{} {}\n", r, flat_attributes(rl.resource().attributes()));
    for (int s = 0; s < rl.scope_logs_size(); ++s) {
      const auto& sl = rl.scope_logs(s);
      fmt::format_to(out, "ScopeLog #{} {} {}\n", s, sl.scope().name(), sl.scope().version());
      for (const auto& lr : sl.log_records()) {
        fmt::format_to(out, "{} {}\n", any_plain(lr.body()), flat_attributes(lr.attributes()));
      }
    }
  }
}

}  // namespace

std::string debug_summary(const Batch& batch) {
  std::size_t resources = 0;
  for (const RequestPtr& r : batch.requests) {
    switch (batch.signal) {
      case Signal::traces: resources += static_cast<std::size_t>(r->traces().resource_spans_size()); break;
      case Signal::metrics: resources += static_cast<std::size_t>(r->metrics().resource_metrics_size()); break;
      case Signal::logs: resources += static_cast<std::size_t>(r->logs().resource_logs_size()); break;
    }
  }
  switch (batch.signal) {
    case Signal::traces:
      return fmt::format(R"({{"resource spans": {}, "spans": {}}})", resources, batch.item_count());
    case Signal::metrics:
      return fmt::format(R"({{"resource metrics": {}, "data points": {}}})", resources,
                         batch.item_count());
    case Signal::logs:
      return fmt::format(R"({{"resource logs": {}, "log records": {}}})", resources,
                         batch.item_count());
  }
  return {};
}

std::string debug_dump(const Batch& batch, DebugVerbosity verbosity) {
  std::string text;
  if (verbosity == DebugVerbosity::basic) return text;
  Out out(text);
  const bool detailed = verbosity == DebugVerbosity::detailed;
  for (const RequestPtr& r : batch.requests) {
    switch (batch.signal) {
      case Signal::traces: detailed ? detailed_traces(out, r->traces()) : normal_traces(out, r->traces()); break;
      case Signal::metrics: detailed ? detailed_metrics(out, r->metrics()) : normal_metrics(out, r->metrics()); break;
      case Signal::logs: detailed ? detailed_logs(out, r->logs()) : normal_logs(out, r->logs()); break;
    }
  }
  return text;
}

}  // namespace otlpd
