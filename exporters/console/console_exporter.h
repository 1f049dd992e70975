#pragma once

#include "exporters/common/queued_exporter.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

struct ConsoleConfig final : ComponentConfig {
  bool pretty = true;  // format: pretty (default) | otlp_json
  SendingQueueConfig queue;

  ConfigProblems validate() const;
};

// exporters::console: telemetry as JSON on stdout, for people and grep.
//   format: pretty     one indented object per span / data point / log record, in the
//                      OpenTelemetry Python SDK console exporter's shape (default)
//   format: otlp_json  one OTLP/JSON Export*ServiceRequest per line
class ConsoleExporterFactory final : public TypedExporterFactory<ConsoleConfig> {
 public:
  std::string_view type() const override { return "console"; }
  ConsoleConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const ConsoleConfig& config) const override;
};

}  // namespace otlpd
