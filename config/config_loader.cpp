#include "config/config_loader.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace otlpd {
namespace {

// Expands one scalar. Sets *whole when the text was exactly one reference.
std::optional<std::string> expand_text(std::string_view text, const EnvLookup& env, bool* whole,
                                       std::string* error) {
  std::string out;
  *whole = false;
  std::size_t references = 0;
  bool only_reference = true;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out += text[i++];
      only_reference = false;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      i += 2;
      only_reference = false;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i++];
      only_reference = false;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      *error = fmt::format("unterminated reference '{}'", text.substr(i));
      return std::nullopt;
    }
    std::string_view ref = text.substr(i + 2, close - i - 2);
    if (auto colon = ref.find(':'); colon != std::string_view::npos) {
      std::string_view scheme = ref.substr(0, colon);
      if (scheme != "env") {
        *error = fmt::format("unsupported config provider '{}' in '${{{}}}' (only env is supported)",
                             scheme, ref);
        return std::nullopt;
      }
      ref = ref.substr(colon + 1);
    }
    std::optional<std::string> fallback;
    if (auto dflt = ref.find(":-"); dflt != std::string_view::npos) {
      fallback = std::string(ref.substr(dflt + 2));
      ref = ref.substr(0, dflt);
    }
    if (ref.empty()) {
      *error = "empty variable name in '${}'";
      return std::nullopt;
    }
    std::optional<std::string> value = env(ref);
    if (!value) value = fallback;  // default only when unset, as otelcol does
    out += value.value_or("");
    ++references;
    i = close + 1;
  }
  *whole = only_reference && references == 1;
  return out;
}

bool expand_node(YAML::Node& node, const EnvLookup& env, std::string* error) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      bool whole = false;
      auto expanded = expand_text(node.Scalar(), env, &whole, error);
      if (!expanded) return false;
      if (*expanded == node.Scalar()) return true;
      if (whole) {
        try {
          YAML::Node parsed = YAML::Load(*expanded);
          node = parsed.IsNull() ? YAML::Node(*expanded) : parsed;
          return true;
        } catch (const YAML::Exception&) {
          // Not valid YAML on its own: keep it as a string.
        }
      }
      node = *expanded;
      return true;
    }
    case YAML::NodeType::Sequence:
      for (std::size_t i = 0; i < node.size(); ++i) {
        YAML::Node child = node[i];
        if (!expand_node(child, env, error)) return false;
      }
      return true;
    case YAML::NodeType::Map:
      for (auto it = node.begin(); it != node.end(); ++it) {
        YAML::Node child = it->second;
        if (!expand_node(child, env, error)) return false;
      }
      return true;
    default:
      return true;
  }
}

std::optional<std::string> read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = fmt::format("cannot read config file '{}': {}", path, std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::optional<YAML::Node> parse_yaml(std::string_view text, std::string_view origin,
                                     std::string* error) {
  try {
    YAML::Node node = YAML::Load(std::string(text));
    if (node.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!node.IsMap()) {
      *error = fmt::format("{}: the top level must be a mapping (receivers, exporters, service, ...)",
                           origin);
      return std::nullopt;
    }
    return node;
  } catch (const YAML::Exception& e) {
    *error = fmt::format("{}: invalid YAML at line {}, column {}: {}", origin, e.mark.line + 1,
                         e.mark.column + 1, e.msg);
    return std::nullopt;
  }
}

bool expand_env(YAML::Node& node, const EnvLookup& env, std::string* error) {
  return expand_node(node, env, error);
}

void merge_into(YAML::Node& base, const YAML::Node& overlay) {
  if (!base.IsMap() || !overlay.IsMap()) {
    base = YAML::Clone(overlay);
    return;
  }
  for (const auto& kv : overlay) {
    const std::string key = kv.first.Scalar();
    if (base[key] && base[key].IsMap() && kv.second.IsMap()) {
      YAML::Node child = base[key];
      merge_into(child, kv.second);
    } else {
      base[key] = YAML::Clone(kv.second);
    }
  }
}

std::optional<YAML::Node> load_config(const ConfigSources& sources, const EnvLookup& env,
                                      std::string* error) {
  YAML::Node merged(YAML::NodeType::Map);
  for (const std::string& source : sources.files) {
    std::optional<std::string> text;
    std::string origin = source;
    if (source.rfind("yaml:", 0) == 0) {
      text = source.substr(5);
      origin = "inline yaml";
    } else if (source.rfind("file:", 0) == 0) {
      origin = source.substr(5);
      text = read_file(origin, error);
    } else {
      text = read_file(source, error);
    }
    if (!text) return std::nullopt;
    auto node = parse_yaml(*text, origin, error);
    if (!node) return std::nullopt;
    std::string expand_error;
    if (!expand_env(*node, env, &expand_error)) {
      *error = fmt::format("{}: {}", origin, expand_error);
      return std::nullopt;
    }
    merge_into(merged, *node);
  }
  for (const std::string& set : sources.set_overrides) {
    const std::size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      *error = fmt::format("--set '{}': expected key::path=value", set);
      return std::nullopt;
    }
    const std::string key = set.substr(0, eq);
    const std::string sep = key.find("::") != std::string::npos ? "::" : ".";
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      std::size_t pos = key.find(sep, start);
      parts.push_back(key.substr(start, pos - start));
      if (pos == std::string::npos) break;
      start = pos + sep.size();
    }
    auto value = parse_yaml("v: " + set.substr(eq + 1), "--set", error);
    if (!value) return std::nullopt;
    YAML::Node overlay = (*value)["v"];
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->empty()) {
        *error = fmt::format("--set '{}': empty key in path", set);
        return std::nullopt;
      }
      YAML::Node wrap(YAML::NodeType::Map);
      wrap[*it] = overlay;
      overlay = wrap;
    }
    std::string expand_error;
    if (!expand_env(overlay, env, &expand_error)) {
      *error = fmt::format("--set '{}': {}", set, expand_error);
      return std::nullopt;
    }
    merge_into(merged, overlay);
  }
  return merged;
}

}  // namespace otlpd
