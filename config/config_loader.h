#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace otlpd {

// Looks up an environment variable; nullopt when unset. Injected so tests need not
// touch the process environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup process_environment();

// Where the configuration comes from, in otelcol's habits: files given with --config
// (later ones deep-merged over earlier ones), then --set overrides, in order.
struct ConfigSources {
  std::vector<std::string> files;          // paths; "yaml:<inline>" is inline YAML
  std::vector<std::string> set_overrides;  // "processors::batch::timeout=2s" (or a.b.c=v)
};

// Loads, merges and expands the configuration. On failure returns nullopt and sets *error
// to a message naming the file and the problem.
std::optional<YAML::Node> load_config(const ConfigSources& sources, const EnvLookup& env,
                                      std::string* error);

// Parses YAML text (used for the embedded default and for tests).
std::optional<YAML::Node> parse_yaml(std::string_view text, std::string_view origin,
                                     std::string* error);

// Replaces ${env:VAR}, ${VAR} and ${env:VAR:-default} in every scalar; $$ is a literal $.
// A scalar that is exactly one reference takes the variable's value parsed as YAML (so
// "${env:PORT}" can become an integer); references inside longer strings are spliced in
// as text. On an unknown scheme or unterminated reference, sets *error and returns false.
bool expand_env(YAML::Node& node, const EnvLookup& env, std::string* error);

// Deep-merges `overlay` into `base`: mappings merge key by key, anything else replaces.
void merge_into(YAML::Node& base, const YAML::Node& overlay);

}  // namespace otlpd
