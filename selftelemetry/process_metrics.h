#pragma once

#include <vector>

#include "selftelemetry/metrics.h"

namespace otlpd {

// Adds otelcol_process_uptime / cpu_seconds / memory_rss, read from /proc/self when scraped.
// They are shown as long as the returned handles live.
std::vector<MetricsRegistry::Observation> observe_process(MetricsRegistry& registry);

}  // namespace otlpd
