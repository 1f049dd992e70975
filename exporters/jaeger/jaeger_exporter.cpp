#include "exporters/jaeger/jaeger_exporter.h"

namespace otlpd {

std::string_view JaegerConfig::protocol() const {
  constexpr std::string_view kNames[] = {"otlp_grpc", "otlp_http", "thrift_http"};
  return kNames[options.index()];
}

ConfigProblems JaegerConfig::validate() const {
  return std::visit([](const auto& o) { return o.validate(); }, options);
}

JaegerConfig JaegerExporterFactory::parse(ConfigNode& node) const {
  JaegerConfig c;
  const std::string protocol = node.get_enum("protocol", "otlp_grpc", {"otlp_grpc", "otlp_http", "thrift_http"});
  // The rest is parsed by the protocol's exporter, with Jaeger's defaults filled in.
  YAML::Node options = node.is_null() ? YAML::Node(YAML::NodeType::Map) : YAML::Clone(node.yaml());
  options.remove("protocol");
  if (!options["endpoint"]) {
    options["endpoint"] = protocol == "otlp_grpc"   ? "localhost:4317"
                          : protocol == "otlp_http" ? "http://localhost:4318"
                                                    : "http://localhost:14268/api/traces";
  }
  if (protocol == "otlp_grpc" && !options["tls"]) options["tls"]["insecure"] = true;
  // Same path: its errors and unknown keys are reported as this exporter's.
  ConfigNode inner(options, node.path(), &node.errors());
  if (protocol == "otlp_grpc") c.options = OtlpGrpcExporterConfig::parse(inner);
  else if (protocol == "otlp_http") c.options = OtlpHttpExporterConfig::parse(inner);
  else c.options = JaegerThriftConfig::parse(inner);
  return c;
}

std::unique_ptr<Exporter> JaegerExporterFactory::make(const CreateSettings& settings, const JaegerConfig& config) const {
  if (const auto* grpc = std::get_if<OtlpGrpcExporterConfig>(&config.options)) {
    return OtlpGrpcExporterFactory().make(settings, *grpc);
  }
  if (const auto* http = std::get_if<OtlpHttpExporterConfig>(&config.options)) {
    return OtlpHttpExporterFactory().make(settings, *http);
  }
  return create_jaeger_thrift_exporter(settings, std::get<JaegerThriftConfig>(config.options));
}

}  // namespace otlpd
