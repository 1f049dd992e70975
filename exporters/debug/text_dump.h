#pragma once

#include <string>

#include "otlp/request.h"

namespace otlpd {

enum class DebugVerbosity { basic, normal, detailed };

// The summary the OpenTelemetry Collector's debug exporter logs for every batch:
// {"resource spans": 1, "spans": 2}.
std::string debug_summary(const Batch& batch);

// The body printed below the summary: nothing for basic; one line per resource, scope and
// item for normal; the full dump (ResourceSpans #0, Resource attributes:, -> k: Str(v),
// Span #0, Trace ID : ..., ...) for detailed, in otelcol's layout.
std::string debug_dump(const Batch& batch, DebugVerbosity verbosity);

}  // namespace otlpd
