#include "pipeline/component.h"

#include <fmt/format.h>

#include <cctype>

namespace otlpd {

std::optional<ComponentId> ComponentId::parse(std::string_view text, std::string* error) {
  ComponentId id;
  const std::size_t slash = text.find('/');
  id.type = std::string(text.substr(0, slash));
  if (slash != std::string_view::npos) {
    id.name = std::string(text.substr(slash + 1));
    if (id.name.empty()) {
      *error = fmt::format("'{}': the name after '/' must not be empty", text);
      return std::nullopt;
    }
  }
  bool valid = !id.type.empty() && id.type.size() <= 63 &&
               std::isalpha(static_cast<unsigned char>(id.type[0]));
  for (char c : id.type) {
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  if (!valid) {
    *error = fmt::format(
        "'{}': invalid component type '{}' (must match ^[a-zA-Z][0-9a-zA-Z_]{{0,62}}$)", text,
        id.type);
    return std::nullopt;
  }
  return id;
}

}  // namespace otlpd
