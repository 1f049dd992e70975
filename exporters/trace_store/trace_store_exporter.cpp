#include "exporters/trace_store/trace_store_exporter.h"

#include <fmt/format.h>

#include "net/http_server.h"
#include "selftelemetry/otelcol_metrics.h"
#include "tracestore/trace_store.h"

namespace otlpd {
namespace {

class TraceStoreSender final : public BatchSender {
 public:
  TraceStoreSender(const TraceStoreConfig& config, CreateSettings settings)
      : config_(config), settings_(std::move(settings)),
        store_(std::make_shared<TraceStore>(static_cast<std::size_t>(config.max_traces),
                                            static_cast<std::size_t>(config.max_memory_mib) << 20)) {
    // jaeger_query finds the store through the host, by this exporter's id.
    settings_.host->provide<const TraceStore>(settings_.id.str(), store_);
    MetricsRegistry& registry = settings_.telemetry->metrics;
    const MetricLabels labels{{"exporter", settings_.id.str()}};
    auto stat = [this](auto field) { return [this, field] { return static_cast<double>(store_->stats().*field); }; };
    gauges_.push_back(registry.observe(selfmetrics::kTraceStoreTraces, labels, stat(&TraceStore::Stats::traces)));
    gauges_.push_back(registry.observe(selfmetrics::kTraceStoreSpans, labels, stat(&TraceStore::Stats::spans)));
    gauges_.push_back(registry.observe(selfmetrics::kTraceStoreBytes, labels, stat(&TraceStore::Stats::bytes)));
    gauges_.push_back(registry.observe(selfmetrics::kTraceStoreEvictedTraces, labels, stat(&TraceStore::Stats::evicted_traces)));
    gauges_.push_back(registry.observe(selfmetrics::kTraceStoreEvictedSpans, labels, stat(&TraceStore::Stats::evicted_spans)));
  }

  ~TraceStoreSender() override { gauges_.clear(); }  // before the store they read goes

  bool start(std::string*) override {
    settings_.logger->info("keeping up to {} traces / {} MiB", config_.max_traces, config_.max_memory_mib);
    return true;
  }

  ConsumeResult send(const Batch& batch) noexcept override {
    for (const RequestPtr& request : batch.requests) store_->add(request);
    return ConsumeResult::ok();
  }

  void stop() noexcept override {
    const TraceStore::Stats s = store_->stats();
    settings_.logger->info("held {} traces ({} spans, about {} KiB); evicted {} traces ({} spans)", s.traces, s.spans,
                           s.bytes / 1024, s.evicted_traces, s.evicted_spans);
  }

 private:
  TraceStoreConfig config_;
  CreateSettings settings_;
  std::shared_ptr<TraceStore> store_;  // shared with jaeger_query, which may outlive this
  std::vector<MetricsRegistry::Observation> gauges_;  // held, evicted
};

}  // namespace

ConfigProblems TraceStoreConfig::validate() const {
  ConfigProblems problems;
  std::string host;
  int port = 0;
  if (!split_endpoint(endpoint, &host, &port)) problems.push_back({"endpoint", fmt::format("'{}' is not host:port", endpoint)});
  if (max_traces < 1) problems.push_back({"max_traces", "must be >= 1"});
  if (max_memory_mib < 1) problems.push_back({"max_memory_mib", "must be >= 1"});
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

TraceStoreConfig TraceStoreExporterFactory::parse(ConfigNode& node) const {
  TraceStoreConfig c;
  c.endpoint = node.get_string("endpoint", c.endpoint);
  c.max_traces = node.get_int("max_traces", c.max_traces);
  c.max_memory_mib = node.get_int("max_memory_mib", c.max_memory_mib);
  c.queue = SendingQueueConfig::parse(node, {});
  node.finish();
  return c;
}

std::unique_ptr<Exporter> TraceStoreExporterFactory::make(const CreateSettings& settings,
                                                          const TraceStoreConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.queue, std::make_unique<TraceStoreSender>(c, settings));
}

std::optional<ImpliedExtension> TraceStoreExporterFactory::implies(const ComponentId& id,
                                                                   const TraceStoreConfig& c) const {
  YAML::Node node;
  node["endpoint"] = c.endpoint;
  node["trace_store"] = id.str();
  return ImpliedExtension{"jaeger_query", node,
                          fmt::format("extensions: {{jaeger_query: {{trace_store: {}, endpoint: \"{}\"}}}}", id.str(),
                                      c.endpoint)};
}

}  // namespace otlpd
