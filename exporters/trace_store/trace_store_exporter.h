#pragma once

#include "exporters/common/queued_exporter.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// exporters::trace_store (otlpd): keeps recent traces in memory (tracestore/), where the
// jaeger_query extension serves them with Jaeger's query API and a built-in web viewer, so that
// traces can be looked at with nothing else installed and read by tools written for Jaeger.
//   max_traces: 10000           the oldest traces beyond this are evicted (and counted)
//   max_memory_mib: 64          so are they beyond about this much memory
//   endpoint: localhost:16686   the older form: when service::extensions lists no
//                               jaeger_query, one is implied, serving this store here
struct TraceStoreConfig final : ComponentConfig {
  std::string endpoint = "localhost:16686";
  std::int64_t max_traces = 10000;
  std::int64_t max_memory_mib = 64;
  SendingQueueConfig queue;

  ConfigProblems validate() const;
};

class TraceStoreExporterFactory final : public TypedExporterFactory<TraceStoreConfig> {
 public:
  std::string_view type() const override { return "trace_store"; }
  bool supports(Signal signal) const override { return signal == Signal::traces; }
  TraceStoreConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const TraceStoreConfig& config) const override;
  std::optional<ImpliedExtension> implies(const ComponentId& id, const TraceStoreConfig& config) const override;
};

}  // namespace otlpd
