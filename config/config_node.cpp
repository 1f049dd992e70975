#include "config/config_node.h"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cmath>

namespace otlpd {

void ConfigErrors::add(std::string path, std::string message) {
  errors_.push_back(path.empty() ? std::move(message) : fmt::format("{}: {}", path, message));
}

std::string ConfigErrors::joined() const { return fmt::format("{}", fmt::join(errors_, "\n")); }

ConfigNode::ConfigNode(YAML::Node node, std::string path, ConfigErrors* errors)
    : node_(std::move(node)), path_(std::move(path)), errors_(errors) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    errors_->add(path_, "must be a mapping of keys to values");
    node_ = YAML::Node(YAML::NodeType::Null);
  }
}

std::string ConfigNode::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}::{}", path_, key);
}

bool ConfigNode::has(std::string_view key) const {
  if (is_null()) return false;
  const YAML::Node& map = node_;
  YAML::Node v = map[std::string(key)];
  return v.IsDefined() && !v.IsNull();
}

void ConfigNode::error(std::string_view key, std::string message) const {
  errors_->add(key.empty() ? path_ : path_of(key), std::move(message));
}

void ConfigNode::report(const ConfigProblems& problems) const {
  for (const ConfigProblem& p : problems) error(p.key, p.message);
}

void add_nested(ConfigProblems& out, std::string_view prefix, ConfigProblems nested) {
  for (ConfigProblem& p : nested) {
    if (!prefix.empty()) p.key = p.key.empty() ? std::string(prefix) : fmt::format("{}::{}", prefix, p.key);
    out.push_back(std::move(p));
  }
}

std::optional<YAML::Node> ConfigNode::lookup(std::string_view key) {
  known_.emplace(key);
  if (is_null()) return std::nullopt;
  const YAML::Node& map = node_;  // const lookup: never inserts the key
  YAML::Node v = map[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return v;
}

std::string ConfigNode::get_string(std::string_view key, std::string fallback) {
  auto v = lookup(key);
  if (!v) return fallback;
  if (!v->IsScalar()) {
    error(key, "must be a string");
    return fallback;
  }
  return v->Scalar();
}

std::int64_t ConfigNode::get_int(std::string_view key, std::int64_t fallback) {
  auto v = lookup(key);
  if (!v) return fallback;
  std::int64_t out;
  if (!v->IsScalar() || !YAML::convert<std::int64_t>::decode(*v, out)) {
    error(key, fmt::format("must be an integer, got '{}'", v->IsScalar() ? v->Scalar() : "a non-scalar"));
    return fallback;
  }
  return out;
}

double ConfigNode::get_double(std::string_view key, double fallback) {
  auto v = lookup(key);
  if (!v) return fallback;
  double out;
  if (!v->IsScalar() || !YAML::convert<double>::decode(*v, out) || !std::isfinite(out)) {
    error(key, "must be a number");
    return fallback;
  }
  return out;
}

bool ConfigNode::get_bool(std::string_view key, bool fallback) {
  auto v = lookup(key);
  if (!v) return fallback;
  bool out;
  if (!v->IsScalar() || !YAML::convert<bool>::decode(*v, out)) {
    error(key, "must be true or false");
    return fallback;
  }
  return out;
}

std::chrono::milliseconds ConfigNode::get_duration(std::string_view key,
                                                   std::chrono::milliseconds fallback) {
  auto v = lookup(key);
  if (!v) return fallback;
  std::optional<std::chrono::nanoseconds> d;
  if (v->IsScalar()) d = parse_duration(v->Scalar());
  if (!d) {
    error(key, fmt::format("must be a duration such as 200ms, 5s or 1m30s, got '{}'",
                           v->IsScalar() ? v->Scalar() : "a non-scalar"));
    return fallback;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

std::vector<std::string> ConfigNode::get_string_list(std::string_view key) {
  auto found = lookup(key);
  std::vector<std::string> out;
  if (!found) return out;
  const YAML::Node& v = *found;
  if (!v.IsSequence()) {
    error(key, "must be a list");
    return out;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].IsScalar()) {
      errors_->add(fmt::format("{}[{}]", path_of(key), i), "must be a string");
      continue;
    }
    out.push_back(v[i].Scalar());
  }
  return out;
}

std::map<std::string, std::string> ConfigNode::get_string_map(std::string_view key) {
  auto found = lookup(key);
  std::map<std::string, std::string> out;
  if (!found) return out;
  const YAML::Node& v = *found;
  if (!v.IsMap()) {
    error(key, "must be a mapping");
    return out;
  }
  for (const auto& kv : v) {
    const std::string k = kv.first.Scalar();
    if (!kv.second.IsScalar()) {
      errors_->add(fmt::format("{}::{}", path_of(key), k), "must be a string");
      continue;
    }
    out[k] = kv.second.Scalar();
  }
  return out;
}

std::string ConfigNode::get_enum(std::string_view key, std::string fallback,
                                 const std::vector<std::string>& choices) {
  std::string value = get_string(key, fallback);
  for (const auto& c : choices) {
    if (c == value) return value;
  }
  error(key, fmt::format("'{}' is not one of: {}", value, fmt::join(choices, ", ")));
  return fallback;
}

ConfigNode ConfigNode::child(std::string_view key) {
  auto v = lookup(key);
  return ConfigNode(v ? *v : YAML::Node(YAML::NodeType::Null), path_of(key), errors_);
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  if (is_null()) return out;
  for (const auto& kv : node_) out.push_back(kv.first.Scalar());
  return out;
}

void ConfigNode::finish() {
  if (is_null()) return;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (known_.count(key)) continue;
    if (known_.empty()) {
      error(key, "unknown key (this component takes no options)");
    } else {
      error(key, fmt::format("unknown key (known keys: {})", fmt::join(known_, ", ")));
    }
  }
}

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  if (text == "0") return nanoseconds(0);
  if (text.empty()) return std::nullopt;
  long double total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    double parsed = 0;
    const char* first = text.data() + start;
    const char* last = text.data() + i;
    if (const auto [end, ec] = std::from_chars(first, last, parsed); ec != std::errc() || end != last) {
      return std::nullopt;
    }
    const long double number = parsed;
    std::size_t unit_start = i;
    while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "µs") scale = 1e3L;
    else if (unit == "ms") scale = 1e6L;
    else if (unit == "s") scale = 1e9L;
    else if (unit == "m") scale = 60e9L;
    else if (unit == "h") scale = 3600e9L;
    else return std::nullopt;
    total += number * scale;
  }
  if (total > static_cast<long double>(nanoseconds::max().count())) return std::nullopt;
  return nanoseconds(static_cast<std::int64_t>(total));
}

}  // namespace otlpd
