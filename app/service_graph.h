#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/common.h>
#include <yaml-cpp/yaml.h>

#include "config/config_node.h"
#include "pipeline/component.h"
#include "selftelemetry/telemetry_config.h"

namespace otlpd {

struct PipelineConfig {
  std::string id;  // "traces", "traces/2"
  Signal signal = Signal::traces;
  std::vector<std::string> receivers, processors, exporters;  // component ids, in order
};

// One configured component: its id, the factory of its type and its parsed, validated
// configuration.
template <typename Factory>
struct ConfiguredComponent {
  ComponentId id;
  const Factory* factory = nullptr;
  std::unique_ptr<ComponentConfig> config;
  std::string source;   // its YAML as configured (environment expanded): what a reload compares
  std::string storage;  // an exporter's sending_queue::storage: the extension its queue lives in
};

// The collector as one configuration describes it, before anything exists: every component
// with its factory and configuration, the pipelines that wire them, and the extensions that
// run. Built and checked from YAML without creating a component, binding a port or starting a
// thread (what `otlpd validate` needs, and what a reload compares). Service::create() turns it
// into running components.
struct ServiceGraph {
  template <typename Factory>
  using Components = std::map<std::string, ConfiguredComponent<Factory>>;  // by id, "otlp/2"

  Components<ReceiverFactory> receivers;
  Components<ProcessorFactory> processors;
  Components<ExporterFactory> exporters;
  Components<ExtensionFactory> extensions;
  std::vector<PipelineConfig> pipelines;
  // The extensions that run, in order: service::extensions, then those an exporter's
  // configuration implies (see ImpliedExtension).
  std::vector<std::string> run_extensions;
  spdlog::level::level_enum log_level = spdlog::level::info;  // service::telemetry::logs::level
  MetricsTelemetryConfig metrics;                              // service::telemetry::metrics

  // Reads and validates the whole configuration. Every problem is recorded in *errors with
  // its path; returns nullopt if there was any. Warns of components configured but unused.
  static std::optional<ServiceGraph> from_config(const YAML::Node& root, const Factories& factories,
                                                 ConfigErrors* errors);

  // Whether a pipeline names the receiver / processor / exporter with this id.
  bool uses_receiver(const std::string& id) const { return used_.count("receivers::" + id) != 0; }
  bool uses_processor(const std::string& id) const { return used_.count("processors::" + id) != 0; }
  bool uses_exporter(const std::string& id) const { return used_.count("exporters::" + id) != 0; }
  // The signals of the pipelines that name this exporter.
  std::vector<Signal> exporter_signals(const std::string& id) const;
  // Whether exporter `id` is configured the same in both graphs (its YAML, the signals of the
  // pipelines that use it, and the storage extension it keeps its queue in): a reload keeps
  // such an exporter running, with its queue and open files.
  bool same_exporter(const ServiceGraph& other, const std::string& id) const;

 private:
  std::set<std::string> used_;  // "section::id" of every component a pipeline names
};

}  // namespace otlpd
