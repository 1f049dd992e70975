#include "pipeline/otlp_json_decoder.h"

#include <fmt/format.h>
#include <google/protobuf/stubs/strutil.h>
#include <google/protobuf/util/json_util.h>
#include <simdjson.h>

#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/metrics/v1/metrics.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace otlpd {
namespace {

namespace pb = google::protobuf;

bool is_id_key(std::string_view key) {
  return key == "traceId" || key == "spanId" || key == "parentSpanId" || key == "trace_id" || key == "span_id" ||
         key == "parent_span_id";
}

// The enum-typed fields of OTLP, by JSON key (either spelling): an enum given by name must be
// one of its names; protobuf's parser would otherwise drop it silently (ignore_unknown_fields).
const pb::EnumDescriptor* enum_of(std::string_view key) {
  namespace t = opentelemetry::proto::trace::v1;
  namespace m = opentelemetry::proto::metrics::v1;
  namespace l = opentelemetry::proto::logs::v1;
  if (key == "kind") return t::Span::SpanKind_descriptor();
  if (key == "code") return t::Status::StatusCode_descriptor();
  if (key == "severityNumber" || key == "severity_number") return l::SeverityNumber_descriptor();
  if (key == "aggregationTemporality" || key == "aggregation_temporality") return m::AggregationTemporality_descriptor();
  return nullptr;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void escape_into(std::string& out, std::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += ch;
    }
  }
}

// Re-writes the parsed document as JSON, with ids turned from hex into base64.
class Rewriter {
 public:
  bool write(simdjson::dom::element e, std::string& path) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
      case T::OBJECT: {
        out += '{';
        bool first = true;
        for (auto [key, value] : simdjson::dom::object(e)) {
          if (!first) out += ',';
          first = false;
          out += '"';
          escape_into(out, key);
          out += "\":";
          const std::size_t saved = path.size();
          if (!path.empty()) path += '.';
          path += key;
          bool ok;
          if (is_id_key(key) && value.is_string()) {
            ok = id(value.get_string().value(), path);
          } else if (const auto* type = enum_of(key); type && value.is_string() &&
                     !type->FindValueByName(std::string(value.get_string().value()))) {
            ok = fail(path, fmt::format("'{}' is not a {} value", value.get_string().value(), type->name()));
          } else {
            ok = write(value, path);
          }
          if (!ok) return false;
          path.resize(saved);
        }
        out += '}';
        return true;
      }
      case T::ARRAY: {
        out += '[';
        std::size_t i = 0;
        for (auto value : simdjson::dom::array(e)) {
          if (i) out += ',';
          const std::size_t saved = path.size();
          path += fmt::format("[{}]", i++);
          if (!write(value, path)) return false;
          path.resize(saved);
        }
        out += ']';
        return true;
      }
      case T::STRING:
        out += '"';
        escape_into(out, e.get_string().value());
        out += '"';
        return true;
      default:  // numbers, booleans, null: as written
        out += simdjson::minify(e);
        return true;
    }
  }

  bool id(std::string_view hex, const std::string& path) {
    if (hex.size() % 2 != 0) return fail(path, fmt::format("'{}' is not a hex id (odd length)", hex));
    std::string bytes(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) return fail(path, fmt::format("'{}' is not a hex id", hex));
      bytes[i] = static_cast<char>(hi << 4 | lo);
    }
    std::string b64;
    pb::Base64Escape(bytes, &b64);
    out += '"' + b64 + '"';
    return true;
  }

  bool fail(const std::string& path, std::string what) {
    error = fmt::format("field {}: {}", path, what);
    return false;
  }

  std::string out;
  std::string error;
};

}  // namespace

RequestPtr decode_otlp_json(Signal signal, std::string_view json, std::string* error) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element document;
  if (auto e = parser.parse(padded).get(document); e) {
    *error = fmt::format("invalid JSON: {}", simdjson::error_message(e));
    return nullptr;
  }
  if (!document.is_object()) {
    *error = "invalid OTLP/JSON: the body must be a JSON object";
    return nullptr;
  }
  Rewriter rewriter;
  rewriter.out.reserve(json.size() + json.size() / 8);
  std::string path;
  if (!rewriter.write(document, path)) {
    *error = std::move(rewriter.error);
    return nullptr;
  }
  std::unique_ptr<pb::Message> message;
  switch (signal) {
    case Signal::traces: message = std::make_unique<otlp::TracesRequest>(); break;
    case Signal::metrics: message = std::make_unique<otlp::MetricsRequest>(); break;
    case Signal::logs: message = std::make_unique<otlp::LogsRequest>(); break;
  }
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (auto status = pb::util::JsonStringToMessage(rewriter.out, message.get(), options); !status.ok()) {
    *error = fmt::format("invalid OTLP/JSON: {}", status.message().as_string());
    return nullptr;
  }
  if (std::string invalid = validate_ids(signal, *message); !invalid.empty()) {
    *error = std::move(invalid);
    return nullptr;
  }
  return Request::adopt(signal, std::move(message));
}

}  // namespace otlpd
