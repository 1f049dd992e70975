#include "otlp/wire_scan.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "otlp/schema.h"
#include "otlp/wire_reader.h"

namespace otlpd {
namespace {

using Verdict = WireScan::Verdict;
using Check = schema::Field::Check;
using Problem = WireReader::Problem;

constexpr int kMaxDepth = 100;  // protobuf's default recursion limit

// OTLP's strings are short and nearly always ASCII: that is checked eight bytes at a time
// inline, and only the rest of a string with a non-ASCII byte goes to simdjson's validator
// (protobuf's IsStructurallyValidUTF8 was 5 % of the file exporter's CPU, mostly per call).
bool valid_utf8(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if (word & 0x8080808080808080u) return simdjson::validate_utf8(p, n);
  }
  for (; n > 0; ++p, --n) {
    if (static_cast<unsigned char>(*p) & 0x80u) return simdjson::validate_utf8(p, n);
  }
  return true;
}

std::string describe(const WireReader& r) {
  switch (r.problem()) {
    case Problem::bad_tag: return "invalid tag";
    case Problem::field_zero: return "invalid tag (field number 0)";
    case Problem::bad_varint: return "truncated or overlong varint";
    case Problem::truncated_i64: return "truncated 8-byte value";
    case Problem::truncated_i32: return "truncated 4-byte value";
    case Problem::bad_length: return "truncated or overlong length";
    case Problem::length_exceeds:
      return fmt::format("length {} exceeds the {} bytes left (truncated request?)", r.value, r.left());
    case Problem::bad_wire_type: return fmt::format("invalid wire type {}", static_cast<int>(r.type));
    case Problem::none: break;
  }
  return "malformed";
}

// The one walker. kExplain = false is the fast path: a verdict and the item count, nothing
// allocated. kExplain = true also keeps the field path and says what went wrong where.
using Occurrences = std::array<std::uint32_t, schema::Message::kMaxFieldNumber>;

template <bool kExplain>
class Walker {
 public:
  explicit Walker(const std::uint8_t* request) : request_(request) {}

  Verdict walk(const std::uint8_t* begin, const std::uint8_t* end, const schema::Message& message, int depth) {
    WireReader r(begin, end);
    // kExplain: how often each field occurred so far (for "[i]" in the path). The fast path
    // has none: zeroing it for every message walked cost a third of the scan's time.
    [[maybe_unused]] std::conditional_t<kExplain, Occurrences, std::nullptr_t> occurrences{};
    std::uint32_t previous = 0;  // the number of the field before
    bool in_order = true;        // (no branch per field: one flag, kept in a register)
    for (;;) {
      switch (r.read()) {
        case WireReader::Status::end:
          fields_in_order &= in_order;
          return Verdict::valid;
        case WireReader::Status::group:
          if constexpr (!kExplain) {
            return Verdict::unsure;  // groups are not OTLP: protobuf decides
          } else {
            const std::size_t at = r.offset();
            if (!r.skip_group()) return fail(begin, at, "malformed or unterminated group");
            continue;
          }
        case WireReader::Status::malformed:
          if constexpr (kExplain) {
            // The field's name is part of the path when its tag was read.
            const bool tag_read = r.problem() != Problem::bad_tag && r.problem() != Problem::field_zero &&
                                  r.problem() != Problem::bad_wire_type;
            const std::size_t saved = path_.size();
            if (tag_read) enter(message.field(r.number), r.number, occurrences);
            fail(begin, r.error_offset(), describe(r));
            path_.resize(saved);
          }
          return Verdict::invalid;
        case WireReader::Status::field: break;
      }
      in_order &= r.number >= previous;
      previous = r.number;
      if (r.type != WireType::len) continue;
      const schema::Field* field = message.field(r.number);
      if (!field) continue;  // unknown: protobuf keeps it, nothing to check
      [[maybe_unused]] std::size_t saved = 0;
      if constexpr (kExplain) {
        saved = path_.size();
        enter(field, r.number, occurrences);
      }
      if (field->counts_items) ++items;
      const std::uint8_t* value = r.data();
      const std::size_t length = r.bytes.size();
      switch (field->check) {
        case Check::message: {
          if (depth + 1 > kMaxDepth) {
            return fail(begin, static_cast<std::size_t>(value - begin), "message nested too deeply");
          }
          if (Verdict v = walk(value, value + length, *field->message, depth + 1); v != Verdict::valid) return v;
          break;
        }
        case Check::utf8:
          if (!valid_utf8(r.bytes)) return fail(begin, static_cast<std::size_t>(value - begin), "string is not valid UTF-8");
          break;
        case Check::id:
          if (length != 0 && length != field->id_bytes) {
            if constexpr (kExplain) {
              error = fmt::format("field {}: must be {} bytes or empty, got {}", path_, field->id_bytes, length);
              malformed = false;
            }
            return Verdict::invalid;
          }
          break;
        case Check::packed_fixed:
          if (length % field->width != 0) {
            return fail(begin, static_cast<std::size_t>(value - begin),
                        fmt::format("packed field of {} bytes is not a multiple of {}", length, field->width));
          }
          break;
        case Check::packed_varint:
          for (const std::uint8_t *q = value, *stop = value + length; q < stop;) {
            std::uint64_t v;
            if (!read_varint(q, stop, &v)) return fail(begin, static_cast<std::size_t>(value - begin), "malformed packed varint");
          }
          break;
        case Check::none:
          break;
      }
      if constexpr (kExplain) path_.resize(saved);
    }
  }

  std::size_t items = 0;
  bool fields_in_order = true;  // so far, in every message walked to its end
  std::string error;       // kExplain: the first problem
  bool malformed = true;   // kExplain: it is not protobuf (rather than an id of the wrong length)

 private:
  void enter(const schema::Field* field, std::uint32_t number, Occurrences& occurrences) {
    if (!path_.empty()) path_ += '.';
    if (!field) {
      path_ += fmt::format("#{}", number);
      return;
    }
    path_ += field->name();
    if (field->repeated) path_ += fmt::format("[{}]", occurrences[number]++);
  }

  // `offset` is relative to `begin`, the start of the message being walked.
  Verdict fail(const std::uint8_t* begin, std::size_t offset, std::string_view what) {
    if constexpr (kExplain) {
      const std::size_t at = static_cast<std::size_t>(begin - request_) + offset;
      error = path_.empty() ? fmt::format("{} at byte offset {}", what, at)
                            : fmt::format("field {}: {} at byte offset {}", path_, what, at);
    }
    return Verdict::invalid;
  }

  const std::uint8_t* request_;
  std::string path_;  // kExplain only
};

}  // namespace

WireScan scan_request(Signal signal, const std::uint8_t* data, std::size_t size) noexcept {
  WireScan result;
  if (size > 0x7fffffffULL) return result;
  Walker<false> walker(data);
  result.verdict = walker.walk(data, data + size, schema::request(signal), 0);
  result.items = walker.items;
  result.fields_in_order = result.verdict == Verdict::valid && walker.fields_in_order;
  return result;
}

WireScan explain_request(Signal signal, const std::uint8_t* data, std::size_t size) {
  WireScan result;
  const schema::Message& root = schema::request(signal);
  if (size > 0x7fffffffULL) {
    result.error = fmt::format("request of {} bytes is larger than protobuf can decode", size);
    return result;
  }
  Walker<true> walker(data);
  result.verdict = walker.walk(data, data + size, root, 0);
  result.items = walker.items;
  if (result.verdict == Verdict::invalid && walker.malformed) {
    result.error = fmt::format("malformed {}: {}", root.name(), walker.error);
  } else {
    result.error = std::move(walker.error);
  }
  return result;
}

}  // namespace otlpd
