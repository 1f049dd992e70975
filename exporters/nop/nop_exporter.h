#pragma once

#include "pipeline/component.h"

namespace otlpd {

// exporters::nop: accepts everything and discards it, as otelcol's nop exporter. For
// benchmarks (the cost of the pipeline without any output) and for pipelines under test.
class NopExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "nop"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override;
  std::unique_ptr<Exporter> create(const CreateSettings& settings,
                                   const ComponentConfig& config) const override;
};

}  // namespace otlpd
