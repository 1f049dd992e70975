#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otlpd {

// service::telemetry::metrics::level, as in the OpenTelemetry Collector: each metric has
// the lowest level at which it is shown; `none` turns the endpoint off.
enum class MetricsLevel { none, basic, normal, detailed };

// Label names and values of one series (kept sorted by name, as Prometheus clients write them).
// Names may be OpenTelemetry's dotted ones ("server.address"); see PrometheusFormat.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// A monotonic integer count. Lock-free; add() is one relaxed atomic add.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A distribution over fixed bucket bounds (Prometheus `le`, inclusive). Lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;

  const std::vector<double>& bounds() const { return bounds_; }
  // Count per bucket (not cumulative), the last one being +Inf; and the sum and count.
  std::vector<std::uint64_t> bucket_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// What a family of series is, for the exposition format.
struct MetricInfo {
  std::string name;  // without unit or _total suffix
  std::string help;
  enum class Type { counter, gauge, histogram } type = Type::counter;
  MetricsLevel level = MetricsLevel::basic;  // the lowest level that shows it
  std::string unit;  // "seconds", "bytes" or empty; a suffix only when asked for (see PrometheusFormat)
  // How observed series with equal labels combine: summed (the old and the new instance of a
  // queue during a reload), or the largest (one memory_limiter config in several pipelines).
  enum class Merge { sum, max } merge = Merge::sum;
  // Labels shown only at level detailed; below it their series are summed without them.
  std::vector<std::string> detailed_labels;
};

// Options of a prometheus pull reader, with otelcol's service defaults.
struct PrometheusFormat {
  bool without_type_suffix = true;  // false: counters get _total
  bool without_units = true;        // false: names get their unit (_seconds, _bytes)
  // Label names are OpenTelemetry's (server.address): written server_address, or, when the
  // scraper accepts it (Prometheus 3 sends escaping=allow-utf-8), quoted as they are.
  bool utf8_names = false;
};

// The self-telemetry registry: the counters, gauges and histograms that components are
// handed at construction and that the :8888/metrics endpoint reads. It lives as long as the
// process (owned by main), across reloads: a component rebuilt by a reload gets the same
// counters back, so counts never go backwards. Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // The counter of `info.name` with these labels: created on first use, then the same one.
  // The reference stays valid as long as the registry.
  Counter& counter(const MetricInfo& info, const MetricLabels& labels);
  Histogram& histogram(const MetricInfo& info, const MetricLabels& labels, const std::vector<double>& bounds);

  // A value read when scraped (a gauge, or a counter kept elsewhere). The series is shown
  // until the returned handle is destroyed; series with equal labels are summed (during a
  // reload the old and the new component both report for a moment).
  class Observation {
   public:
    Observation() = default;
    Observation(Observation&& other) noexcept { *this = std::move(other); }
    Observation& operator=(Observation&& other) noexcept;
    ~Observation() { reset(); }
    void reset() noexcept;

   private:
    friend class MetricsRegistry;
    MetricsRegistry* registry_ = nullptr;
    std::uint64_t id_ = 0;
  };
  [[nodiscard]] Observation observe(const MetricInfo& info, const MetricLabels& labels,
                                    std::function<double()> read);

  // Every family visible at `level`, in the Prometheus text exposition format (0.0.4), and
  // target_info with the process's identity.
  std::string prometheus_text(MetricsLevel level, PrometheusFormat format = {}) const;

  // target_info's labels: service_instance_id, service_name, service_version.
  void set_target_info(MetricLabels labels);

 private:
  struct Family {
    MetricInfo info;
    std::map<MetricLabels, std::unique_ptr<Counter>> counters;
    std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
    std::map<std::uint64_t, std::pair<MetricLabels, std::function<double()>>> observed;
  };
  Family& family(const MetricInfo& info);  // mutex_ held

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  std::map<std::uint64_t, std::string> observation_family_;
  std::uint64_t next_id_ = 1;
  MetricLabels target_info_;
};

// Escapes a label value for the exposition format (backslash, quote, newline).
std::string prometheus_escape(std::string_view value);

}  // namespace otlpd
