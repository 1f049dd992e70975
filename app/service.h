#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/sink.h>
#include <yaml-cpp/yaml.h>

#include "app/service_graph.h"
#include "config/config_node.h"
#include "pipeline/component.h"
#include "pipeline/fanout.h"
#include "selftelemetry/metrics_server.h"
#include "selftelemetry/self_telemetry.h"

namespace otlpd {

// The running collector: the components of one ServiceGraph, created and wired into
// pipelines. Owns the components (and the graph, whose configurations they were made from);
// the wiring is data (consumers and fan-outs), not inheritance. start() starts exporters, then
// processors, then receivers; shutdown() stops receivers first and exporters last, so
// everything in flight drains downstream.
class Service {
 public:
  // Creates (does not start) the components of a graph and wires them. `telemetry` is the
  // process's self-telemetry, handed to every component.
  // With `previous` (a reload), every exporter configured the same in both graphs
  // (ServiceGraph::same_exporter) is taken over from it, running, with its queue and open
  // files: `previous` no longer stops it, and this service does not start it again.
  static std::unique_ptr<Service> create(ServiceGraph graph, std::shared_ptr<spdlog::sinks::sink> log_sink,
                                         std::shared_ptr<SelfTelemetry> telemetry, Service* previous = nullptr);
  // ServiceGraph::from_config, then create(): nullptr, with every problem in *errors, if the
  // configuration is not valid.
  static std::unique_ptr<Service> build(const YAML::Node& root, const Factories& factories,
                                        std::shared_ptr<spdlog::sinks::sink> log_sink,
                                        std::shared_ptr<SelfTelemetry> telemetry, ConfigErrors* errors);
  ~Service();

  bool start(std::string* error);
  void shutdown() noexcept;  // idempotent; safe without start()

  // The log level requested by service::telemetry::logs::level.
  spdlog::level::level_enum log_level() const { return graph_.log_level; }
  const ServiceGraph& graph() const { return graph_; }
  // Ids of the exporters taken over from the previous service.
  std::vector<std::string> adopted_exporters() const;

 private:
  Service() = default;
  // Hands a running exporter over to the next service (nullptr if there is none by that id).
  std::unique_ptr<Exporter> release_exporter(const std::string& id);

  ServiceGraph graph_;
  // Started first and stopped last, so that a probe or a scrape sees the pipelines start and stop.
  std::vector<std::unique_ptr<MetricsServer>> metrics_servers_;
  std::vector<std::unique_ptr<Extension>> extensions_;
  std::vector<std::unique_ptr<Exporter>> exporters_;  // null once handed over to the next service
  std::vector<std::string> exporter_ids_;             // beside exporters_
  std::vector<std::unique_ptr<Processor>> processors_;  // upstream first within each pipeline
  std::vector<std::unique_ptr<FanoutConsumer>> fanouts_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::vector<Component*> started_;
  std::vector<Component*> adopted_;  // exporters taken over running from the previous service
  std::shared_ptr<Host> host_;
  std::size_t metrics_servers_started_ = 0;
  bool stopped_ = false;
};

}  // namespace otlpd
