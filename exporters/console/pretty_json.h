#pragma once

#include <string>

#include "otlp/request.h"

namespace otlpd {

// One indented JSON object per span, metric data point or log record, each followed by a
// newline, in the shape the OpenTelemetry Python SDK's console exporters print
// (name, context{trace_id "0x..", span_id, trace_state}, kind "SpanKind.SERVER", parent_id,
// start_time "2024-10-28T14:20:33.591136Z", status{status_code}, attributes{}, events[],
// links[], resource{attributes, schema_url}), so output of opentelemetry-instrument and of
// otlpd can be read and grepped the same way.
void append_pretty_json(std::string& out, const Batch& batch);

}  // namespace otlpd
