#include "exporters/trace_store/trace_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>

#include "exporters/jaeger/jaeger_thrift_exporter.h"

namespace otlpd {
namespace {

std::size_t tag_bytes(const std::vector<jt::Tag>& tags) {
  std::size_t n = tags.capacity() * sizeof(jt::Tag);
  for (const auto& t : tags) n += t.key.capacity() + t.vStr.capacity() + t.vBinary.capacity();
  return n;
}

std::size_t span_bytes(const jt::Span& s) {
  std::size_t n = sizeof(StoredSpan) + s.operationName.capacity() + tag_bytes(s.tags) +
                  s.references.capacity() * sizeof(jt::SpanRef) + s.logs.capacity() * sizeof(jt::Log);
  for (const auto& log : s.logs) n += tag_bytes(log.fields);
  return n;
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

std::string span_kind(const jt::Span& s) {
  for (const auto& t : s.tags) {
    if (t.key == "span.kind") return t.vStr;
  }
  return "";
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

void TraceStore::add(const otlp::TracesRequest& request) {
  std::vector<jt::Batch> batches = to_jaeger_batches(request);
  std::unique_lock lock(mutex_);
  for (jt::Batch& batch : batches) {
    auto process = std::make_shared<const jt::Process>(std::move(batch.process));
    for (jt::Span& span : batch.spans) {
      const TraceKey key{span.traceIdHigh, span.traceIdLow};
      auto [it, inserted] = traces_.try_emplace(key);
      StoredTrace& trace = it->second;
      const std::int64_t end = span.startTime + span.duration;
      if (inserted) {
        trace.key = key;
        trace.start_us = span.startTime;
        trace.end_us = end;
        order_.push_back(key);
      } else {
        trace.start_us = std::min(trace.start_us, span.startTime);
        trace.end_us = std::max(trace.end_us, end);
      }
      operations_[process->serviceName][span.operationName] = span_kind(span);
      const std::size_t bytes = span_bytes(span);
      trace.bytes += bytes;
      bytes_ += bytes;
      ++spans_;
      trace.spans.push_back(StoredSpan{std::move(span), process});
    }
  }
  evict_locked();
}

void TraceStore::evict_locked() {
  while (!order_.empty() && (traces_.size() > max_traces_ || bytes_ > max_bytes_)) {
    const auto it = traces_.find(order_.front());
    order_.pop_front();
    if (it == traces_.end()) continue;
    bytes_ -= it->second.bytes;
    spans_ -= it->second.spans.size();
    evicted_spans_ += it->second.spans.size();
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
  if (const auto it = operations_.find(service); it != operations_.end()) {
    for (const auto& [name, kind] : it->second) out.emplace_back(name, kind);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool TraceStore::matches(const StoredTrace& trace, const TraceQuery& q) {
  if (q.end_us && trace.start_us > q.end_us) return false;
  if (q.start_us && trace.end_us < q.start_us) return false;
  for (const StoredSpan& s : trace.spans) {
    if (!q.service.empty() && s.process->serviceName != q.service) continue;
    if (!q.operation.empty() && s.span.operationName != q.operation) continue;
    if (q.start_us && s.span.startTime < q.start_us) continue;
    if (q.end_us && s.span.startTime > q.end_us) continue;
    if (q.min_duration_us && s.span.duration < q.min_duration_us) continue;
    if (q.max_duration_us && s.span.duration > q.max_duration_us) continue;
    const bool all_tags = std::all_of(q.tags.begin(), q.tags.end(), [&](const auto& kv) {
      if (has_tag(s.span.tags, kv.first, kv.second) || has_tag(s.process->tags, kv.first, kv.second)) return true;
      return std::any_of(s.span.logs.begin(), s.span.logs.end(),
                         [&](const jt::Log& log) { return has_tag(log.fields, kv.first, kv.second); });
    });
    if (all_tags) return true;
  }
  return false;
}

std::vector<Dependency> TraceStore::dependencies(std::int64_t start_us, std::int64_t end_us) const {
  std::shared_lock lock(mutex_);
  std::map<std::pair<std::string, std::string>, std::uint64_t> edges;
  for (const auto& [key, trace] : traces_) {
    if ((end_us && trace.start_us > end_us) || (start_us && trace.end_us < start_us)) continue;
    std::unordered_map<std::int64_t, const StoredSpan*> by_id;
    for (const StoredSpan& s : trace.spans) by_id[s.span.spanId] = &s;
    for (const StoredSpan& s : trace.spans) {
      if (!s.span.parentSpanId) continue;
      const auto parent = by_id.find(s.span.parentSpanId);
      if (parent == by_id.end() || parent->second->process->serviceName == s.process->serviceName) continue;
      ++edges[{parent->second->process->serviceName, s.process->serviceName}];
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
