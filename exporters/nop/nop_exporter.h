#pragma once

#include <optional>

#include "exporters/common/queued_exporter.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// nop takes no options but one of otlpd's: sending_queue, to measure a sending queue (in
// memory, or persistent with storage) in front of an exporter that costs nothing.
struct NopConfig final : ComponentConfig {
  std::optional<SendingQueueConfig> queue;  // absent: no queue, batches are discarded inline
  ConfigProblems validate() const;
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
