#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "jaeger_types.h"
#include "pipeline/telemetry.h"

namespace otlpd {

namespace jt = jaegertracing::thrift;

// A trace id as Jaeger writes it: two big-endian halves.
struct TraceKey {
  std::int64_t high = 0, low = 0;
  bool operator==(const TraceKey&) const = default;
};
struct TraceKeyHash {
  std::size_t operator()(const TraceKey& k) const {
    return std::hash<std::int64_t>()(k.low) ^ (std::hash<std::int64_t>()(k.high) * 0x9e3779b97f4a7c15ULL);
  }
};

// "0af7651916cd43dd8448eb211c80319c" (Jaeger's form: 16 hex digits when the high half is 0).
std::string to_hex(const TraceKey& key);
std::optional<TraceKey> parse_trace_id(std::string_view hex);

struct StoredSpan {
  jt::Span span;  // in Jaeger's model (the OTel -> Jaeger mapping of the jaeger exporter)
  std::shared_ptr<const jt::Process> process;
};

struct StoredTrace {
  TraceKey key;
  std::vector<StoredSpan> spans;
  std::int64_t start_us = 0, end_us = 0;  // of all its spans
  std::size_t bytes = 0;                  // estimated memory
};

// What /api/traces searches for (Jaeger's query parameters). A trace matches when one of its
// spans matches every condition given.
struct TraceQuery {
  std::string service;                                  // required
  std::string operation;                                // empty: any
  std::vector<std::pair<std::string, std::string>> tags;  // key = value (span, process or log tags)
  std::int64_t start_us = 0, end_us = 0;                // span start within [start, end]; 0: open
  std::int64_t min_duration_us = 0, max_duration_us = 0;  // 0: no bound
  std::size_t limit = 100;
};

struct Dependency {
  std::string parent, child;
  std::uint64_t calls = 0;
};

// A bounded in-memory store of recent traces: at most max_traces traces and about
// max_bytes of memory; the oldest traces (by arrival) are evicted first, and counted.
// Thread-safe: one writer at a time, any number of readers.
class TraceStore {
 public:
  TraceStore(std::size_t max_traces, std::size_t max_bytes) : max_traces_(max_traces), max_bytes_(max_bytes) {}

  void add(const otlp::TracesRequest& request);

  std::vector<std::string> services() const;
  // (operation, span kind) pairs of a service; kind "" when the span had none.
  std::vector<std::pair<std::string, std::string>> operations(const std::string& service) const;
  // Matching traces, the most recent first; `visit` is called under the store's read lock.
  template <typename Visit>
  std::size_t find(const TraceQuery& query, Visit&& visit) const {
    std::shared_lock lock(mutex_);
    std::size_t found = 0;
    for (auto it = order_.rbegin(); it != order_.rend() && found < query.limit; ++it) {
      const auto t = traces_.find(*it);
      if (t != traces_.end() && matches(t->second, query)) {
        visit(t->second);
        ++found;
      }
    }
    return found;
  }
  template <typename Visit>
  bool get(const TraceKey& key, Visit&& visit) const {
    std::shared_lock lock(mutex_);
    const auto t = traces_.find(key);
    if (t == traces_.end()) return false;
    visit(t->second);
    return true;
  }
  std::vector<Dependency> dependencies(std::int64_t start_us, std::int64_t end_us) const;

  struct Stats {
    std::size_t traces = 0, spans = 0, bytes = 0;
    std::uint64_t evicted_traces = 0, evicted_spans = 0;
  };
  Stats stats() const;

  static bool matches(const StoredTrace& trace, const TraceQuery& query);

 private:
  void evict_locked();

  const std::size_t max_traces_, max_bytes_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<TraceKey, StoredTrace, TraceKeyHash> traces_;
  std::deque<TraceKey> order_;  // arrival order of the traces held
  // service -> operation -> span kind, for the search form (kept after eviction, as Jaeger)
  std::unordered_map<std::string, std::unordered_map<std::string, std::string>> operations_;
  std::size_t bytes_ = 0, spans_ = 0;
  std::uint64_t evicted_traces_ = 0, evicted_spans_ = 0;
};

}  // namespace otlpd
