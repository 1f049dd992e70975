#include "selftelemetry/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace otlpd {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) noexcept {
  const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> counts(bounds_.size() + 1);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = buckets_[i].load(std::memory_order_relaxed);
  return counts;
}

MetricsRegistry::Family& MetricsRegistry::family(const MetricInfo& info) {
  auto [it, inserted] = families_.try_emplace(info.name);
  if (inserted) it->second.info = info;
  return it->second;
}

namespace {

MetricLabels sorted(MetricLabels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

Counter& MetricsRegistry::counter(const MetricInfo& info, const MetricLabels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(info).counters[sorted(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const MetricInfo& info, const MetricLabels& labels,
                                      const std::vector<double>& bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = family(info).histograms[sorted(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

MetricsRegistry::Observation& MetricsRegistry::Observation::operator=(Observation&& other) noexcept {
  if (this != &other) {
    reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void MetricsRegistry::Observation::reset() noexcept {
  if (!registry_) return;
  std::lock_guard lock(registry_->mutex_);
  if (auto it = registry_->observation_family_.find(id_); it != registry_->observation_family_.end()) {
    registry_->families_[it->second].observed.erase(id_);
    registry_->observation_family_.erase(it);
  }
  registry_ = nullptr;
}

MetricsRegistry::Observation MetricsRegistry::observe(const MetricInfo& info, const MetricLabels& labels,
                                                      std::function<double()> read) {
  std::lock_guard lock(mutex_);
  Observation handle;
  handle.registry_ = this;
  handle.id_ = next_id_++;
  family(info).observed.emplace(handle.id_, std::make_pair(sorted(labels), std::move(read)));
  observation_family_.emplace(handle.id_, info.name);
  return handle;
}

std::string prometheus_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

void append_labels(std::string* out, const MetricLabels& labels, bool utf8_names, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  *out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) *out += ',';
    first = false;
    if (name.find('.') == std::string::npos) {
      *out += name;
    } else if (utf8_names) {
      fmt::format_to(std::back_inserter(*out), "\"{}\"", name);
    } else {
      for (char c : name) *out += c == '.' ? '_' : c;
    }
    fmt::format_to(std::back_inserter(*out), "=\"{}\"", prometheus_escape(value));
  }
  if (!extra_name.empty()) {
    if (!first) *out += ',';
    fmt::format_to(std::back_inserter(*out), "{}=\"{}\"", extra_name, extra_value);
  }
  *out += '}';
}

}  // namespace

void MetricsRegistry::set_target_info(MetricLabels labels) {
  std::lock_guard lock(mutex_);
  target_info_ = sorted(std::move(labels));
}

std::string MetricsRegistry::prometheus_text(MetricsLevel level, PrometheusFormat format) const {
  std::string out;
  if (level == MetricsLevel::none) return out;
  std::lock_guard lock(mutex_);
  // Names with their suffixes, sorted as otelcol's exporter sorts them.
  std::map<std::string, const Family*> by_name;
  for (const auto& [base, f] : families_) {
    std::string name = base;
    if (!format.without_units && !f.info.unit.empty()) name += "_" + f.info.unit;
    if (!format.without_type_suffix && f.info.type == MetricInfo::Type::counter) name += "_total";
    by_name.emplace(std::move(name), &f);
  }
  if (!target_info_.empty()) {
    by_name.emplace("target_info", nullptr);
  }
  for (const auto& [name, family] : by_name) {
    if (!family) {
      out += "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info";
      append_labels(&out, target_info_, format.utf8_names);
      out += " 1\n";
      continue;
    }
    const Family& f = *family;
    if (f.info.level > level) continue;
    // Series by labels: owned counters, then observed values (summed per label set).
    std::map<MetricLabels, double> values;
    for (const auto& [labels, c] : f.counters) {
      if (level < MetricsLevel::detailed && !f.info.detailed_labels.empty()) {
        MetricLabels shown = labels;
        std::erase_if(shown, [&](const auto& label) {
          return std::find(f.info.detailed_labels.begin(), f.info.detailed_labels.end(), label.first) !=
                 f.info.detailed_labels.end();
        });
        values[shown] += static_cast<double>(c->value());
      } else {
        values[labels] += static_cast<double>(c->value());
      }
    }
    for (const auto& [id, observed] : f.observed) {
      const double value = observed.second();
      auto [it, inserted] = values.try_emplace(observed.first, value);
      if (!inserted) it->second = f.info.merge == MetricInfo::Merge::max ? std::max(it->second, value) : it->second + value;
    }
    if (values.empty() && f.histograms.empty()) continue;
    static constexpr const char* kTypes[] = {"counter", "gauge", "histogram"};
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, f.info.help, name,
                   kTypes[static_cast<int>(f.info.type)]);
    for (const auto& [labels, value] : values) {
      out += name;
      append_labels(&out, labels, format.utf8_names);
      fmt::format_to(std::back_inserter(out), " {}\n", number(value));
    }
    for (const auto& [labels, h] : f.histograms) {
      const auto counts = h->bucket_counts();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        out += name;
        out += "_bucket";
        append_labels(&out, labels, format.utf8_names, "le", i < h->bounds().size() ? number(h->bounds()[i]) : "+Inf");
        fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
      }
      out += name;
      out += "_sum";
      append_labels(&out, labels, format.utf8_names);
      fmt::format_to(std::back_inserter(out), " {}\n", number(h->sum()));
      out += name;
      out += "_count";
      append_labels(&out, labels, format.utf8_names);
      fmt::format_to(std::back_inserter(out), " {}\n", cumulative);
    }
  }
  return out;
}

}  // namespace otlpd
