#include "selftelemetry/telemetry_config.h"

#include <fmt/format.h>

#include "net/http_server.h"

namespace otlpd {

MetricsTelemetryConfig MetricsTelemetryConfig::parse(ConfigNode& metrics) {
  MetricsTelemetryConfig c;
  const std::string level = metrics.get_enum("level", "normal", {"none", "basic", "normal", "detailed"});
  c.level = level == "none"    ? MetricsLevel::none
            : level == "basic" ? MetricsLevel::basic
            : level == "detailed" ? MetricsLevel::detailed
                                  : MetricsLevel::normal;
  const std::string address = metrics.get_string("address", "");
  if (const auto readers_yaml = metrics.get_yaml("readers")) {
    if (!address.empty()) metrics.error("address", "give either address (the older form) or readers, not both");
    const YAML::Node& readers = *readers_yaml;
    if (!readers.IsSequence()) {
      metrics.error("readers", "must be a list of readers, e.g. [{pull: {exporter: {prometheus: {host: localhost, port: 8888}}}}]");
    } else {
      for (std::size_t i = 0; i < readers.size(); ++i) {
        ConfigNode reader(readers[i], metrics.path_of("readers") + fmt::format("::{}", i), &metrics.errors());
        if (reader.has("periodic")) {
          reader.error("periodic", "periodic (push) readers are not supported; use pull: {exporter: {prometheus: {host, port}}}");
          reader.child("periodic");
        }
        ConfigNode pull = reader.child("pull");
        ConfigNode exporter = pull.child("exporter");
        ConfigNode prometheus = exporter.child("prometheus");
        if (!reader.has("periodic") && !exporter.has("prometheus")) {
          pull.error("exporter", "needs prometheus: {host, port} (the only pull exporter)");
        }
        const std::string host = prometheus.get_string("host", "localhost");
        const std::int64_t port = prometheus.get_int("port", 8888);
        if (port < 0 || port > 65535) prometheus.error("port", "must be between 0 and 65535");
        PrometheusFormat format;
        format.without_type_suffix = prometheus.get_bool("without_type_suffix", format.without_type_suffix);
        format.without_units = prometheus.get_bool("without_units", format.without_units);
        prometheus.get_bool("without_scope_info", true);  // otlpd never writes scope info
        prometheus.finish();
        exporter.finish();
        pull.finish();
        reader.finish();
        if (!reader.has("periodic")) {
          c.readers.push_back({host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                                                    : fmt::format("{}:{}", host, port),
                               format});
        }
      }
    }
  } else {
    c.readers.push_back({address.empty() ? "localhost:8888" : address, {}});
    std::string host;
    int port = 0;
    if (!split_endpoint(c.readers.back().endpoint, &host, &port)) {
      metrics.error("address", fmt::format("'{}' is not host:port", address));
    }
  }
  metrics.finish();
  if (c.level == MetricsLevel::none) c.readers.clear();
  return c;
}

}  // namespace otlpd
