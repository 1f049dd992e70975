#pragma once

#include "pipeline/component.h"

namespace otlpd {

// exporters::jaeger: traces to Jaeger.
//   protocol: otlp_grpc    Jaeger's OTLP/gRPC port (default endpoint localhost:4317, plain text)
//   protocol: otlp_http    Jaeger's OTLP/HTTP port (default endpoint http://localhost:4318)
//   protocol: thrift_http  jaeger.thrift Batches to a collector's /api/traces (default
//                          http://localhost:14268/api/traces), for Jaeger older than 1.35
// The OTLP modes take every option of the otlp_grpc / otlp_http exporters.
class JaegerExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "jaeger"; }
  bool supports(Signal signal) const override { return signal == Signal::traces; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override;
  std::unique_ptr<Exporter> create(const CreateSettings& settings, const ComponentConfig& config) const override;
};

}  // namespace otlpd
