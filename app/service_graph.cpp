#include "app/service_graph.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace otlpd {
namespace {

template <typename Factory>
const Factory* find_factory(const std::vector<std::unique_ptr<Factory>>& factories,
                            std::string_view type) {
  for (const auto& f : factories) {
    if (f->type() == type) return f.get();
    for (auto alias : f->aliases()) {
      if (alias == type) return f.get();
    }
  }
  return nullptr;
}

template <typename Factory>
std::string known_types(const std::vector<std::unique_ptr<Factory>>& factories) {
  std::vector<std::string> names;
  for (const auto& f : factories) {
    names.emplace_back(f->type());
    for (auto alias : f->aliases()) names.emplace_back(alias);
  }
  return names.empty() ? "none yet" : fmt::format("{}", fmt::join(names, ", "));
}

// Two factories of one kind under the same type or alias would make a config's meaning depend
// on the order of the list: an error, reported with the type.
template <typename Factory>
void check_unique_types(const std::vector<std::unique_ptr<Factory>>& factories, std::string_view kind,
                        ConfigErrors* errors) {
  std::set<std::string_view> seen;
  for (const auto& f : factories) {
    std::vector<std::string_view> names = f->aliases();
    names.push_back(f->type());
    for (std::string_view name : names) {
      if (!seen.insert(name).second) {
        errors->add("", fmt::format("two {} factories have the type '{}' (a build of otlpd lists it twice)", kind, name));
      }
    }
  }
}

// Parses a "receivers" / "processors" / "exporters" section.
template <typename Factory>
ServiceGraph::Components<Factory> parse_section(
    ConfigNode& root, std::string_view section, std::string_view kind,
    const std::vector<std::unique_ptr<Factory>>& factories) {
  ServiceGraph::Components<Factory> out;
  ConfigNode node = root.child(section);
  for (const std::string& key : node.keys()) {
    std::string error;
    auto id = ComponentId::parse(key, &error);
    ConfigNode component = node.child(key);
    if (!id) {
      component.error("", error);
      continue;
    }
    const Factory* factory = find_factory(factories, id->type);
    if (!factory) {
      component.error("", fmt::format("unknown {} type '{}' (known types: {})", kind, id->type,
                                      known_types(factories)));
      continue;
    }
    out[key] = ConfiguredComponent<Factory>{*id, factory, factory->parse_config(component),
                                            YAML::Dump(component.yaml())};
  }
  return out;
}

}  // namespace

std::optional<ServiceGraph> ServiceGraph::from_config(const YAML::Node& yaml, const Factories& factories,
                                                      ConfigErrors* errors) {
  check_unique_types(factories.receivers, "receiver", errors);
  check_unique_types(factories.processors, "processor", errors);
  check_unique_types(factories.exporters, "exporter", errors);
  check_unique_types(factories.extensions, "extension", errors);
  ConfigNode root(yaml, "", errors);

  ServiceGraph graph;
  auto& receivers = graph.receivers = parse_section(root, "receivers", "receiver", factories.receivers);
  auto& processors = graph.processors = parse_section(root, "processors", "processor", factories.processors);
  auto& exporters = graph.exporters = parse_section(root, "exporters", "exporter", factories.exporters);
  ConfigNode connectors = root.child("connectors");
  for (const auto& key : connectors.keys()) connectors.error(key, "connectors are not supported yet");
  auto& extensions = graph.extensions = parse_section(root, "extensions", "extension", factories.extensions);

  ConfigNode svc = root.child("service");
  const std::vector<std::string> service_extensions = svc.get_string_list("extensions");
  {
    std::set<std::string> seen;
    for (const std::string& ext : service_extensions) {
      if (!extensions.count(ext)) {
        svc.error("extensions", fmt::format("references extension '{}', which is not configured in extensions", ext));
      }
      if (!seen.insert(ext).second) svc.error("extensions", fmt::format("lists '{}' twice", ext));
    }
  }
  ConfigNode telemetry_node = svc.child("telemetry");
  ConfigNode logs = telemetry_node.child("logs");
  std::string level = logs.get_enum("level", "info",
                                    {"debug", "info", "warn", "error", "DEBUG", "INFO", "WARN", "ERROR"});
  for (auto& ch : level) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  graph.log_level = level == "debug"  ? spdlog::level::debug
                        : level == "warn" ? spdlog::level::warn
                        : level == "error" ? spdlog::level::err
                                           : spdlog::level::info;
  logs.finish();
  ConfigNode metrics_node = telemetry_node.child("metrics");
  graph.metrics = MetricsTelemetryConfig::parse(metrics_node);
  telemetry_node.finish();

  std::vector<PipelineConfig>& pipelines = graph.pipelines;
  ConfigNode pipelines_node = svc.child("pipelines");
  if (pipelines_node.keys().empty()) {
    svc.error("pipelines", "at least one pipeline is required (traces, metrics or logs)");
  }
  std::set<std::string>& used = graph.used_;
  for (const std::string& key : pipelines_node.keys()) {
    ConfigNode p = pipelines_node.child(key);
    PipelineConfig pipeline;
    pipeline.id = key;
    const std::string signal_name = key.substr(0, key.find('/'));
    const auto signal = signal_from_string(signal_name);
    if (!signal || (key.find('/') != std::string::npos && key.find('/') + 1 == key.size())) {
      p.error("", fmt::format("invalid pipeline id '{}' (must be traces, metrics or logs, "
                              "optionally followed by /name)", key));
      continue;
    }
    pipeline.signal = *signal;
    pipeline.receivers = p.get_string_list("receivers");
    pipeline.processors = p.get_string_list("processors");
    pipeline.exporters = p.get_string_list("exporters");
    p.finish();
    auto check = [&](const std::vector<std::string>& ids, std::string_view list, auto& configured,
                     std::string_view section) {
      std::set<std::string> seen;
      for (const auto& id : ids) {
        if (!configured.count(id)) {
          p.error(list, fmt::format("references {} '{}', which is not configured in {}",
                                    section.substr(0, section.size() - 1), id, section));
        }
        if (!seen.insert(id).second) p.error(list, fmt::format("lists '{}' twice", id));
        used.insert(std::string(section) + "::" + id);
      }
    };
    check(pipeline.receivers, "receivers", receivers, "receivers");
    check(pipeline.processors, "processors", processors, "processors");
    check(pipeline.exporters, "exporters", exporters, "exporters");
    for (const auto& id : pipeline.exporters) {
      if (auto it = exporters.find(id); it != exporters.end() && !it->second.factory->supports(pipeline.signal)) {
        p.error("exporters", fmt::format("exporter '{}' cannot export {} (it exports traces only)", id,
                                         to_string(pipeline.signal)));
      }
    }
    if (pipeline.receivers.empty()) p.error("receivers", "a pipeline needs at least one receiver");
    if (pipeline.exporters.empty()) p.error("exporters", "a pipeline needs at least one exporter");
    pipelines.push_back(std::move(pipeline));
  }
  // Extensions implied by an exporter's configuration, when service::extensions lists none of
  // their type: trace_store's older form, which served its own viewer, implies jaeger_query.
  std::vector<std::string>& run_extensions = graph.run_extensions = service_extensions;
  for (const auto& [key, c] : exporters) {
    if (!used.count("exporters::" + key)) continue;
    std::optional<ImpliedExtension> implied = c.factory->implied_extension(c.id, *c.config);
    if (!implied) continue;
    const bool listed = std::any_of(service_extensions.begin(), service_extensions.end(), [&](const std::string& e) {
      const auto it = extensions.find(e);
      return it != extensions.end() && it->second.factory->type() == implied->type;
    });
    const ExtensionFactory* factory = find_factory(factories.extensions, implied->type);
    if (listed || !factory) continue;
    ConfigNode node(implied->config, "exporters::" + key, errors);
    const ComponentId id{implied->type, c.id.str()};
    extensions[id.str()] =
        ConfiguredComponent<ExtensionFactory>{id, factory, factory->parse_config(node), YAML::Dump(implied->config)};
    run_extensions.push_back(id.str());
    spdlog::info("exporters::{} implies the extension {} (service::extensions lists no {}); to configure it, "
                 "write {} and list it in service::extensions",
                 key, id.str(), implied->type, implied->how_to_write_it);
  }
  // A persistent sending queue needs its storage extension running (otelcol finds out at start).
  for (auto& [key, c] : exporters) {
    const YAML::Node source = YAML::Load(c.source);
    if (!source.IsMap()) continue;
    const YAML::Node queue = source["sending_queue"];
    if (!queue || !queue.IsMap()) continue;
    const YAML::Node storage = queue["storage"];
    if (!storage || !storage.IsScalar()) continue;
    c.storage = storage.as<std::string>();
    if (!used.count("exporters::" + key)) continue;
    const auto ext = extensions.find(c.storage);
    if (std::find(run_extensions.begin(), run_extensions.end(), c.storage) == run_extensions.end()) {
      errors->add("exporters::" + key + "::sending_queue::storage",
                  fmt::format("extension '{}' is not {}", c.storage,
                              ext == extensions.end() ? "configured in extensions" : "listed in service::extensions"));
    } else if (ext->second.factory->type() != "file_storage") {
      errors->add("exporters::" + key + "::sending_queue::storage",
                  fmt::format("extension '{}' is not a storage extension (file_storage)", c.storage));
    }
  }
  // A batch processor acknowledges what it holds before a persistent queue has stored it.
  for (const auto& p : pipelines) {
    for (const auto& e : p.exporters) {
      const auto exporter = exporters.find(e);
      if (exporter == exporters.end() || exporter->second.storage.empty()) continue;
      for (const auto& id : p.processors) {
        const auto processor = processors.find(id);
        if (processor == processors.end() || processor->second.factory->type() != "batch") continue;
        spdlog::warn("pipeline {}: processor {} holds acknowledged data in memory before exporter {} stores it in its "
                     "persistent queue; a crash loses what the batch holds (up to its timeout's worth). For "
                     "durability, leave batch out of pipelines whose exporters have sending_queue::storage",
                     p.id, id, e);
      }
    }
  }
  svc.finish();
  root.finish();
  if (!errors->empty()) return std::nullopt;

  auto unused = [&](const auto& configured, std::string_view section) {
    for (const auto& [key, c] : configured) {
      if (!used.count(std::string(section) + "::" + key)) {
        spdlog::warn("{}::{} is configured but not used in any pipeline", section, key);
      }
    }
  };
  unused(receivers, "receivers");
  unused(processors, "processors");
  unused(exporters, "exporters");
  for (const auto& [key, c] : extensions) {
    if (std::find(run_extensions.begin(), run_extensions.end(), key) == run_extensions.end()) {
      spdlog::warn("extensions::{} is configured but not listed in service::extensions, so it does not run", key);
    }
  }

  return graph;
}

std::vector<Signal> ServiceGraph::exporter_signals(const std::string& id) const {
  std::vector<Signal> signals;
  for (const auto& p : pipelines) {
    for (const auto& e : p.exporters) {
      if (e == id) signals.push_back(p.signal);
    }
  }
  return signals;
}

bool ServiceGraph::same_exporter(const ServiceGraph& other, const std::string& id) const {
  const auto mine = exporters.find(id), theirs = other.exporters.find(id);
  if (mine == exporters.end() || theirs == other.exporters.end() || !uses_exporter(id) || !other.uses_exporter(id)) {
    return false;
  }
  const auto& a = mine->second;
  const auto& b = theirs->second;
  if (a.factory != b.factory || a.source != b.source) return false;
  auto signal_set = [](std::vector<Signal> s) {
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    return s;
  };
  if (signal_set(exporter_signals(id)) != signal_set(other.exporter_signals(id))) return false;
  if (a.storage.empty()) return true;
  const auto sa = extensions.find(a.storage), sb = other.extensions.find(b.storage);
  return sa != extensions.end() && sb != other.extensions.end() && sa->second.source == sb->second.source;
}

}  // namespace otlpd
