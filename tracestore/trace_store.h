#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "jaeger_types.h"
#include "otlp/request.h"

namespace otlpd {

namespace jt = jaegertracing::thrift;

// A trace id as Jaeger writes it: two big-endian halves.
struct TraceKey {
  std::int64_t high = 0, low = 0;
  bool operator==(const TraceKey&) const = default;
};
struct TraceKeyHash {
  // Every bit of both halves reaches every bit of the hash (the flat hash map takes its probe
  // position from the high bits and a tag from the low ones, and ids need not be random):
  // the halves combined, then MurmurHash3's 64-bit finalizer.
  std::size_t operator()(const TraceKey& k) const {
    std::uint64_t h = static_cast<std::uint64_t>(k.low) ^ (static_cast<std::uint64_t>(k.high) * 0x9e3779b97f4a7c15ULL);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }
};

// "0af7651916cd43dd8448eb211c80319c" (Jaeger's form: 16 hex digits when the high half is 0).
std::string to_hex(const TraceKey& key);
std::optional<TraceKey> parse_trace_id(std::string_view hex);

// The resource a span came from: its service name, and its wire bytes (read again only to
// answer queries).
struct StoredProcess {
  std::string service;
  std::string_view resource;  // a Resource message, in the request's bytes
};

// What the spans of one ScopeSpans share: their resource, their scope, and the prepared
// request they are kept in.
struct StoredScope {
  const StoredProcess* process = nullptr;
  std::string_view scope;  // its InstrumentationScope message (may be empty)
  const void* owner = nullptr;  // the prepared request these views point into
};

// One span as the store keeps it: what searches filter on, and where its bytes are. The
// received request's bytes are kept (shared, not copied) as long as one of its spans is;
// attributes, events and links are read from them only when a query needs them. 56 bytes,
// one per span held: its ids are read again from its bytes when a query asks, and what it
// shares with the spans around it is in their StoredScope (at 112 bytes, the same memory held
// 8 % fewer traces; no change in CPU per span showed, bench/results/store_2026-12-05c).
struct StoredSpan {
  std::int64_t start_us = 0, duration_us = 0;
  const StoredSpan* next = nullptr;  // its trace's next span, in arrival order
  const StoredScope* scope_spans = nullptr;
  const char* bytes = nullptr;  // the Span message, in the request's bytes
  std::uint32_t size = 0;
  std::uint32_t name_at = 0, name_size = 0;  // its name, within those bytes
  std::uint8_t kind = 0;

  std::string_view wire() const { return {bytes, size}; }
  std::string_view name() const { return {bytes + name_at, name_size}; }
  std::string_view scope() const { return scope_spans->scope; }
  const StoredProcess* process() const { return scope_spans->process; }
  const void* owner() const { return scope_spans->owner; }
  // Its span_id and parent_span_id in Jaeger's signed 64-bit form (0: none), read from its
  // bytes as protobuf reads them (the last one given counts).
  struct Ids {
    std::int64_t span_id = 0, parent_id = 0;
  };
  Ids ids() const;
};

// A trace: its spans in arrival order, linked through the arrays of the requests they came
// from (no array of its own, so joining a trace allocates nothing).
struct StoredTrace {
  TraceKey key;
  const StoredSpan* first = nullptr;
  StoredSpan* last = nullptr;  // (the store links the next span that arrives to it)
  std::size_t span_count = 0;
  std::int64_t start_us = 0, end_us = 0;  // of all its spans
  const void* owner = nullptr;  // the prepared request of its spans, when they all came in one

  // for (const StoredSpan* s : trace.spans())
  class Spans {
   public:
    class iterator {
     public:
      explicit iterator(const StoredSpan* s) : s_(s) {}
      const StoredSpan* operator*() const { return s_; }
      iterator& operator++() {
        s_ = s_->next;
        return *this;
      }
      bool operator!=(const iterator& o) const { return s_ != o.s_; }

     private:
      const StoredSpan* s_;
    };
    explicit Spans(const StoredSpan* first) : first_(first) {}
    iterator begin() const { return iterator(first_); }
    iterator end() const { return iterator(nullptr); }

   private:
    const StoredSpan* first_;
  };
  Spans spans() const { return Spans(first); }
};

// A stored span in Jaeger's model (the OTel -> Jaeger mapping of the jaeger exporter).
struct JaegerSpan {
  jt::Span span;
  std::shared_ptr<const jt::Process> process;
};
std::vector<JaegerSpan> to_jaeger(const StoredTrace& trace);

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
// max_bytes of memory (the requests' bytes it keeps, plus its index); the oldest traces (by
// arrival) are evicted first, and counted. Adding a request reads its wire format without
// decoding it. Thread-safe: one writer at a time, any number of readers.
class TraceStore {
 public:
  TraceStore(std::size_t max_traces, std::size_t max_bytes);
  ~TraceStore();

  // A request read for the store: its spans indexed into arrays where they stay, grouped into
  // runs of one trace, with their resources' services. Reading is half the cost of storing a
  // request and needs no lock, so add() reads before it locks (queries wait only for the runs
  // to join their traces, and for eviction). prepare() may run on another thread: reading a
  // request right after the receiver's scan, while its bytes are in the cache, measured no
  // cheaper than reading it cold with prefetching (bench/trace_store_bench.cpp,
  // BM_TraceStoreIngestDistinct/1 against /0), so the exporter does not.
  class Prepared;
  static std::shared_ptr<Prepared> prepare(const Request& request);

  void add(const RequestPtr& request);  // add(request, prepare(*request))
  // `prepared` must be prepare(*request) and added to no store yet (else the request is read again).
  void add(const RequestPtr& request, std::shared_ptr<Prepared> prepared);

  std::vector<std::string> services() const;
  // (operation, span kind) pairs of a service, sorted; kind "" when the span had none. A name
  // seen with several kinds is listed once with each, as Jaeger lists them.
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
  struct Held;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using OperationKinds = std::unordered_map<std::string, std::uint8_t, StringHash, std::equal_to<>>;

  void evict_locked();

  const std::size_t max_traces_, max_bytes_;
  mutable std::shared_mutex mutex_;
  // Open addressing: a trace joined or evicted costs a probe, not a node allocation and a walk
  // along a bucket's chain (with tens of thousands of traces held, each a cache miss).
  absl::flat_hash_map<TraceKey, StoredTrace, TraceKeyHash> traces_;
  std::deque<TraceKey> order_;  // arrival order of the traces held
  std::list<Held> held_;  // requests with spans stored (each one's Prepared knows its place here)
  // service -> operation -> the span kinds it was seen with (bit k: kind k), for the search
  // form (kept after eviction, as Jaeger keeps them)
  std::unordered_map<std::string, OperationKinds, StringHash, std::equal_to<>> operations_;
  std::size_t bytes_ = 0, spans_ = 0;
  std::uint64_t evicted_traces_ = 0, evicted_spans_ = 0;
};

}  // namespace otlpd
