#include "otlp/json_decoder.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/strutil.h>
#include <simdjson.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "otlp/hex.h"
#include "otlp/schema.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <vector>

namespace otlpd {
namespace {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;
using simdjson::dom::element;
using Type = simdjson::dom::element_type;

using FieldInfo = schema::Field;
using MessageInfo = schema::Message;

// ---- Where the encoder is, for error messages only (a chain on the stack: no allocation) ----

struct Path {
  const Path* parent = nullptr;
  std::string_view key;       // a field, or empty for an array element
  std::size_t index = 0;

  std::string str() const {
    if (!parent) return "";  // the request itself
    std::string head = parent->str();
    if (key.empty()) return fmt::format("{}[{}]", head, index);
    return head.empty() ? std::string(key) : fmt::format("{}.{}", head, key);
  }
};

const char* type_name(Type t) {
  switch (t) {
    case Type::ARRAY: return "an array";
    case Type::OBJECT: return "an object";
    case Type::INT64:
    case Type::UINT64:
    case Type::DOUBLE: return "a number";
    case Type::STRING: return "a string";
    case Type::BOOL: return "a boolean";
    case Type::NULL_VALUE: return "null";
  }
  return "a value";
}

// ---- The encoder: walks simdjson's DOM and writes protobuf wire format directly ------------

class Encoder {
 public:
  explicit Encoder(std::string& out) : out_(out) {}

  bool message(element object, const MessageInfo& info, const Path& path) {
    for (auto [key, value] : simdjson::dom::object(object)) {
      const FieldInfo* field = info.find(key);
      if (!field || value.is_null()) continue;  // unknown fields are ignored, null is "not set"
      const Path here{&path, key};
      if (field->repeated) {
        if (!value.is_array()) return fail(here, fmt::format("expected an array, got {}", type_name(value.type())));
        if (!repeated(simdjson::dom::array(value), *field, here)) return false;
      } else if (!single(value, *field, here)) {
        return false;
      }
    }
    return true;
  }

  std::string error;

 private:
  bool repeated(simdjson::dom::array values, const FieldInfo& field, const Path& path) {
    const bool packed = field.type != FD::TYPE_MESSAGE && field.type != FD::TYPE_STRING &&
                        field.type != FD::TYPE_BYTES;
    if (!packed) {
      std::size_t i = 0;
      for (element value : values) {
        const Path here{&path, {}, i++};
        if (value.is_null()) return fail(here, "null is not allowed in a repeated field");
        if (!single(value, field, here, /*always=*/true)) return false;
      }
      return true;
    }
    if (values.size() == 0) return true;
    tag(field.number, 2);
    const std::size_t start = open();
    std::size_t i = 0;
    for (element value : values) {
      if (!scalar(value, field, Path{&path, {}, i++}, /*always=*/true, /*with_tag=*/false)) return false;
    }
    close(start);
    return true;
  }

  // One value of `field`; `always` writes it even if it is the default (array elements).
  bool single(element value, const FieldInfo& field, const Path& path, bool always = false) {
    switch (field.type) {
      case FD::TYPE_MESSAGE: {
        if (!value.is_object()) return fail(path, fmt::format("expected an object, got {}", type_name(value.type())));
        tag(field.number, 2);
        const std::size_t start = open();
        if (!message(value, *field.message, path)) return false;
        close(start);
        return true;
      }
      case FD::TYPE_STRING: {
        if (!value.is_string()) return fail(path, fmt::format("expected a string, got {}", type_name(value.type())));
        const std::string_view s = value.get_string().value_unsafe();
        if (s.empty() && !always && !field.presence) return true;
        tag(field.number, 2);
        varint(s.size());
        out_.append(s);
        return true;
      }
      case FD::TYPE_BYTES: return bytes(value, field, path, always);
      default: return scalar(value, field, path, always || field.presence, /*with_tag=*/true);
    }
  }

  bool bytes(element value, const FieldInfo& field, const Path& path, bool always) {
    if (!value.is_string()) return fail(path, fmt::format("expected a string, got {}", type_name(value.type())));
    const std::string_view s = value.get_string().value_unsafe();
    if (field.id_bytes) {  // OTLP/JSON writes trace and span ids in hex
      if (s.empty()) return true;
      if (s.size() % 2 != 0) return fail(path, fmt::format("'{}' is not a hex id (odd length)", s.substr(0, 64)));
      for (char c : s) {
        if (hex_value(c) < 0) return fail(path, fmt::format("'{}' is not a hex id", s.substr(0, 64)));
      }
      if (s.size() != 2 * field.id_bytes) {
        return fail(path, fmt::format("must be {} bytes or empty, got {}", field.id_bytes, s.size() / 2));
      }
      tag(field.number, 2);
      varint(field.id_bytes);
      for (std::size_t i = 0; i < s.size(); i += 2) out_ += static_cast<char>(hex_value(s[i]) << 4 | hex_value(s[i + 1]));
      return true;
    }
    // Other bytes (AnyValue.bytesValue) are base64, standard or URL-safe, as protobuf's JSON.
    scratch_.clear();
    if (!pb::Base64Unescape(pb::StringPiece(s.data(), s.size()), &scratch_) &&
        !pb::WebSafeBase64Unescape(pb::StringPiece(s.data(), s.size()), &scratch_)) {
      return fail(path, "not valid base64");
    }
    if (scratch_.empty() && !always && !field.presence) return true;
    tag(field.number, 2);
    varint(scratch_.size());
    out_.append(scratch_);
    return true;
  }

  // Numbers, booleans and enums.
  bool scalar(element value, const FieldInfo& field, const Path& path, bool always, bool with_tag) {
    switch (field.type) {
      case FD::TYPE_BOOL: {
        bool b = false;
        if (value.get_bool().get(b)) return fail(path, fmt::format("expected true or false, got {}", type_name(value.type())));
        if (!b && !always) return true;
        if (with_tag) tag(field.number, 0);
        out_ += static_cast<char>(b);
        return true;
      }
      case FD::TYPE_DOUBLE:
      case FD::TYPE_FLOAT: {
        double d = 0;
        if (!floating(value, &d)) return fail(path, fmt::format("expected a number, got {}", describe(value)));
        if (d == 0 && !std::signbit(d) && !always) return true;
        if (field.type == FD::TYPE_FLOAT) {
          if (std::isfinite(d) && std::abs(d) > std::numeric_limits<float>::max()) {
            return fail(path, fmt::format("{} is out of range for a float", d));
          }
          const auto f = static_cast<float>(d);
          if (with_tag) tag(field.number, 5);
          fixed(&f, 4);
        } else {
          if (with_tag) tag(field.number, 1);
          fixed(&d, 8);
        }
        return true;
      }
      case FD::TYPE_ENUM: {
        std::int64_t n = 0;
        if (value.is_string()) {
          const std::string_view name = value.get_string().value_unsafe();
          const pb::EnumValueDescriptor* v = field.enumeration()->FindValueByName(std::string(name));
          if (!v) return fail(path, fmt::format("'{}' is not a {} value", name, field.enumeration()->name()));
          n = v->number();
        } else if (!integer(value, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(), &n)) {
          return fail(path, fmt::format("expected a {} name or number, got {}", field.enumeration()->name(), describe(value)));
        }
        if (n == 0 && !always) return true;
        if (with_tag) tag(field.number, 0);
        varint(static_cast<std::uint64_t>(n));  // negative enums: ten bytes, as protobuf
        return true;
      }
      default: return integral(value, field, path, always, with_tag);
    }
  }

  bool integral(element value, const FieldInfo& field, const Path& path, bool always, bool with_tag) {
    const bool is_unsigned = field.type == FD::TYPE_UINT32 || field.type == FD::TYPE_UINT64 ||
                             field.type == FD::TYPE_FIXED32 || field.type == FD::TYPE_FIXED64;
    const bool is_32 = field.type == FD::TYPE_INT32 || field.type == FD::TYPE_SINT32 ||
                       field.type == FD::TYPE_SFIXED32 || field.type == FD::TYPE_UINT32 ||
                       field.type == FD::TYPE_FIXED32;
    std::uint64_t u = 0;
    std::int64_t s = 0;
    bool ok;
    if (is_unsigned) {
      ok = unsigned_integer(value, is_32 ? std::numeric_limits<std::uint32_t>::max()
                                         : std::numeric_limits<std::uint64_t>::max(), &u);
    } else {
      ok = integer(value, is_32 ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int64_t>::min(),
                   is_32 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int64_t>::max(), &s);
      u = static_cast<std::uint64_t>(s);
    }
    if (!ok) {
      return fail(path, fmt::format("expected {} integer, got {}", is_32 ? (is_unsigned ? "a 32-bit unsigned" : "a 32-bit")
                                                                          : (is_unsigned ? "a 64-bit unsigned" : "a 64-bit"),
                                    describe(value)));
    }
    if (u == 0 && !always) return true;
    switch (field.type) {
      case FD::TYPE_FIXED64:
      case FD::TYPE_SFIXED64:
        if (with_tag) tag(field.number, 1);
        fixed(&u, 8);
        return true;
      case FD::TYPE_FIXED32:
      case FD::TYPE_SFIXED32: {
        const auto v = static_cast<std::uint32_t>(u);
        if (with_tag) tag(field.number, 5);
        fixed(&v, 4);
        return true;
      }
      case FD::TYPE_SINT32:
      case FD::TYPE_SINT64:
        if (with_tag) tag(field.number, 0);
        varint((static_cast<std::uint64_t>(s) << 1) ^ static_cast<std::uint64_t>(s >> 63));
        return true;
      case FD::TYPE_INT32:  // negative int32 are sign-extended to ten bytes, as protobuf does
      default:
        if (with_tag) tag(field.number, 0);
        varint(u);
        return true;
    }
  }

  // A JSON number, or a string holding one (64-bit integers are strings in OTLP/JSON), within
  // [lo, hi]; an integral double such as 1e3 is accepted, as by protobuf's JSON parser.
  static bool integer(element value, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
    std::int64_t n = 0;
    switch (value.type()) {
      case Type::INT64: n = value.get_int64().value_unsafe(); break;
      case Type::UINT64: return false;  // above INT64_MAX
      case Type::DOUBLE: {
        const double d = value.get_double().value_unsafe();
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) return false;
        n = static_cast<std::int64_t>(d);
        break;
      }
      case Type::STRING: {
        const std::string_view s = value.get_string().value_unsafe();
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
          double d = 0;  // "1e3" and the like
          if (!parse_double(s, &d) || !(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
              d != std::trunc(d)) {
            return false;
          }
          n = static_cast<std::int64_t>(d);
        }
        break;
      }
      default: return false;
    }
    if (n < lo || n > hi) return false;
    *out = n;
    return true;
  }

  static bool unsigned_integer(element value, std::uint64_t hi, std::uint64_t* out) {
    std::uint64_t n = 0;
    switch (value.type()) {
      case Type::INT64: {
        const std::int64_t i = value.get_int64().value_unsafe();
        if (i < 0) return false;
        n = static_cast<std::uint64_t>(i);
        break;
      }
      case Type::UINT64: n = value.get_uint64().value_unsafe(); break;
      case Type::DOUBLE: {
        const double d = value.get_double().value_unsafe();
        if (!(d >= 0 && d < 18446744073709551616.0) || d != std::trunc(d)) return false;
        n = static_cast<std::uint64_t>(d);
        break;
      }
      case Type::STRING: {
        const std::string_view s = value.get_string().value_unsafe();
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
          double d = 0;
          if (!parse_double(s, &d) || !(d >= 0 && d < 18446744073709551616.0) || d != std::trunc(d)) return false;
          n = static_cast<std::uint64_t>(d);
        }
        break;
      }
      default: return false;
    }
    if (n > hi) return false;
    *out = n;
    return true;
  }

  static bool floating(element value, double* out) {
    switch (value.type()) {
      case Type::INT64: *out = static_cast<double>(value.get_int64().value_unsafe()); return true;
      case Type::UINT64: *out = static_cast<double>(value.get_uint64().value_unsafe()); return true;
      case Type::DOUBLE: *out = value.get_double().value_unsafe(); return true;
      case Type::STRING: {
        const std::string_view s = value.get_string().value_unsafe();
        if (s == "NaN") *out = std::numeric_limits<double>::quiet_NaN();
        else if (s == "Infinity") *out = std::numeric_limits<double>::infinity();
        else if (s == "-Infinity") *out = -std::numeric_limits<double>::infinity();
        else return parse_double(s, out);
        return true;
      }
      default: return false;
    }
  }

  static bool parse_double(std::string_view s, double* out) {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && end == s.data() + s.size() && std::isfinite(*out);
  }

  static std::string describe(element value) {
    if (value.is_string()) {
      std::string_view s = value.get_string().value_unsafe();
      return fmt::format("'{}'", s.substr(0, 64));
    }
    if (value.is_number()) return simdjson::minify(value);
    return type_name(value.type());
  }

  bool fail(const Path& path, std::string what) {
    error = fmt::format("field {}: {}", path.str(), what);
    return false;
  }

  void tag(std::uint32_t number, std::uint32_t wire_type) { varint(number << 3 | wire_type); }

  void varint(std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }

  void fixed(const void* v, std::size_t n) { out_.append(static_cast<const char*>(v), n); }  // little-endian host

  // A length-delimited value: one byte is kept for its length, which close() writes, moving
  // the contents along in the rare case that the length needs more than one byte.
  std::size_t open() {
    out_ += '\0';
    return out_.size();
  }
  void close(std::size_t start) {
    const std::size_t length = out_.size() - start;
    if (length < 0x80) {
      out_[start - 1] = static_cast<char>(length);
      return;
    }
    char buf[10];
    std::size_t n = 0;
    for (std::uint64_t v = length; ; v >>= 7) {
      if (v < 0x80) {
        buf[n++] = static_cast<char>(v);
        break;
      }
      buf[n++] = static_cast<char>(v | 0x80);
    }
    out_.insert(start, n - 1, '\0');
    std::memcpy(out_.data() + start - 1, buf, n);
  }

  std::string& out_;
  std::string scratch_;
};

static_assert(std::endian::native == std::endian::little, "fixed-width fields are written in host order");

}  // namespace

bool encode_otlp_json(Signal signal, std::string_view json, std::string* wire, std::string* error) {
  // One parser per thread: it keeps its buffers between requests.
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element document;
  if (auto e = parser.parse(padded).get(document); e) {
    *error = fmt::format("invalid JSON: {}", simdjson::error_message(e));
    return false;
  }
  if (!document.is_object()) {
    *error = "invalid OTLP/JSON: the body must be a JSON object";
    return false;
  }
  wire->clear();
  wire->reserve(json.size() / 2);
  Encoder encoder(*wire);
  if (!encoder.message(document, schema::request(signal), Path{})) {
    *error = std::move(encoder.error);
    return false;
  }
  return true;
}

RequestPtr decode_otlp_json(Signal signal, std::string_view json, std::string* error,
                            std::shared_ptr<MemoryAccount> account) {
  auto wire = std::make_shared<std::string>();
  if (!encode_otlp_json(signal, json, wire.get(), error)) return nullptr;
  WireBytes bytes{reinterpret_cast<const std::uint8_t*>(wire->data()), wire->size(), wire};
  return Request::receive(signal, std::move(bytes), error, std::move(account));
}

}  // namespace otlpd
