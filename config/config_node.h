#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace otlpd {

// Every problem found in a configuration, each prefixed by the exact path of the key, in
// otelcol's notation: "exporters::file::rotation::max_megabytes: must be > 0".
class ConfigErrors {
 public:
  void add(std::string path, std::string message);
  bool empty() const { return errors_.empty(); }
  const std::vector<std::string>& all() const { return errors_; }
  std::string joined() const;  // one error per line

 private:
  std::vector<std::string> errors_;
};

// What a configuration's validate() found wrong: each problem with the key it concerns, relative
// to the mapping the configuration was read from and joined with "::" ("rotation::max_megabytes";
// "" for the mapping itself), and the message. validate() checks meaning (required values,
// ranges, rules between keys); YAML types are checked by ConfigNode's getters while reading.
struct ConfigProblem {
  std::string key;
  std::string message;
  bool operator==(const ConfigProblem&) const = default;
};
using ConfigProblems = std::vector<ConfigProblem>;

// Appends a nested configuration's problems to `out`, with "prefix::" before each key (the
// problem of the nested mapping itself, key "", becomes `prefix`). With an empty prefix (options
// read from the owner's own mapping, such as an exporter's network options) keys stay as they are.
void add_nested(ConfigProblems& out, std::string_view prefix, ConfigProblems nested);

// A typed, path-aware view of one YAML mapping. Readers ask for the keys they know; what
// they never asked for is reported by finish() as an unknown key, with the known ones listed.
// Wrong types and out-of-range values are recorded in the shared ConfigErrors, and the
// getter returns the default so that parsing continues and every error is reported at once.
class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string path, ConfigErrors* errors);

  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const;
  bool is_null() const { return !node_ || node_.IsNull(); }
  bool has(std::string_view key) const;
  ConfigErrors& errors() const { return *errors_; }
  void error(std::string_view key, std::string message) const;
  // Records each of validate()'s problems with node.error(key, message).
  void report(const ConfigProblems& problems) const;

  std::string get_string(std::string_view key, std::string fallback);
  std::int64_t get_int(std::string_view key, std::int64_t fallback);
  double get_double(std::string_view key, double fallback);
  bool get_bool(std::string_view key, bool fallback);
  std::chrono::milliseconds get_duration(std::string_view key, std::chrono::milliseconds fallback);
  std::vector<std::string> get_string_list(std::string_view key);
  std::map<std::string, std::string> get_string_map(std::string_view key);
  // One of a fixed set of words; anything else is an error that lists the choices.
  std::string get_enum(std::string_view key, std::string fallback,
                       const std::vector<std::string>& choices);
  // A nested mapping (null/absent gives an empty node that still reports its path).
  ConfigNode child(std::string_view key);
  // The raw YAML at `key` (a list, say), marking the key as known; nullopt when absent or null.
  std::optional<YAML::Node> get_yaml(std::string_view key) { return lookup(key); }
  // The keys of this mapping, in document order.
  std::vector<std::string> keys() const;

  // Reports every key present but never read. Call once, after reading.
  void finish();

  // The YAML this node reads (for components that hand their options on to another parser).
  const YAML::Node& yaml() const { return node_; }

 private:
  // The value at `key`, marking the key as known; nullopt when absent or null.
  std::optional<YAML::Node> lookup(std::string_view key);

  YAML::Node node_;
  std::string path_;
  ConfigErrors* errors_;
  std::set<std::string, std::less<>> known_;
};

// Parses a Go-style duration ("200ms", "1m30s", "5s"); nullopt if malformed.
std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace otlpd
