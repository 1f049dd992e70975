#pragma once

#include "selftelemetry/metrics.h"
#include "selftelemetry/status.h"

namespace otlpd {

// What every component is handed at construction to report about itself: its counters and
// gauges (read by the :8888/metrics endpoint) and its status (read by health_check). One per
// process, created by main before the first configuration is loaded and kept across reloads.
struct SelfTelemetry {
  MetricsRegistry metrics;
  StatusRegistry status;
};

}  // namespace otlpd
