#include "selftelemetry/process_metrics.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "selftelemetry/otelcol_metrics.h"

namespace otlpd {
namespace {

// User + system CPU seconds of this process (fields 14 and 15 of /proc/self/stat).
double cpu_seconds() {
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return 0;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  unsigned long utime = 0, stime = 0;
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  const int read = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return read == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

std::vector<MetricsRegistry::Observation> observe_process(MetricsRegistry& registry) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<MetricsRegistry::Observation> handles;
  handles.push_back(registry.observe(selfmetrics::kProcessUptime, {}, [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }));
  handles.push_back(registry.observe(selfmetrics::kProcessCpuSeconds, {}, cpu_seconds));
  handles.push_back(registry.observe(selfmetrics::kProcessMemoryRss, {}, rss_bytes));
  return handles;
}

}  // namespace otlpd
