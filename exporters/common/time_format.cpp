#include "exporters/common/time_format.h"

#include <fmt/format.h>

#include <ctime>

namespace otlpd {
namespace {

std::tm utc(std::uint64_t unix_nanos) {
  const auto seconds = static_cast<std::time_t>(unix_nanos / 1'000'000'000ULL);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return tm;
}

}  // namespace

std::string format_iso8601_micros(std::uint64_t unix_nanos) {
  const std::tm tm = utc(unix_nanos);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unix_nanos % 1'000'000'000ULL) / 1000);
}

std::string format_go_time(std::uint64_t unix_nanos) {
  const std::tm tm = utc(unix_nanos);
  std::string fraction = fmt::format("{:09}", unix_nanos % 1'000'000'000ULL);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}{} +0000 UTC", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     fraction.empty() ? "" : ".", fraction);
}

}  // namespace otlpd
