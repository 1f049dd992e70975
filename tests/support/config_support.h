#pragma once

// Helpers for the component configuration tests: parse YAML with a component's factory exactly
// as the Service does (the factory's parse(), then the config's validate()), and print problems.

#include <ostream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/config_node.h"
#include "pipeline/component.h"

namespace otlpd {

inline std::ostream& operator<<(std::ostream& out, const ConfigProblem& p) {
  return out << "{\"" << p.key << "\", \"" << p.message << "\"}";
}

template <class Factory>
struct Parsed {
  typename Factory::ConfigType config;
  std::vector<std::string> errors;  // "path::key: message", as the Service reports them
};

// Parses `yaml` as the configuration of a component at `path` ("exporters::file").
template <class Factory>
Parsed<Factory> parse_with(const Factory& factory, const std::string& yaml, const std::string& path) {
  ConfigErrors errors;
  ConfigNode node(YAML::Load(yaml), path, &errors);
  std::unique_ptr<ComponentConfig> config = factory.parse_config(node);
  // dynamic_cast: the test also checks that parse_config() returns the factory's own type.
  return {dynamic_cast<const typename Factory::ConfigType&>(*config), errors.all()};
}

}  // namespace otlpd
