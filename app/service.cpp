#include "app/service.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

namespace otlpd {
namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::shared_ptr<spdlog::sinks::sink>& sink,
                                            spdlog::level::level_enum level,
                                            std::string_view kind, const ComponentId& id) {
  auto logger = std::make_shared<spdlog::logger>(fmt::format("{} {}", kind, id.str()), sink);
  logger->set_level(level);
  return logger;
}

// Settings for one component: its logger, the process's self-telemetry and a status of its own.
CreateSettings make_settings(const ComponentId& id, std::string_view kind, const std::shared_ptr<spdlog::sinks::sink>& sink,
                             spdlog::level::level_enum level, const std::shared_ptr<SelfTelemetry>& telemetry,
                             const std::shared_ptr<Host>& host, std::vector<Signal> signals = {}) {
  CreateSettings settings{id, make_logger(sink, level, kind, id), std::move(signals)};
  settings.telemetry = telemetry;
  settings.host = host;
  settings.status = telemetry->status.add(fmt::format("{} {}", kind, id.str()));
  return settings;
}

}  // namespace

std::unique_ptr<Service> Service::build(const YAML::Node& yaml, const Factories& factories,
                                        std::shared_ptr<spdlog::sinks::sink> log_sink,
                                        std::shared_ptr<SelfTelemetry> telemetry, ConfigErrors* errors) {
  std::optional<ServiceGraph> graph = ServiceGraph::from_config(yaml, factories, errors);
  if (!graph) return nullptr;
  return create(std::move(*graph), std::move(log_sink), std::move(telemetry));
}

std::unique_ptr<Service> Service::create(ServiceGraph graph, std::shared_ptr<spdlog::sinks::sink> log_sink,
                                         std::shared_ptr<SelfTelemetry> telemetry, Service* previous) {
  std::unique_ptr<Service> service(new Service());
  service->graph_ = std::move(graph);
  const ServiceGraph& g = service->graph_;
  const spdlog::level::level_enum level = g.log_level;
  const auto host = service->host_ = std::make_shared<Host>();  // what this service's components share

  const std::shared_ptr<const MetricsRegistry> registry(telemetry, &telemetry->metrics);
  for (const auto& reader : g.metrics.readers) {
    auto logger = std::make_shared<spdlog::logger>("service::telemetry::metrics", log_sink);
    logger->set_level(level);
    service->metrics_servers_.push_back(
        std::make_unique<MetricsServer>(reader.endpoint, g.metrics.level, reader.format, registry, logger));
  }
  for (const auto& key : g.run_extensions) {
    const auto& c = g.extensions.at(key);
    service->extensions_.push_back(
        c.factory->create(make_settings(c.id, "extension", log_sink, level, telemetry, host), *c.config));
  }

  // Exporters: one instance per id, shared by every pipeline that names it.
  std::map<std::string, Exporter*> exporter_by_id;
  for (const auto& [key, c] : g.exporters) {
    if (!g.uses_exporter(key)) continue;
    if (previous && g.same_exporter(previous->graph_, key)) {
      if (std::unique_ptr<Exporter> kept = previous->release_exporter(key)) {
        host->copy_from(*previous->host_, key);
        service->adopted_.push_back(kept.get());
        service->exporter_ids_.push_back(key);
        service->exporters_.push_back(std::move(kept));
        exporter_by_id[key] = service->exporters_.back().get();
        continue;
      }
    }
    CreateSettings settings =
        make_settings(c.id, "exporter", log_sink, level, telemetry, host, g.exporter_signals(key));
    service->exporters_.push_back(c.factory->create(settings, *c.config));
    service->exporter_ids_.push_back(key);
    exporter_by_id[key] = service->exporters_.back().get();
  }

  // Pipelines: processors in order, ending in a fan-out to the exporters.
  std::map<std::string, std::array<std::vector<Consumer*>, 3>> receiver_targets;
  for (const auto& p : g.pipelines) {
    std::vector<Consumer*> targets;
    for (const auto& e : p.exporters) targets.push_back(exporter_by_id.at(e));
    Consumer* next;
    if (targets.size() == 1) {
      next = targets.front();
    } else {
      service->fanouts_.push_back(std::make_unique<FanoutConsumer>(targets));
      next = service->fanouts_.back().get();
    }
    for (auto it = p.processors.rbegin(); it != p.processors.rend(); ++it) {
      const auto& c = g.processors.at(*it);
      CreateSettings settings = make_settings(c.id, "processor", log_sink, level, telemetry, host, {p.signal});
      service->processors_.push_back(c.factory->create(settings, *c.config, *next));
      next = service->processors_.back().get();
    }
    for (const auto& r : p.receivers) {
      receiver_targets[r][static_cast<std::size_t>(p.signal)].push_back(next);
    }
  }

  // Receivers: one instance per id; per signal, a fan-out over the pipelines naming it.
  for (auto& [key, targets] : receiver_targets) {
    const auto& c = g.receivers.at(key);
    SignalConsumers consumers{};
    CreateSettings settings = make_settings(c.id, "receiver", log_sink, level, telemetry, host);
    for (Signal s : kAllSignals) {
      auto& list = targets[static_cast<std::size_t>(s)];
      if (list.empty()) continue;
      settings.signals.push_back(s);
      if (list.size() == 1) {
        consumers[static_cast<std::size_t>(s)] = list.front();
      } else {
        service->fanouts_.push_back(std::make_unique<FanoutConsumer>(list));
        consumers[static_cast<std::size_t>(s)] = service->fanouts_.back().get();
      }
    }
    service->receivers_.push_back(c.factory->create(settings, *c.config, consumers));
  }
  return service;
}

Service::~Service() { shutdown(); }

std::unique_ptr<Exporter> Service::release_exporter(const std::string& id) {
  for (std::size_t i = 0; i < exporters_.size(); ++i) {
    if (exporter_ids_[i] != id || !exporters_[i]) continue;
    Component* component = exporters_[i].get();
    // Only a running exporter is taken over (one that never started is left to stop here).
    const auto it = std::find(started_.begin(), started_.end(), component);
    if (it == started_.end()) return nullptr;
    started_.erase(it);
    std::unique_ptr<Exporter> out = std::move(exporters_[i]);
    return out;
  }
  return nullptr;
}

std::vector<std::string> Service::adopted_exporters() const {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < exporters_.size(); ++i) {
    if (std::find(adopted_.begin(), adopted_.end(), exporters_[i].get()) != adopted_.end()) ids.push_back(exporter_ids_[i]);
  }
  return ids;
}

bool Service::start(std::string* error) {
  auto start_all = [&](auto& components) {
    for (auto& c : components) {
      if (!c) continue;  // taken over by the next service
      const bool adopted = std::find(adopted_.begin(), adopted_.end(), c.get()) != adopted_.end();
      if (!adopted && !c->start(error)) return false;
      started_.push_back(c.get());
    }
    return true;
  };
  for (auto& server : metrics_servers_) {
    if (!server->start(error)) {
      *error += " (service::telemetry::metrics)";
      shutdown();
      return false;
    }
    ++metrics_servers_started_;
  }
  // Extensions, then downstream first: exporters, then processors (downstream-most first), then receivers.
  if (start_all(extensions_) && start_all(exporters_) && start_all(processors_) && start_all(receivers_)) {
    for (auto& extension : extensions_) extension->pipelines_ready();
    return true;
  }
  shutdown();
  return false;
}

void Service::shutdown() noexcept {
  if (stopped_) return;
  stopped_ = true;
  // First, nothing may keep waiting for room in an exporter's queue: a receiver or a batch
  // blocked there (block_on_overflow) would hold shutdown forever.
  for (auto& exporter : exporters_) {
    if (exporter) exporter->stop_waiting();
  }
  // Upstream first, in reverse start order: receivers, processors, exporters.
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) (*it)->shutdown();
  started_.clear();
  for (std::size_t i = metrics_servers_started_; i-- > 0;) metrics_servers_[i]->shutdown();
  metrics_servers_started_ = 0;
}

}  // namespace otlpd
