#pragma once

#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/sink.h>
#include <yaml-cpp/yaml.h>

#include "config/config_node.h"
#include "pipeline/component.h"
#include "pipeline/fanout.h"
#include "selftelemetry/metrics_server.h"
#include "selftelemetry/self_telemetry.h"

namespace otlpd {

struct PipelineConfig {
  std::string id;  // "traces", "traces/2"
  Signal signal = Signal::traces;
  std::vector<std::string> receivers, processors, exporters;
};

// The running collector: every component built from one configuration and wired into
// pipelines. Owns the components; the wiring is data (consumers and fan-outs), not
// inheritance. start() starts exporters, then processors, then receivers; shutdown() stops
// receivers first and exporters last, so everything in flight drains downstream.
class Service {
 public:
  // Validates the whole configuration and builds (does not start) the components. Every
  // problem is recorded in *errors with its path; returns nullptr if there was any.
  // `telemetry` is the process's self-telemetry, handed to every component.
  static std::unique_ptr<Service> build(const YAML::Node& root, const Factories& factories,
                                        std::shared_ptr<spdlog::sinks::sink> log_sink,
                                        std::shared_ptr<SelfTelemetry> telemetry, ConfigErrors* errors);
  ~Service();

  bool start(std::string* error);
  void shutdown() noexcept;  // idempotent; safe without start()

  // The log level requested by service::telemetry::logs::level.
  spdlog::level::level_enum log_level() const { return log_level_; }

 private:
  Service() = default;

  spdlog::level::level_enum log_level_ = spdlog::level::info;
  // Started first and stopped last, so that a probe or a scrape sees the pipelines start and stop.
  std::vector<std::unique_ptr<MetricsServer>> metrics_servers_;
  std::vector<std::unique_ptr<Extension>> extensions_;
  std::vector<std::unique_ptr<Exporter>> exporters_;
  std::vector<std::unique_ptr<Processor>> processors_;  // upstream first within each pipeline
  std::vector<std::unique_ptr<FanoutConsumer>> fanouts_;
  std::vector<std::unique_ptr<Receiver>> receivers_;
  std::vector<Component*> started_;
  std::size_t metrics_servers_started_ = 0;
  bool stopped_ = false;
};

}  // namespace otlpd
