#include "tracestore/trace_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <map>
#include <mutex>

#include "translator/jaeger/jaeger_mapping.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "otlp/span_kind.h"
#include "otlp/wire_reader.h"

namespace otlpd {

namespace {
// A trace's slot in the map (about 1.5 per trace at its load factors: 7/16 to 7/8) and its order entry.
constexpr std::size_t kTraceOverhead = (sizeof(TraceKey) + sizeof(StoredTrace) + 1) * 3 / 2 + sizeof(TraceKey);
constexpr std::size_t kChunk = 1024;  // spans in an array added when a request has more than it counted
constexpr std::ptrdiff_t kPrefetchAhead = 2048;  // bytes of spans prepare() asks the memory for ahead of use
constexpr std::size_t kEvictAhead = 16;  // traces whose slots eviction asks for ahead of use
}  // namespace

// A request read for the store (see prepare()).
class TraceStore::Prepared {
 public:
  std::string own_bytes;  // the protobuf bytes of a request built in memory (it has no wire)
  std::vector<StoredProcess> processes;  // reserved for all its resources: pointers hold
  std::vector<StoredScope> scopes;  // reserved for all its ScopeSpans: pointers hold
  // Its spans as indexed, written once, in order, where they stay: traces link through these
  // arrays. The first one is sized by the request's item count; another is added only if it
  // held more spans than it counted. (Each is reserved and never grows, so pointers hold.)
  std::vector<std::vector<StoredSpan>> spans;
  StoredSpan& next_span(const StoredSpan& span) {
    if (spans.empty() || spans.back().size() == spans.back().capacity()) {
      const std::size_t size = spans.empty() ? std::max<std::size_t>(item_count, 1) : kChunk;
      spans.emplace_back().reserve(size);
    }
    return spans.back().emplace_back(span);
  }
  // Runs of spans of one trace, in order (a trace's spans usually arrive together): each joins
  // its trace with one lookup. The spans of a run are linked already.
  struct Run {
    TraceKey key;
    StoredSpan* first = nullptr;
    StoredSpan* last = nullptr;
    std::size_t count = 0;
    std::int64_t start_us = 0, end_us = 0;
  };
  std::vector<Run> runs;
  // The (operation, kind) of each span, but for repeats of the one before (for the search form).
  struct Operation {
    const StoredProcess* process;
    std::string_view name;
    std::uint8_t kind;
  };
  std::vector<Operation> operations;
  std::size_t item_count = 0;
  std::size_t span_count = 0;

  // The store's, under its lock, once added.
  std::atomic<bool> added{false};  // to one store: its spans link into that store's traces
  std::size_t live_spans = 0;
  std::size_t bytes = 0;
  std::list<Held>::iterator place;  // in held_, to be erased when its last span is evicted
};

// A stored request: it keeps the bytes its prepared spans point into.
struct TraceStore::Held {
  RequestPtr request;
  std::shared_ptr<Prepared> prepared;
};

namespace {

// service.name of a Resource message.
std::string service_of(std::string_view resource) {
  WireReader r(resource);
  while (r.next()) {
    if (r.number != 1 || r.type != WireType::len) continue;  // attributes
    WireReader kv(r.bytes);
    std::string_view key, value;
    bool is_string = false;
    while (kv.next()) {
      if (kv.number == 1 && kv.type == WireType::len) key = kv.bytes;
      if (kv.number == 2 && kv.type == WireType::len) {
        WireReader any(kv.bytes);
        while (any.next()) {
          if (any.number == 1 && any.type == WireType::len) {
            value = any.bytes;
            is_string = true;
          }
        }
      }
    }
    if (key == "service.name" && is_string) return std::string(value);
  }
  return "unknown_service";
}

std::string tag_value(const jt::Tag& t) {
  switch (t.vType) {
    case jt::TagType::STRING: return t.vStr;
    case jt::TagType::BOOL: return t.vBool ? "true" : "false";
    case jt::TagType::LONG: return std::to_string(t.vLong);
    case jt::TagType::DOUBLE: return fmt::format("{}", t.vDouble);
    case jt::TagType::BINARY: return t.vBinary;
  }
  return "";
}

bool has_tag(const std::vector<jt::Tag>& tags, const std::string& key, const std::string& value) {
  return std::any_of(tags.begin(), tags.end(), [&](const jt::Tag& t) { return t.key == key && tag_value(t) == value; });
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Tags the Jaeger mapping derives rather than copies from attributes.
bool derived_tag(std::string_view key) {
  return key == "span.kind" || key == "error" || key.starts_with("otel.") || key == "event" || key == "w3c.tracestate";
}

// Whether a string value's bytes must appear in the span's or its resource's bytes for it to
// match: not for numbers and booleans (encoded as binary), nor for arrays and maps (as JSON).
bool literal_value(std::string_view value) {
  if (value == "true" || value == "false" || value.empty()) return false;
  if (value.front() == '[' || value.front() == '{') return false;
  double number = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  return !(ec == std::errc() && end == value.data() + value.size());
}

jt::Span jaeger_span(const StoredSpan& s) {
  opentelemetry::proto::trace::v1::Span span;
  span.ParseFromArray(s.bytes, static_cast<int>(s.size));
  opentelemetry::proto::common::v1::InstrumentationScope scope;
  scope.ParseFromArray(s.scope().data(), static_cast<int>(s.scope().size()));
  return jaeger::to_span(span, scope);
}

std::shared_ptr<const jt::Process> jaeger_process(const StoredProcess& p) {
  opentelemetry::proto::resource::v1::Resource resource;
  resource.ParseFromArray(p.resource.data(), static_cast<int>(p.resource.size()));
  return std::make_shared<const jt::Process>(jaeger::to_process(resource));
}

// a == b, inline for the short strings of span names (string_view's == calls memcmp, a tenth
// of the store's read when every span is compared with the one before).
bool same_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  std::size_t n = a.size();
  if (n >= 8) {  // 8-byte words, the last one overlapping the one before
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::uint64_t u, v;
      std::memcpy(&u, x + i, 8);
      std::memcpy(&v, y + i, 8);
      if (u != v) return false;
    }
    std::uint64_t u, v;
    std::memcpy(&u, x + n - 8, 8);
    std::memcpy(&v, y + n - 8, 8);
    return u == v;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

// What the store indexes of one Span message (its fields 1-8), into `span`; returns its trace.
// `in_order`: the span's fields are in ascending order (Request::fields_in_order).
TraceKey index_span(std::string_view wire, bool in_order, const StoredScope* scope_spans, StoredSpan& span) {
  span.bytes = wire.data();
  span.size = static_cast<std::uint32_t>(wire.size());  // (a request is far below 4 GiB)
  span.scope_spans = scope_spans;
  std::string_view trace_id;
  std::uint64_t start = 0, end = 0;
  // Past fields 1-8 the rest of the span (attributes, events, links: most of its bytes) need
  // not be read when its fields are known to be in order, or once all of 1-8 were seen (an
  // empty field, such as a root span's parent, is not written: it may still come later).
  constexpr std::uint32_t kIndexed = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8;
  std::uint32_t seen = 0;
  WireReader f(wire);
  while (f.next()) {
    if (f.number < 32) seen |= 1u << f.number;
    if (f.number > 8 && (in_order || (seen & kIndexed) == kIndexed)) break;
    switch (f.number) {
      case 1: trace_id = f.bytes; break;
      case 5:
        span.name_at = static_cast<std::uint32_t>(f.bytes.data() - wire.data());
        span.name_size = static_cast<std::uint32_t>(f.bytes.size());
        break;
      case 6: span.kind = static_cast<std::uint8_t>(f.value); break;
      case 7: start = f.value; break;
      case 8: end = f.value; break;
      default: break;
    }
  }
  span.start_us = static_cast<std::int64_t>(start / 1000);
  span.duration_us = static_cast<std::int64_t>((end > start ? end - start : 0) / 1000);
  return {trace_id.size() == 16 ? jaeger::big_endian_i64(trace_id.substr(0, 8)) : 0,
          trace_id.size() == 16 ? jaeger::big_endian_i64(trace_id.substr(8, 8)) : 0};
}

}  // namespace

StoredSpan::Ids StoredSpan::ids() const {
  Ids ids;
  for (WireReader f(wire()); f.next();) {
    if ((f.number == 2 || f.number == 4) && f.type == WireType::len) {
      (f.number == 2 ? ids.span_id : ids.parent_id) = jaeger::big_endian_i64(f.bytes);  // (empty: 0)
    }
  }
  return ids;
}

std::string to_hex(const TraceKey& key) {
  if (key.high == 0) return fmt::format("{:016x}", static_cast<std::uint64_t>(key.low));
  return fmt::format("{:016x}{:016x}", static_cast<std::uint64_t>(key.high), static_cast<std::uint64_t>(key.low));
}

std::optional<TraceKey> parse_trace_id(std::string_view hex) {
  if (hex.empty() || hex.size() > 32) return std::nullopt;
  const auto half = [](std::string_view h, std::int64_t* out) {
    std::uint64_t v = 0;
    if (h.empty()) {
      *out = 0;
      return true;
    }
    const auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), v, 16);
    *out = static_cast<std::int64_t>(v);
    return ec == std::errc() && end == h.data() + h.size();
  };
  TraceKey key;
  const std::size_t split = hex.size() > 16 ? hex.size() - 16 : 0;
  if (!half(hex.substr(0, split), &key.high) || !half(hex.substr(split), &key.low)) return std::nullopt;
  return key;
}

std::vector<JaegerSpan> to_jaeger(const StoredTrace& trace) {
  std::vector<JaegerSpan> out;
  std::vector<std::pair<const StoredProcess*, std::shared_ptr<const jt::Process>>> processes;
  out.reserve(trace.span_count);
  for (const StoredSpan* s : trace.spans()) {
    const StoredProcess* const process = s->process();
    auto it = std::find_if(processes.begin(), processes.end(), [&](const auto& p) { return p.first == process; });
    if (it == processes.end()) it = processes.insert(processes.end(), {process, jaeger_process(*process)});
    out.push_back({jaeger_span(*s), it->second});
  }
  return out;
}

TraceStore::TraceStore(std::size_t max_traces, std::size_t max_bytes) : max_traces_(max_traces), max_bytes_(max_bytes) {}
TraceStore::~TraceStore() = default;

std::shared_ptr<TraceStore::Prepared> TraceStore::prepare(const Request& request) {
  auto prepared = std::make_shared<Prepared>();
  Prepared& p = *prepared;
  p.item_count = request.item_count();
  std::string_view bytes = request.wire();
  bool in_order = request.fields_in_order();
  if (bytes.empty() && request.item_count() > 0) {  // built in memory: serialize it once
    p.own_bytes = request.message().SerializeAsString();
    bytes = p.own_bytes;
    in_order = true;  // (protobuf writes fields in order)
  }
  std::size_t resources = 0, scopes = 0;
  for (WireReader top(bytes); top.next();) {
    if (top.number != 1 || top.type != WireType::len) continue;
    ++resources;
    for (WireReader rs(top.bytes); rs.next();) scopes += rs.number == 2 && rs.type == WireType::len;
  }
  p.processes.reserve(resources);
  p.scopes.reserve(scopes);
  p.runs.reserve(std::max<std::size_t>(p.item_count, 1));  // (released once added)
  WireReader top(bytes);
  while (top.next()) {
    if (top.number != 1 || top.type != WireType::len) continue;  // resource_spans
    std::string_view resource;
    // Two passes over the ResourceSpans: the resource may come after the scope_spans in the
    // bytes. The first pass hops over a few fields.
    WireReader rs(top.bytes);
    while (rs.next()) {
      if (rs.number == 1 && rs.type == WireType::len) resource = rs.bytes;
    }
    const StoredProcess* process = &p.processes.emplace_back(StoredProcess{service_of(resource), resource});

    WireReader rs2(top.bytes);
    while (rs2.next()) {
      if (rs2.number != 2 || rs2.type != WireType::len) continue;  // scope_spans
      // One pass over the spans (the scope, field 1, comes before them as encoders write it,
      // but may come after): each span is read into the request's array, and joins the run of
      // the span before it if they share a trace. The bytes ahead are prefetched (where they
      // are cold: when the store reads a request long after it was received).
      StoredScope& scope_spans = p.scopes.emplace_back(StoredScope{process, {}, prepared.get()});
      WireReader ss(rs2.bytes);
      const char* const scope_spans_end = rs2.bytes.data() + rs2.bytes.size();
      const char* prefetched = rs2.bytes.data();
      while (ss.next()) {
        // (The scope, written before the spans by encoders, may come after them: it is theirs too.)
        if (ss.tag == field_tag(1, WireType::len)) scope_spans.scope = ss.bytes;
        if (ss.tag != field_tag(2, WireType::len)) continue;  // spans
        // Where the next spans start is known only once a span's length is read, so
        // prefetching span by span leaves one cache miss after another; instead every line
        // up to kPrefetchAhead bytes past this span is asked for, a stream the memory system
        // serves in parallel.
        const char* const ahead = std::min(ss.bytes.data() + ss.bytes.size() + kPrefetchAhead, scope_spans_end);
        for (; prefetched < ahead; prefetched += 64) __builtin_prefetch(prefetched);
        StoredSpan read;  // (built here, and copied once into the array)
        const TraceKey key = index_span(ss.bytes, in_order, &scope_spans, read);
        StoredSpan& span = p.next_span(read);
        // (What follows reads `read`, in registers, not the copy just stored.)
        const std::int64_t end_us = read.start_us + read.duration_us;
        if (!p.runs.empty() && p.runs.back().key == key) {
          Prepared::Run& run = p.runs.back();
          run.last->next = &span;
          run.last = &span;
          ++run.count;
          run.start_us = std::min(run.start_us, read.start_us);
          run.end_us = std::max(run.end_us, end_us);
        } else {
          p.runs.push_back({key, &span, &span, 1, read.start_us, end_us});
        }
        const Prepared::Operation* last_op = p.operations.empty() ? nullptr : &p.operations.back();
        const std::string_view name = read.name();
        if (!last_op || last_op->process != process || last_op->kind != read.kind || !same_bytes(last_op->name, name)) {
          p.operations.push_back({process, name, read.kind});
        }
        ++p.span_count;
      }
    }
  }
  return prepared;
}

void TraceStore::add(const RequestPtr& request) { add(request, prepare(*request)); }

void TraceStore::add(const RequestPtr& request, std::shared_ptr<Prepared> prepared) {
  if (!prepared || prepared->added.exchange(true)) {
    prepared = prepare(*request);
    prepared->added = true;
  }
  Prepared& p = *prepared;
  std::unique_lock lock(mutex_);
  // Every run's slot in the map is asked of memory at once (with tens of thousands of traces
  // held, each is a cache miss): the misses overlap instead of coming one after another.
  for (const Prepared::Run& run : p.runs) traces_.prefetch(run.key);
  // The search form's services and operations (kept after eviction, as Jaeger does).
  const StoredProcess* service_of_ops = nullptr;
  OperationKinds* operations = nullptr;
  for (const Prepared::Operation& op : p.operations) {
    if (op.process != service_of_ops) {
      auto it = operations_.find(std::string_view(op.process->service));
      if (it == operations_.end()) it = operations_.emplace(op.process->service, OperationKinds{}).first;
      operations = &it->second;
      service_of_ops = op.process;
    }
    // (An unknown kind is listed as unspecified, as Jaeger lists it: tests/interop/test_jaeger.py.)
    const std::uint8_t kind = std::uint8_t{1} << (op.kind <= 5 ? op.kind : 0);
    if (const auto it = operations->find(op.name); it != operations->end()) {
      it->second |= kind;
    } else {
      operations->emplace(std::string(op.name), kind);
    }
  }
  for (const Prepared::Run& run : p.runs) {
    auto [it, inserted] = traces_.try_emplace(run.key);
    StoredTrace& trace = it->second;
    if (inserted) {
      trace.key = run.key;
      trace.first = run.first;
      trace.start_us = run.start_us;
      trace.end_us = run.end_us;
      trace.owner = &p;
      order_.push_back(run.key);
      bytes_ += kTraceOverhead;
    } else {
      if (trace.owner != &p) trace.owner = nullptr;  // spans from more than one request
      trace.last->next = run.first;
      trace.start_us = std::min(trace.start_us, run.start_us);
      trace.end_us = std::max(trace.end_us, run.end_us);
    }
    trace.last = run.last;
    trace.span_count += run.count;
  }
  spans_ += p.span_count;
  p.live_spans = p.span_count;
  std::vector<Prepared::Run>().swap(p.runs);  // read: no longer needed
  std::vector<Prepared::Operation>().swap(p.operations);
  if (p.live_spans > 0) {
    p.bytes = std::max(request->wire().size(), request->memory_bytes()) + p.own_bytes.capacity() +
              p.processes.capacity() * (sizeof(StoredProcess) + 32) + p.scopes.capacity() * sizeof(StoredScope) +
              sizeof(Prepared) + 32;
    for (const auto& spans : p.spans) p.bytes += spans.capacity() * sizeof(StoredSpan);
    for (const auto& process : p.processes) p.bytes += process.service.capacity();
    bytes_ += p.bytes;
    held_.push_back({request, std::move(prepared)});
    p.place = std::prev(held_.end());
  }
  evict_locked();
}

void TraceStore::evict_locked() {
  while (!order_.empty() && (traces_.size() > max_traces_ || bytes_ > max_bytes_)) {
    // The oldest traces' slots are asked for kEvictAhead evictions before they are needed.
    if (order_.size() > kEvictAhead) traces_.prefetch(order_[kEvictAhead]);
    const auto it = traces_.find(order_.front());
    order_.pop_front();
    if (it == traces_.end()) continue;
    // A trace's spans mostly came in one request; otherwise they are counted per run of owner.
    const auto release = [&](const void* owner, std::size_t spans) {
      Prepared& held = *static_cast<Prepared*>(const_cast<void*>(owner));
      if ((held.live_spans -= spans) == 0) {
        bytes_ -= held.bytes;
        held_.erase(held.place);  // (the last line: it may destroy `held`)
      }
    };
    if (it->second.owner) {
      release(it->second.owner, it->second.span_count);
    } else {
      for (const StoredSpan* s = it->second.first; s;) {
        const void* const owner = s->owner();
        std::size_t run = 0;
        for (; s && s->owner() == owner; s = s->next) ++run;
        release(owner, run);
      }
    }
    bytes_ -= kTraceOverhead;
    spans_ -= it->second.span_count;
    evicted_spans_ += it->second.span_count;
    ++evicted_traces_;
    traces_.erase(it);
  }
}

std::vector<std::string> TraceStore::services() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [service, ops] : operations_) out.push_back(service);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::pair<std::string, std::string>> TraceStore::operations(const std::string& service) const {
  std::shared_lock lock(mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  if (const auto it = operations_.find(std::string_view(service)); it != operations_.end()) {
    for (const auto& [name, kinds] : it->second) {
      for (int kind = 0; kind <= 5; ++kind) {
        if (kinds & (1 << kind)) out.emplace_back(name, span_kind_names(kind).lower);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool TraceStore::matches(const StoredTrace& trace, const TraceQuery& q) {
  if (q.end_us && trace.start_us > q.end_us) return false;
  if (q.start_us && trace.end_us < q.start_us) return false;
  const StoredProcess* mapped = nullptr;
  std::shared_ptr<const jt::Process> process;
  for (const StoredSpan* stored : trace.spans()) {
    const StoredSpan& s = *stored;
    const StoredProcess& p = *s.process();
    if (!q.service.empty() && p.service != q.service) continue;
    if (!q.operation.empty() && s.name() != q.operation) continue;
    if (q.start_us && s.start_us < q.start_us) continue;
    if (q.end_us && s.start_us > q.end_us) continue;
    if (q.min_duration_us && s.duration_us < q.min_duration_us) continue;
    if (q.max_duration_us && s.duration_us > q.max_duration_us) continue;
    if (q.tags.empty()) return true;
    // Cheap first: an attribute's key (and a string value) must appear in the span's or its
    // resource's bytes. Only then is the span mapped to Jaeger's model and compared exactly.
    const bool possible = std::all_of(q.tags.begin(), q.tags.end(), [&](const auto& kv) {
      if (derived_tag(kv.first)) return true;
      const bool key = contains(s.wire(), kv.first) || contains(p.resource, kv.first);
      return key && (!literal_value(kv.second) || contains(s.wire(), kv.second) || contains(p.resource, kv.second));
    });
    if (!possible) continue;
    const jt::Span span = jaeger_span(s);
    if (mapped != &p) {  // a trace's spans mostly share one process: map it once
      process = jaeger_process(p);
      mapped = &p;
    }
    const bool all_tags = std::all_of(q.tags.begin(), q.tags.end(), [&](const auto& kv) {
      if (has_tag(span.tags, kv.first, kv.second) || has_tag(process->tags, kv.first, kv.second)) return true;
      if (kv.first == "service.name" && kv.second == process->serviceName) return true;
      return std::any_of(span.logs.begin(), span.logs.end(),
                         [&](const jt::Log& log) { return has_tag(log.fields, kv.first, kv.second); });
    });
    if (all_tags) return true;
  }
  return false;
}

std::vector<Dependency> TraceStore::dependencies(std::int64_t start_us, std::int64_t end_us) const {
  std::shared_lock lock(mutex_);
  std::map<std::pair<std::string, std::string>, std::uint64_t> edges;
  std::unordered_map<std::int64_t, const StoredSpan*> by_id;
  std::vector<std::pair<const StoredSpan*, std::int64_t>> parents;  // (span, its parent's id)
  for (const auto& [key, trace] : traces_) {
    if ((end_us && trace.start_us > end_us) || (start_us && trace.end_us < start_us)) continue;
    by_id.clear();
    parents.clear();
    for (const StoredSpan* s : trace.spans()) {
      const StoredSpan::Ids ids = s->ids();
      by_id[ids.span_id] = s;
      if (ids.parent_id) parents.emplace_back(s, ids.parent_id);
    }
    for (const auto& [s, parent_id] : parents) {
      const auto parent = by_id.find(parent_id);
      if (parent == by_id.end()) continue;
      const std::string& from = parent->second->process()->service;
      const std::string& to = s->process()->service;
      if (from != to) ++edges[{from, to}];
    }
  }
  std::vector<Dependency> out;
  for (auto& [edge, calls] : edges) out.push_back({edge.first, edge.second, calls});
  return out;
}

TraceStore::Stats TraceStore::stats() const {
  std::shared_lock lock(mutex_);
  return {traces_.size(), spans_, bytes_, evicted_traces_, evicted_spans_};
}

}  // namespace otlpd
