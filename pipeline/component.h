#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>

#include "config/config_node.h"
#include "pipeline/host.h"
#include "pipeline/consumer.h"
#include "otlp/signal.h"
#include "selftelemetry/self_telemetry.h"

namespace otlpd {

// A component id, "type[/name]" as in the OpenTelemetry Collector ("otlp/elastic").
struct ComponentId {
  std::string type;
  std::string name;

  std::string str() const { return name.empty() ? type : type + "/" + name; }
  // Validates the type against ^[a-zA-Z][0-9a-zA-Z_]{0,62}$ and the name as non-empty.
  static std::optional<ComponentId> parse(std::string_view text, std::string* error);
  bool operator==(const ComponentId&) const = default;
};

// Lifecycle shared by receivers, processors and exporters.
// start() is called once, downstream components first; shutdown() stops accepting work,
// drains what is in flight and joins every thread the component started. shutdown() is
// idempotent and safe to call without (or after a failed) start().
class Component {
 public:
  virtual ~Component() = default;
  virtual bool start(std::string* error) = 0;
  virtual void shutdown() noexcept = 0;
};

// An exporter accepts batches of any signal it was configured for.
class Exporter : public Component, public Consumer {
 public:
  // The service is about to stop: whatever waits in consume() for room in a queue
  // (block_on_overflow) stops waiting and is refused as retryable, and so is what would wait
  // from now on. Called before any component stops, so that receivers and processors blocked
  // in consume() return and can stop (otherwise shutdown waits for room that may never come).
  virtual void stop_waiting() noexcept {}
};

class Receiver : public Component {};

// Per-signal entry points a receiver hands its data to; nullptr where no pipeline of that
// signal names the receiver (the receiver then refuses that signal as unimplemented).
using SignalConsumers = std::array<Consumer*, 3>;

inline Consumer* consumer_for(const SignalConsumers& consumers, Signal signal) {
  return consumers[static_cast<std::size_t>(signal)];
}

// Parsed configuration of one component. Each factory defines its own struct, with
//   ConfigProblems validate() const;
// which checks what reading cannot: required values, ranges, rules between keys (min <= max,
// options that exclude each other). It returns every problem with the key it concerns, relative
// to the component's mapping ("sending_queue::queue_size"), and the message (ConfigProblem in
// config/config_node.h); a shared sub-configuration has its own validate(), which its owner's
// calls (add_nested). Reading (the factory's parse()) only checks YAML types and unknown keys.
// The typed factory bases (pipeline/typed_factory.h) call validate() after parse() and record
// its problems with the component's path; a configuration built in code can call it directly.
struct ComponentConfig {
  virtual ~ComponentConfig() = default;
};

struct CreateSettings {
  ComponentId id;
  std::shared_ptr<spdlog::logger> logger;
  std::vector<Signal> signals;  // the signals of the pipelines that use this component
  // The process's self-telemetry (kept across reloads); tests may leave the fresh default.
  std::shared_ptr<SelfTelemetry> telemetry = std::make_shared<SelfTelemetry>();
  // This component's status, listed by health_check while the component holds it.
  std::shared_ptr<ComponentStatus> status = std::make_shared<ComponentStatus>("");
  // What the components of this service share (one per service; tests may leave their own).
  std::shared_ptr<Host> host = std::make_shared<Host>();
};

// An extension that an exporter's configuration implies when service::extensions lists none of
// its type: a compatibility form (trace_store, which served its own viewer, implies jaeger_query).
struct ImpliedExtension {
  std::string type;
  YAML::Node config;
  std::string how_to_write_it;  // for the log: the configuration that would say it outright
};

// Factories: one per component type, listed explicitly in main. parse_config() reads the
// component's YAML (absent keys take otelcol's defaults), validates it and records every
// problem in node.errors() with its path; create() builds an instance from a config that
// parsed without errors. Every factory of otlpd derives from a typed base of
// pipeline/typed_factory.h (TypedExporterFactory<Config>, ...), which implements these once.
class ExporterFactory {
 public:
  virtual ~ExporterFactory() = default;
  virtual std::string_view type() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }
  // Signals this exporter can export; a pipeline of another signal naming it is a config error.
  virtual bool supports(Signal) const { return true; }
  virtual std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Exporter> create(const CreateSettings& settings,
                                           const ComponentConfig& config) const = 0;
  virtual std::optional<ImpliedExtension> implied_extension(const ComponentId& /*id*/,
                                                            const ComponentConfig& /*config*/) const {
    return std::nullopt;
  }
};

class ReceiverFactory {
 public:
  virtual ~ReceiverFactory() = default;
  virtual std::string_view type() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }
  virtual std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Receiver> create(const CreateSettings& settings,
                                           const ComponentConfig& config,
                                           const SignalConsumers& consumers) const = 0;
};

// A processor sits in one pipeline and forwards to `next`.
class Processor : public Component, public Consumer {};

class ProcessorFactory {
 public:
  virtual ~ProcessorFactory() = default;
  virtual std::string_view type() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }
  virtual std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Processor> create(const CreateSettings& settings,
                                            const ComponentConfig& config, Consumer& next) const = 0;
};

// An extension serves the collector rather than a pipeline (health_check). Extensions
// listed in service::extensions start before every pipeline and stop after them.
class Extension : public Component {
 public:
  // Every component of the service has started (otelcol's PipelineWatcher.Ready).
  virtual void pipelines_ready() noexcept {}
};

class ExtensionFactory {
 public:
  virtual ~ExtensionFactory() = default;
  virtual std::string_view type() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }
  virtual std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Extension> create(const CreateSettings& settings, const ComponentConfig& config) const = 0;
};

// The explicit list of every factory otlpd knows, built in main (no static registration).
struct Factories {
  std::vector<std::unique_ptr<ReceiverFactory>> receivers;
  std::vector<std::unique_ptr<ProcessorFactory>> processors;
  std::vector<std::unique_ptr<ExporterFactory>> exporters;
  std::vector<std::unique_ptr<ExtensionFactory>> extensions;
};

}  // namespace otlpd
