#pragma once

#include "exporters/common/queued_exporter.h"
#include "exporters/debug/text_dump.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

struct DebugConfig final : ComponentConfig {
  DebugVerbosity verbosity = DebugVerbosity::basic;
  SendingQueueConfig queue;

  ConfigProblems validate() const;
};

// exporters::debug: the OpenTelemetry Collector's debug exporter. Logs (stderr) a summary of
// every batch, and with verbosity normal or detailed its contents in otelcol's text layout.
class DebugExporterFactory final : public TypedExporterFactory<DebugConfig> {
 public:
  std::string_view type() const override { return "debug"; }
  DebugConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const DebugConfig& config) const override;
};

}  // namespace otlpd
