#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace otlpd {

// The three OTLP signals. Everything downstream of the receiver is generic over this.
enum class Signal : std::uint8_t { traces = 0, metrics = 1, logs = 2 };

inline constexpr std::array<Signal, 3> kAllSignals = {Signal::traces, Signal::metrics,
                                                      Signal::logs};

constexpr std::string_view to_string(Signal signal) {
  switch (signal) {
    case Signal::traces: return "traces";
    case Signal::metrics: return "metrics";
    case Signal::logs: return "logs";
  }
  return "unknown";
}

// What one "item" of a signal is called in counters and messages.
constexpr std::string_view item_name(Signal signal) {
  switch (signal) {
    case Signal::traces: return "spans";
    case Signal::metrics: return "data points";
    case Signal::logs: return "log records";
  }
  return "items";
}

constexpr std::optional<Signal> signal_from_string(std::string_view name) {
  for (Signal s : kAllSignals) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace otlpd
