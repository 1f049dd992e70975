#pragma once

#include <memory>
#include <string>

#include "pipeline/typed_factory.h"

namespace otlpd {

// extensions::jaeger_query (as in Jaeger v2): serves Jaeger's query API and the built-in web
// viewer over the traces that a trace_store exporter keeps.
//   endpoint: localhost:16686   the API and the viewer (Jaeger's query port)
//   trace_store: trace_store    the id of the trace_store exporter whose traces it serves
struct JaegerQueryConfig final : ComponentConfig {
  std::string endpoint = "localhost:16686";
  std::string trace_store = "trace_store";

  // Reads the options (validate() checks them).
  static JaegerQueryConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

class JaegerQueryExtensionFactory final : public TypedExtensionFactory<JaegerQueryConfig> {
 public:
  std::string_view type() const override { return "jaeger_query"; }
  JaegerQueryConfig parse(ConfigNode& node) const override { return JaegerQueryConfig::parse(node); }
  std::unique_ptr<Extension> make(const CreateSettings& settings, const JaegerQueryConfig& config) const override;
};

}  // namespace otlpd
