#pragma once

#include <cassert>
#include <concepts>
#include <memory>
#include <optional>

#include "pipeline/component.h"

namespace otlpd {

// A component's configuration: a ComponentConfig that checks itself (see ComponentConfig).
template <class Config>
concept ValidatedConfig = std::derived_from<Config, ComponentConfig> && std::movable<Config> &&
                          requires(const Config& config) {
                            { config.validate() } -> std::same_as<ConfigProblems>;
                          };

namespace detail {

// parse_config() of every typed factory: read, then check, as otelcol unmarshals a
// configuration and then calls its Validate(). validate()'s problems are recorded under the
// component's path, like the errors found while reading.
template <ValidatedConfig Config, class Parse>
std::unique_ptr<ComponentConfig> parse_and_validate(ConfigNode& node, Parse&& parse) {
  auto config = std::make_unique<Config>(parse(node));
  node.report(config->validate());
  return config;
}

// The one downcast of a component's configuration. It is safe because a factory is only ever
// handed the configuration that its own parse_config() returned: the Service keeps each
// parsed configuration beside the factory that parsed it and gives it back to that factory
// (create(), implied_extension()), and parse_config() of a TypedXFactory<Config> returns a
// Config. A test that builds a configuration in code calls the typed hooks instead.
template <ValidatedConfig Config>
const Config& config_of(const ComponentConfig& config) {
  assert(dynamic_cast<const Config*>(&config) != nullptr);
  return static_cast<const Config&>(config);
}

}  // namespace detail

// Typed factory bases: a factory names its Config type and implements
//   Config parse(ConfigNode& node) const   reads the YAML (types, defaults, unknown keys:
//                                          it calls node.finish()), and checks nothing more;
//   make(settings, const Config&, ...)     builds the component;
// parse_config() (parse, then Config::validate()) and create() are implemented here once.
template <ValidatedConfig Config>
class TypedExporterFactory : public ExporterFactory {
 public:
  using ConfigType = Config;

  virtual Config parse(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Exporter> make(const CreateSettings& settings, const Config& config) const = 0;
  // The extension that this exporter's configuration implies (see ImpliedExtension); none by default.
  virtual std::optional<ImpliedExtension> implies(const ComponentId& /*id*/, const Config& /*config*/) const {
    return std::nullopt;
  }

  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const final {
    return detail::parse_and_validate<Config>(node, [this](ConfigNode& n) { return parse(n); });
  }
  std::unique_ptr<Exporter> create(const CreateSettings& settings, const ComponentConfig& config) const final {
    return make(settings, detail::config_of<Config>(config));
  }
  std::optional<ImpliedExtension> implied_extension(const ComponentId& id,
                                                    const ComponentConfig& config) const final {
    return implies(id, detail::config_of<Config>(config));
  }
};

template <ValidatedConfig Config>
class TypedReceiverFactory : public ReceiverFactory {
 public:
  using ConfigType = Config;

  virtual Config parse(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Receiver> make(const CreateSettings& settings, const Config& config,
                                         const SignalConsumers& consumers) const = 0;

  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const final {
    return detail::parse_and_validate<Config>(node, [this](ConfigNode& n) { return parse(n); });
  }
  std::unique_ptr<Receiver> create(const CreateSettings& settings, const ComponentConfig& config,
                                   const SignalConsumers& consumers) const final {
    return make(settings, detail::config_of<Config>(config), consumers);
  }
};

template <ValidatedConfig Config>
class TypedProcessorFactory : public ProcessorFactory {
 public:
  using ConfigType = Config;

  virtual Config parse(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Processor> make(const CreateSettings& settings, const Config& config,
                                          Consumer& next) const = 0;

  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const final {
    return detail::parse_and_validate<Config>(node, [this](ConfigNode& n) { return parse(n); });
  }
  std::unique_ptr<Processor> create(const CreateSettings& settings, const ComponentConfig& config,
                                    Consumer& next) const final {
    return make(settings, detail::config_of<Config>(config), next);
  }
};

template <ValidatedConfig Config>
class TypedExtensionFactory : public ExtensionFactory {
 public:
  using ConfigType = Config;

  virtual Config parse(ConfigNode& node) const = 0;
  virtual std::unique_ptr<Extension> make(const CreateSettings& settings, const Config& config) const = 0;

  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const final {
    return detail::parse_and_validate<Config>(node, [this](ConfigNode& n) { return parse(n); });
  }
  std::unique_ptr<Extension> create(const CreateSettings& settings, const ComponentConfig& config) const final {
    return make(settings, detail::config_of<Config>(config));
  }
};

}  // namespace otlpd
