#pragma once

#include "pipeline/typed_factory.h"

namespace otlpd {

// nop takes no options.
struct NopConfig final : ComponentConfig {
  ConfigProblems validate() const { return {}; }
};

// exporters::nop: accepts everything and discards it, as otelcol's nop exporter. For
// benchmarks (the cost of the pipeline without any output) and for pipelines under test.
class NopExporterFactory final : public TypedExporterFactory<NopConfig> {
 public:
  std::string_view type() const override { return "nop"; }
  NopConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const NopConfig& config) const override;
};

}  // namespace otlpd
