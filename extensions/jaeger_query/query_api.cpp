#include "extensions/jaeger_query/query_api.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/strutil.h>
#include <simdjson.h>

#include <chrono>
#include <charconv>
#include <limits>
#include <map>

#include "json/json_writer.h"
#include "net/http_server.h"
#include "otlp/hex.h"

namespace otlpd {
namespace {

// Percent-decoding of a URL component ('+' is a space in a query string).
std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::multimap<std::string, std::string> parse_query(std::string_view query) {
  std::multimap<std::string, std::string> params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      params.emplace(url_decode(pair.substr(0, eq), true),
                     eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

std::string param(const std::multimap<std::string, std::string>& params, const std::string& key) {
  const auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

// An integer parameter: false if it is given and is not one; *value is left alone if absent.
bool integer_param(const std::multimap<std::string, std::string>& params, const std::string& key,
                   std::int64_t* value) {
  const std::string text = param(params, key);
  if (text.empty()) return true;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void envelope_begin(JsonWriter& w) {
  w.begin_object();
  w.key("data");
}
void envelope_end(JsonWriter& w, std::size_t total) {
  w.key("total");
  w.number(static_cast<std::uint64_t>(total));
  w.key("limit");
  w.number(0);
  w.key("offset");
  w.number(0);
  w.key("errors");
  w.null();
  w.end_object();
}

void respond_json(std::string* out, const HttpRequest& request, int status, const std::string& body) {
  write_http_response(out, status, "application/json", body, request.keep_alive);
}

void respond_error(std::string* out, const HttpRequest& request, int status, const std::string& message) {
  std::string body = R"({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":)" + std::to_string(status) +
                     R"(,"msg":")";
  JsonWriter::escape(body, valid_utf8(message));  // messages may quote the request
  body += "\"}]}";
  respond_json(out, request, status, body);
}

void write_tags(JsonWriter& w, const std::vector<jt::Tag>& tags) {
  w.begin_array();
  for (const jt::Tag& t : tags) {
    w.begin_object();
    w.key("key");
    w.string(t.key);
    w.key("type");
    switch (t.vType) {
      case jt::TagType::STRING: w.string("string"); w.key("value"); w.string(t.vStr); break;
      case jt::TagType::BOOL: w.string("bool"); w.key("value"); w.boolean(t.vBool); break;
      case jt::TagType::LONG: w.string("int64"); w.key("value"); w.number(t.vLong); break;
      case jt::TagType::DOUBLE: w.string("float64"); w.key("value"); w.number(t.vDouble); break;
      case jt::TagType::BINARY: {  // base64, as Jaeger's JSON (Go's encoding of []byte)
        std::string b64;
        google::protobuf::Base64Escape(t.vBinary, &b64);
        w.string("binary");
        w.key("value");
        w.string(b64);
        break;
      }
    }
    w.end_object();
  }
  w.end_array();
}

}  // namespace

bool parse_duration_us(std::string_view text, std::int64_t* us) {
  if (text.empty()) return false;
  double total = 0;
  while (!text.empty()) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) return false;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    double unit = 0;
    for (auto [name, factor] : {std::pair{"ns", 1e-3}, std::pair{"us", 1.0}, std::pair{"µs", 1.0}, std::pair{"ms", 1e3},
                                std::pair{"s", 1e6}, std::pair{"m", 60e6}, std::pair{"h", 3600e6}}) {
      const std::string_view n(name);
      if (text.substr(0, n.size()) == n && !(n == "m" && text.substr(0, 2) == "ms")) {
        unit = factor;
        text.remove_prefix(n.size());
        break;
      }
    }
    if (unit == 0) return false;
    total += value * unit;
  }
  if (!(total < 9.0e18)) return false;  // beyond int64 microseconds (about 285 000 years)
  *us = static_cast<std::int64_t>(total);
  return true;
}

void QueryApi::write_trace(std::string& out, const StoredTrace& trace) {
  JsonWriter w(out);
  const std::string trace_id = to_hex(trace.key);
  const std::vector<JaegerSpan> spans = to_jaeger(trace);
  // Processes: one id per distinct process in the trace (p1, p2, ...).
  std::vector<const jt::Process*> processes;
  const auto process_id = [&](const jt::Process* p) {
    for (std::size_t i = 0; i < processes.size(); ++i) {
      if (processes[i] == p || *processes[i] == *p) return fmt::format("p{}", i + 1);
    }
    processes.push_back(p);
    return fmt::format("p{}", processes.size());
  };
  w.begin_object();
  w.key("traceID");
  w.string(trace_id);
  w.key("spans");
  w.begin_array();
  for (const JaegerSpan& stored : spans) {
    const jt::Span& s = stored.span;
    w.begin_object();
    w.key("traceID");
    w.string(trace_id);
    w.key("spanID");
    w.string(fmt::format("{:016x}", static_cast<std::uint64_t>(s.spanId)));
    w.key("flags");
    w.number(s.flags);
    w.key("operationName");
    w.string(s.operationName);
    w.key("references");
    w.begin_array();
    for (const jt::SpanRef& r : s.references) {
      w.begin_object();
      w.key("refType");
      w.string(r.refType == jt::SpanRefType::CHILD_OF ? "CHILD_OF" : "FOLLOWS_FROM");
      w.key("traceID");
      w.string(to_hex(TraceKey{r.traceIdHigh, r.traceIdLow}));
      w.key("spanID");
      w.string(fmt::format("{:016x}", static_cast<std::uint64_t>(r.spanId)));
      w.end_object();
    }
    w.end_array();
    w.key("startTime");
    w.number(s.startTime);
    w.key("duration");
    w.number(s.duration);
    w.key("tags");
    write_tags(w, s.tags);
    w.key("logs");
    w.begin_array();
    for (const jt::Log& log : s.logs) {
      w.begin_object();
      w.key("timestamp");
      w.number(log.timestamp);
      w.key("fields");
      write_tags(w, log.fields);
      w.end_object();
    }
    w.end_array();
    w.key("processID");
    w.string(process_id(stored.process.get()));
    w.key("warnings");
    w.null();
    w.end_object();
  }
  w.end_array();
  w.key("processes");
  w.begin_object();
  for (std::size_t i = 0; i < processes.size(); ++i) {
    w.key(fmt::format("p{}", i + 1));
    w.begin_object();
    w.key("serviceName");
    w.string(processes[i]->serviceName);
    w.key("tags");
    write_tags(w, processes[i]->tags);
    w.end_object();
  }
  w.end_object();
  w.key("warnings");
  w.null();
  w.end_object();
}

void QueryApi::handle(HttpRequest& request, std::string* out) const {
  const std::size_t question = request.url.find('?');
  const std::string path = url_decode(std::string_view(request.url).substr(0, question), false);
  const auto params = parse_query(question == std::string::npos ? "" : std::string_view(request.url).substr(question + 1));
  if (request.method != HTTP_GET) {
    return respond_error(out, request, 405, "only GET is served here");
  }
  if (path.rfind("/api/", 0) != 0) {  // the web viewer: one page, it routes by itself
    return write_http_response(out, 200, "text/html; charset=utf-8", viewer_, request.keep_alive,
                               "Cache-Control: no-cache\r\n");
  }
  std::string body;
  JsonWriter w(body);
  if (path == "/api/services") {
    const auto services = store_.services();
    envelope_begin(w);
    w.begin_array();
    for (const auto& s : services) w.string(s);
    w.end_array();
    envelope_end(w, services.size());
    return respond_json(out, request, 200, body);
  }
  if (path.rfind("/api/services/", 0) == 0 && path.size() > 25 && path.ends_with("/operations")) {
    const std::string service = path.substr(14, path.size() - 14 - 11);
    std::vector<std::string> names;  // each name once, whatever its kinds
    for (auto& [name, kind] : store_.operations(service)) {
      if (names.empty() || names.back() != name) names.push_back(std::move(name));
    }
    envelope_begin(w);
    w.begin_array();
    for (const auto& name : names) w.string(name);
    w.end_array();
    envelope_end(w, names.size());
    return respond_json(out, request, 200, body);
  }
  if (path == "/api/operations") {
    const std::string service = param(params, "service");
    if (service.empty()) return respond_error(out, request, 400, "parameter 'service' is required");
    const std::string kind = param(params, "spanKind");
    std::size_t n = 0;
    envelope_begin(w);
    w.begin_array();
    for (const auto& [name, span_kind] : store_.operations(service)) {
      if (!kind.empty() && kind != span_kind) continue;
      w.begin_object();
      w.key("name");
      w.string(name);
      w.key("spanKind");
      w.string(span_kind);
      w.end_object();
      ++n;
    }
    w.end_array();
    envelope_end(w, n);
    return respond_json(out, request, 200, body);
  }
  if (path.rfind("/api/traces/", 0) == 0) {
    const std::string id = path.substr(12);
    const auto key = parse_trace_id(id);
    if (!key) return respond_error(out, request, 400, fmt::format("'{}' is not a trace id (hex, up to 32 digits)", id));
    envelope_begin(w);
    w.begin_array();
    std::string trace;
    if (!store_.get(*key, [&](const StoredTrace& t) { write_trace(trace, t); })) {
      return respond_error(out, request, 404, "trace not found");
    }
    w.raw(trace);
    w.end_array();
    envelope_end(w, 1);
    return respond_json(out, request, 200, body);
  }
  if (path == "/api/traces") {
    TraceQuery q;
    q.service = param(params, "service");
    if (q.service.empty()) return respond_error(out, request, 400, "parameter 'service' is required");
    q.operation = param(params, "operation");
    for (auto [it, end] = params.equal_range("tag"); it != end; ++it) {
      const std::size_t colon = it->second.find(':');
      if (colon == std::string::npos) {
        return respond_error(out, request, 400, fmt::format("malformed 'tag' parameter '{}' (expected key:value)", it->second));
      }
      q.tags.emplace_back(it->second.substr(0, colon), it->second.substr(colon + 1));
    }
    if (const std::string tags = param(params, "tags"); !tags.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::object object;
      if (parser.parse(tags).get(object)) {
        return respond_error(out, request, 400, fmt::format("malformed 'tags' parameter: not a JSON object: {}", tags));
      }
      for (auto [key, value] : object) {
        std::string v;
        if (value.is_string()) v = std::string(value.get_string().value());
        else v = simdjson::minify(value);
        q.tags.emplace_back(std::string(key), v);
      }
    }
    std::int64_t limit = 0;
    if (!integer_param(params, "start", &q.start_us) || !integer_param(params, "end", &q.end_us) ||
        !integer_param(params, "limit", &limit) || limit < 0) {
      return respond_error(out, request, 400, "start, end and limit must be integers (start/end in microseconds)");
    }
    if (limit > 0) q.limit = static_cast<std::size_t>(limit);
    if (const std::string lookback = param(params, "lookback"); !lookback.empty() && lookback != "custom" && !q.start_us) {
      std::int64_t us = 0;
      if (!parse_duration_us(lookback, &us)) {
        return respond_error(out, request, 400, fmt::format("cannot parse lookback '{}' (e.g. 1h, 30m)", lookback));
      }
      q.start_us = now_us() - us;
    }
    for (auto [name, target] : {std::pair{"minDuration", &q.min_duration_us}, std::pair{"maxDuration", &q.max_duration_us}}) {
      const std::string text = param(params, name);
      if (!text.empty() && !parse_duration_us(text, target)) {
        return respond_error(out, request, 400, fmt::format("cannot parse {} '{}' (e.g. 1.2s, 100ms, 500us)", name, text));
      }
    }
    envelope_begin(w);
    w.begin_array();
    std::string trace;
    const std::size_t n = store_.find(q, [&](const StoredTrace& t) {
      trace.clear();
      write_trace(trace, t);
      w.raw(trace);
    });
    w.end_array();
    envelope_end(w, n);
    return respond_json(out, request, 200, body);
  }
  if (path == "/api/dependencies") {
    // endTs and lookback in milliseconds, as Jaeger's UI sends them.
    std::int64_t end_ms = 0, lookback_ms = 0;
    constexpr std::int64_t kMaxMs = std::numeric_limits<std::int64_t>::max() / 1000;
    for (auto [name, target] : {std::pair{"endTs", &end_ms}, std::pair{"lookback", &lookback_ms}}) {
      if (!integer_param(params, name, target) || *target < 0 || *target > kMaxMs) {
        return respond_error(out, request, 400, fmt::format("{} must be milliseconds since the epoch / a number of "
                                                            "milliseconds, not '{}'", name, param(params, name)));
      }
    }
    const std::int64_t end_us = end_ms * 1000;
    const std::int64_t start_us = end_us && lookback_ms ? end_us - lookback_ms * 1000 : 0;
    const auto deps = store_.dependencies(start_us, end_us);
    envelope_begin(w);
    w.begin_array();
    for (const auto& d : deps) {
      w.begin_object();
      w.key("parent");
      w.string(d.parent);
      w.key("child");
      w.string(d.child);
      w.key("callCount");
      w.number(d.calls);
      w.end_object();
    }
    w.end_array();
    envelope_end(w, deps.size());
    return respond_json(out, request, 200, body);
  }
  respond_error(out, request, 404, fmt::format("no such API: {}", path));
}

}  // namespace otlpd
