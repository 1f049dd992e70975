#pragma once

#include <string>
#include <vector>

#include "config/config_node.h"
#include "selftelemetry/metrics.h"

namespace otlpd {

// service::telemetry::metrics, as the OpenTelemetry Collector reads it:
//   level: none | basic | normal (default) | detailed
//   readers: [{pull: {exporter: {prometheus: {host: localhost, port: 8888,
//                                              without_type_suffix: true, without_units: true}}}}]
//   address: localhost:8888        (the older form; not together with readers)
// Without readers or address the metrics are served on localhost:8888, as otelcol does.
struct MetricsTelemetryConfig {
  struct Reader {
    std::string endpoint;  // host:port
    PrometheusFormat format;  // without_type_suffix, without_units (both true by default, as otelcol)
  };
  MetricsLevel level = MetricsLevel::normal;
  std::vector<Reader> readers;  // none when level is none

  static MetricsTelemetryConfig parse(ConfigNode& metrics);
};

}  // namespace otlpd
