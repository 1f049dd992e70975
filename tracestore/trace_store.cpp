#include "tracestore/trace_store.h"

#include <fmt/format.h>

#include <algorithm>
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
constexpr std::size_t kChunk = 1024;  // spans add() reads before storing them
constexpr std::ptrdiff_t kPrefetchAhead = 4096;  // bytes of spans add() asks the memory for ahead of use
}  // namespace

// A request some stored spans point into, and the processes of its resources.
struct TraceStore::Held {
  RequestPtr request;
  std::string own_bytes;  // the protobuf bytes of a request built in memory (it has no wire)
  std::vector<std::unique_ptr<StoredProcess>> processes;
  // Its spans as indexed, written once, in order, where they stay: traces link through these
  // arrays. The first one is sized by the request's item count; another is added only if it
  // held more spans than it counted. (Each is reserved and never grows, so pointers hold.)
  std::vector<std::vector<StoredSpan>> spans;
  StoredSpan& next_span() {
    if (spans.empty() || spans.back().size() == spans.back().capacity()) {
      const std::size_t size = spans.empty() ? std::max<std::size_t>(request->item_count(), 1) : kChunk;
      spans.emplace_back().reserve(size);
    }
    return spans.back().emplace_back();
  }
  std::size_t live_spans = 0;
  std::size_t bytes = 0;
  std::list<Held>::iterator place;  // in held_, to be erased when its last span is evicted
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
  span.ParseFromArray(s.wire.data(), static_cast<int>(s.wire.size()));
  opentelemetry::proto::common::v1::InstrumentationScope scope;
  scope.ParseFromArray(s.scope.data(), static_cast<int>(s.scope.size()));
  return jaeger::to_span(span, scope);
}

std::shared_ptr<const jt::Process> jaeger_process(const StoredProcess& p) {
  opentelemetry::proto::resource::v1::Resource resource;
  resource.ParseFromArray(p.resource.data(), static_cast<int>(p.resource.size()));
  return std::make_shared<const jt::Process>(jaeger::to_process(resource));
}

// What the store indexes of one Span message (its fields 1-8), into `span`; returns its trace.
TraceKey index_span(std::string_view wire, const StoredProcess* process, const void* owner, StoredSpan& span) {
  span.wire = wire;
  span.process = process;
  span.owner = owner;
  std::string_view trace_id;
  std::uint64_t start = 0, end = 0;
  // Encoders write fields in number order, so once all of fields 1-8 were seen the rest of the
  // span (attributes, events, links: most of its bytes) need not be touched; otherwise (a field
  // may be absent, or come later) it is read on.
  constexpr std::uint32_t kIndexed = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8;
  std::uint32_t seen = 0;
  WireReader f(wire);
  while (f.next()) {
    if (f.number < 32) seen |= 1u << f.number;
    if (f.number > 8 && (seen & kIndexed) == kIndexed) break;
    switch (f.number) {
      case 1: trace_id = f.bytes; break;
      case 2: span.span_id = jaeger::big_endian_i64(f.bytes); break;
      case 4: span.parent_id = f.bytes.empty() ? 0 : jaeger::big_endian_i64(f.bytes); break;
      case 5: span.name = f.bytes; break;
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
    auto it = std::find_if(processes.begin(), processes.end(), [&](const auto& p) { return p.first == s->process; });
    if (it == processes.end()) it = processes.insert(processes.end(), {s->process, jaeger_process(*s->process)});
    out.push_back({jaeger_span(*s), it->second});
  }
  return out;
}

TraceStore::TraceStore(std::size_t max_traces, std::size_t max_bytes) : max_traces_(max_traces), max_bytes_(max_bytes) {}
TraceStore::~TraceStore() = default;

void TraceStore::add(const RequestPtr& request) {
  std::list<Held> node(1);  // joins held_ (under the lock, without copying) if a span is kept
  Held* const held = &node.front();
  held->request = request;
  std::string_view bytes = request->wire();
  if (bytes.empty() && request->item_count() > 0) {  // built in memory: serialize it once
    held->own_bytes = request->message().SerializeAsString();
    bytes = held->own_bytes;
  }
  const void* owner = held;
  std::unique_lock lock(mutex_);
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
    held->processes.push_back(std::make_unique<StoredProcess>(StoredProcess{service_of(resource), resource}));
    const StoredProcess* process = held->processes.back().get();
    auto service_ops = operations_.find(std::string_view(process->service));
    if (service_ops == operations_.end()) service_ops = operations_.emplace(process->service, OperationKinds{}).first;

    WireReader rs2(top.bytes);
    while (rs2.next()) {
      if (rs2.number != 2 || rs2.type != WireType::len) continue;  // scope_spans
      // One pass over the spans: their bytes are cold here (the receiver read them on another
      // thread, a batch ago), and a first pass that only hopped from span to span to find the
      // scope cost a cache miss per span. Each span is read into its request's array (scratch_
      // notes its trace and place), the bytes ahead prefetched, and joins its trace a chunk at
      // a time with the scope (field 1, which encoders write once, before the spans) as read so
      // far; a scope written after the spans holds the chunks back until the end.
      scratch_.clear();
      std::string_view scope;
      bool scope_read = false;
      WireReader ss(rs2.bytes);
      const char* const scope_spans_end = rs2.bytes.data() + rs2.bytes.size();
      const char* prefetched = rs2.bytes.data();
      while (ss.next()) {
        if (ss.number == 1 && ss.type == WireType::len) {
          scope = ss.bytes;
          scope_read = true;
        }
        if (ss.number != 2 || ss.type != WireType::len) continue;  // spans
        // Where the next spans start is known only once a span's length is read, so
        // prefetching span by span leaves one cache miss after another; instead every line
        // up to kPrefetchAhead bytes past this span is asked for, a stream the memory system
        // serves in parallel.
        const char* const ahead = std::min(ss.bytes.data() + ss.bytes.size() + kPrefetchAhead, scope_spans_end);
        for (; prefetched < ahead; prefetched += 64) __builtin_prefetch(prefetched);
        StoredSpan& span = held->next_span();
        scratch_.push_back({index_span(ss.bytes, process, owner, span), &span});
        if (scratch_.size() == kChunk && scope_read) store_scratch_locked(scope, service_ops->second, *held);
      }
      store_scratch_locked(scope, service_ops->second, *held);
    }
  }
  if (scratch_.capacity() > kChunk) scratch_ = {};  // (spans before a late scope)
  if (held->live_spans > 0) {
    held->bytes = std::max(bytes.size(), request->memory_bytes()) + held->own_bytes.capacity() +
                  held->processes.size() * (sizeof(StoredProcess) + 32);
    for (const auto& spans : held->spans) held->bytes += spans.capacity() * sizeof(StoredSpan);
    for (const auto& p : held->processes) held->bytes += p->service.capacity();
    bytes_ += held->bytes;
    held->place = node.begin();
    held_.splice(held_.end(), node);
  }
  evict_locked();
}

// Appends scratch_'s spans to their traces. Runs of spans of one trace (a trace's spans
// usually arrive together) take one lookup, and a new trace one allocation for its spans.
void TraceStore::store_scratch_locked(std::string_view scope, OperationKinds& operations, Held& held) {
  std::string_view last_name;  // the operation last recorded
  for (std::size_t i = 0; i < scratch_.size();) {
    const TraceKey key = scratch_[i].trace;
    std::size_t j = i + 1;
    while (j < scratch_.size() && scratch_[j].trace == key) ++j;
    auto [it, inserted] = traces_.try_emplace(key);
    StoredTrace& trace = it->second;
    if (inserted) {
      trace.key = key;
      trace.start_us = scratch_[i].span->start_us;
      trace.end_us = trace.start_us;
      trace.owner = &held;
      order_.push_back(key);
      bytes_ += kTraceOverhead;
    }
    if (trace.owner != &held) trace.owner = nullptr;  // spans from more than one request
    trace.span_count += j - i;
    for (; i < j; ++i) {
      StoredSpan& span = *scratch_[i].span;
      span.scope = scope;
      trace.start_us = std::min(trace.start_us, span.start_us);
      trace.end_us = std::max(trace.end_us, span.start_us + span.duration_us);
      if (span.name != last_name) {
        if (operations.find(span.name) == operations.end()) operations.emplace(std::string(span.name), span.kind);
        last_name = span.name;
      }
      if (trace.last) {
        trace.last->next = &span;
      } else {
        trace.first = &span;
      }
      trace.last = &span;
    }
  }
  spans_ += scratch_.size();
  held.live_spans += scratch_.size();
  scratch_.clear();
}

void TraceStore::evict_locked() {
  while (!order_.empty() && (traces_.size() > max_traces_ || bytes_ > max_bytes_)) {
    const auto it = traces_.find(order_.front());
    order_.pop_front();
    if (it == traces_.end()) continue;
    // A trace's spans mostly came in one request; otherwise they are counted per run of owner.
    const auto release = [&](const void* owner, std::size_t spans) {
      Held& held = *static_cast<Held*>(const_cast<void*>(owner));
      if ((held.live_spans -= spans) == 0) {
        bytes_ -= held.bytes;
        held_.erase(held.place);
      }
    };
    if (it->second.owner) {
      release(it->second.owner, it->second.span_count);
    } else {
      for (const StoredSpan* s = it->second.first; s;) {
        const void* const owner = s->owner;
        std::size_t run = 0;
        for (; s && s->owner == owner; s = s->next) ++run;
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
    for (const auto& [name, kind] : it->second) out.emplace_back(name, span_kind_names(kind).lower);
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
    if (!q.service.empty() && s.process->service != q.service) continue;
    if (!q.operation.empty() && s.name != q.operation) continue;
    if (q.start_us && s.start_us < q.start_us) continue;
    if (q.end_us && s.start_us > q.end_us) continue;
    if (q.min_duration_us && s.duration_us < q.min_duration_us) continue;
    if (q.max_duration_us && s.duration_us > q.max_duration_us) continue;
    if (q.tags.empty()) return true;
    // Cheap first: an attribute's key (and a string value) must appear in the span's or its
    // resource's bytes. Only then is the span mapped to Jaeger's model and compared exactly.
    const bool possible = std::all_of(q.tags.begin(), q.tags.end(), [&](const auto& kv) {
      if (derived_tag(kv.first)) return true;
      const bool key = contains(s.wire, kv.first) || contains(s.process->resource, kv.first);
      return key && (!literal_value(kv.second) || contains(s.wire, kv.second) ||
                     contains(s.process->resource, kv.second));
    });
    if (!possible) continue;
    const jt::Span span = jaeger_span(s);
    if (mapped != s.process) {  // a trace's spans mostly share one process: map it once
      process = jaeger_process(*s.process);
      mapped = s.process;
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
  for (const auto& [key, trace] : traces_) {
    if ((end_us && trace.start_us > end_us) || (start_us && trace.end_us < start_us)) continue;
    by_id.clear();
    for (const StoredSpan* s : trace.spans()) by_id[s->span_id] = s;
    for (const StoredSpan* s : trace.spans()) {
      if (!s->parent_id) continue;
      const auto parent = by_id.find(s->parent_id);
      if (parent == by_id.end() || parent->second->process->service == s->process->service) continue;
      ++edges[{parent->second->process->service, s->process->service}];
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
