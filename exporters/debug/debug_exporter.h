#pragma once

#include "exporters/common/queued_exporter.h"
#include "pipeline/component.h"

namespace otlpd {

// exporters::debug: the OpenTelemetry Collector's debug exporter. Logs (stderr) a summary of
// every batch, and with verbosity normal or detailed its contents in otelcol's text layout.
class DebugExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "debug"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override;
  std::unique_ptr<Exporter> create(const CreateSettings& settings,
                                   const ComponentConfig& config) const override;
};

}  // namespace otlpd
