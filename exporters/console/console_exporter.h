#pragma once

#include "exporters/common/queued_exporter.h"
#include "pipeline/component.h"

namespace otlpd {

// exporters::console: telemetry as JSON on stdout, for people and grep.
//   format: pretty     one indented object per span / data point / log record, in the
//                      OpenTelemetry Python SDK console exporter's shape (default)
//   format: otlp_json  one OTLP/JSON Export*ServiceRequest per line
class ConsoleExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "console"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override;
  std::unique_ptr<Exporter> create(const CreateSettings& settings,
                                   const ComponentConfig& config) const override;
};

}  // namespace otlpd
