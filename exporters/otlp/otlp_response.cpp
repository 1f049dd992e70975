#include "exporters/otlp/otlp_response.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace otlpd {

// Rejected items reported in a partial_success response (all three responses share the
// shape: field 1 partial_success{1 rejected count, 2 error_message}).
std::pair<std::int64_t, std::string> partial_success(Signal signal, const std::string& bytes) {
  namespace c = opentelemetry::proto::collector;
  switch (signal) {
    case Signal::traces: {
      c::trace::v1::ExportTraceServiceResponse r;
      if (r.ParseFromString(bytes)) return {r.partial_success().rejected_spans(), r.partial_success().error_message()};
      break;
    }
    case Signal::metrics: {
      c::metrics::v1::ExportMetricsServiceResponse r;
      if (r.ParseFromString(bytes)) return {r.partial_success().rejected_data_points(), r.partial_success().error_message()};
      break;
    }
    case Signal::logs: {
      c::logs::v1::ExportLogsServiceResponse r;
      if (r.ParseFromString(bytes)) return {r.partial_success().rejected_log_records(), r.partial_success().error_message()};
      break;
    }
  }
  return {0, {}};
}

}  // namespace otlpd
