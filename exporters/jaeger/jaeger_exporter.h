#pragma once

#include <string_view>
#include <variant>

#include "exporters/jaeger/jaeger_thrift_exporter.h"
#include "exporters/otlp/otlp_grpc_exporter.h"
#include "exporters/otlp/otlp_http_exporter.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// exporters::jaeger: the protocol, and that protocol's exporter's options (same mapping).
struct JaegerConfig final : ComponentConfig {
  std::variant<OtlpGrpcExporterConfig, OtlpHttpExporterConfig, JaegerThriftConfig> options;

  std::string_view protocol() const;  // otlp_grpc, otlp_http or thrift_http
  ConfigProblems validate() const;    // the protocol's exporter's checks
};

// exporters::jaeger: traces to Jaeger.
//   protocol: otlp_grpc    Jaeger's OTLP/gRPC port (default endpoint localhost:4317, plain text)
//   protocol: otlp_http    Jaeger's OTLP/HTTP port (default endpoint http://localhost:4318)
//   protocol: thrift_http  jaeger.thrift Batches to a collector's /api/traces (default
//                          http://localhost:14268/api/traces), for Jaeger older than 1.35
// The OTLP modes take every option of the otlp_grpc / otlp_http exporters.
class JaegerExporterFactory final : public TypedExporterFactory<JaegerConfig> {
 public:
  std::string_view type() const override { return "jaeger"; }
  bool supports(Signal signal) const override { return signal == Signal::traces; }
  JaegerConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const JaegerConfig& config) const override;
};

}  // namespace otlpd
