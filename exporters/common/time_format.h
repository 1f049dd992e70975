#pragma once

#include <cstdint>
#include <string>

namespace otlpd {

// "2024-10-28T14:20:33.591136Z": UTC, microseconds, as the Python SDK's console exporter prints.
std::string format_iso8601_micros(std::uint64_t unix_nanos);

// "2024-10-28 14:20:33.591136 +0000 UTC": Go's time.String() in UTC (trailing zeros of the
// fraction dropped), as the OpenTelemetry Collector's debug exporter prints timestamps.
std::string format_go_time(std::uint64_t unix_nanos);

}  // namespace otlpd
