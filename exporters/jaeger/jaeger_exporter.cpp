#include "exporters/jaeger/jaeger_exporter.h"

#include "exporters/jaeger/jaeger_thrift_exporter.h"
#include "exporters/otlp/otlp_grpc_exporter.h"
#include "exporters/otlp/otlp_http_exporter.h"

namespace otlpd {
namespace {

struct JaegerConfig final : ComponentConfig {
  std::string protocol;
  std::unique_ptr<ComponentConfig> inner;  // the otlp_grpc / otlp_http / thrift configuration
};

}  // namespace

std::unique_ptr<ComponentConfig> JaegerExporterFactory::parse_config(ConfigNode& node) const {
  auto c = std::make_unique<JaegerConfig>();
  c->protocol = node.get_enum("protocol", "otlp_grpc", {"otlp_grpc", "otlp_http", "thrift_http"});
  // The rest is parsed by the protocol's exporter, with Jaeger's defaults filled in.
  YAML::Node options = node.is_null() ? YAML::Node(YAML::NodeType::Map) : YAML::Clone(node.yaml());
  options.remove("protocol");
  if (!options["endpoint"]) {
    options["endpoint"] = c->protocol == "otlp_grpc"   ? "localhost:4317"
                          : c->protocol == "otlp_http" ? "http://localhost:4318"
                                                       : "http://localhost:14268/api/traces";
  }
  if (c->protocol == "otlp_grpc" && !options["tls"]) options["tls"]["insecure"] = true;
  ConfigNode inner(options, node.path(), &node.errors());
  if (c->protocol == "otlp_grpc") c->inner = OtlpGrpcExporterConfig::parse(inner);
  else if (c->protocol == "otlp_http") c->inner = OtlpHttpExporterConfig::parse(inner);
  else c->inner = JaegerThriftConfig::parse(inner);
  return c;
}

std::unique_ptr<Exporter> JaegerExporterFactory::create(const CreateSettings& settings,
                                                        const ComponentConfig& config) const {
  const auto& c = static_cast<const JaegerConfig&>(config);
  if (c.protocol == "otlp_grpc") return OtlpGrpcExporterFactory().create(settings, *c.inner);
  if (c.protocol == "otlp_http") return OtlpHttpExporterFactory().create(settings, *c.inner);
  return create_jaeger_thrift_exporter(settings, static_cast<const JaegerThriftConfig&>(*c.inner));
}

}  // namespace otlpd
