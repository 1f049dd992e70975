#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

// The one protobuf wire reader: varints, and a reader that steps through a message's fields
// in the order they are written, by protobuf's own rules. The wire scan, the transcoder, the
// trace store and the visitor read protobuf with it; nothing here allocates.
namespace otlpd {

// Reads a protobuf varint of at most 10 bytes at p (advancing p); false if it is truncated or
// longer. As protobuf does, the bits of a 10th byte beyond the 64th are dropped, not refused.
inline bool read_varint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t* value) {
  std::uint64_t result = 0;
  for (int shift = 0; shift < 70 && p < end; shift += 7) {
    const std::uint8_t byte = *p++;
    result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *value = result;
      return true;
    }
  }
  return false;
}

// Reads the length of a length-delimited field as protobuf does: a varint of at most 5 bytes
// below 2^31 - 16 (protobuf refuses a longer one, even one padded with 0x80 bytes).
inline bool read_length(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t* value) {
  const std::uint8_t* start = p;
  return read_varint(p, end, value) && p - start <= 5 && *value <= 0x7fffffffULL - 16;
}

enum class WireType : std::uint8_t { varint = 0, i64 = 1, len = 2, start_group = 3, end_group = 4, i32 = 5 };

constexpr std::uint32_t field_tag(std::uint32_t number, WireType type) {
  return number << 3 | static_cast<std::uint32_t>(type);
}

// Steps through the fields of one message. After read() returns `field`, `number`, `type`
// and either `value` (varint, i64, i32) or `bytes` (len) describe it. protobuf's rules: a tag
// is a varint of at most 5 bytes, read as 32 bits, with a field number above 0; a length is a
// varint of at most 5 bytes, below 2^31 - 16, and within the message.
class WireReader {
 public:
  enum class Status : std::uint8_t {
    field,      // one field was read
    end,        // the message ended cleanly
    malformed,  // protobuf would reject what follows (`problem()` says why, `error_offset()` where)
    group,      // a start-group tag: groups are not OTLP; the caller decides
  };
  enum class Problem : std::uint8_t {
    none,
    bad_tag,          // truncated, or longer than 5 bytes
    field_zero,       // field number 0
    bad_varint,       // truncated, or longer than 10 bytes
    truncated_i64,
    truncated_i32,
    bad_length,       // the length's varint is malformed, longer than 5 bytes, or 2 GiB or more
    length_exceeds,   // the length passes the message's end (value: the length; left(): what was left)
    bad_wire_type,    // an end group without a start, or wire type 6 or 7
  };

  WireReader(const std::uint8_t* begin, const std::uint8_t* end) : begin_(begin), p_(begin), end_(end) {}
  explicit WireReader(std::string_view message)
      : WireReader(reinterpret_cast<const std::uint8_t*>(message.data()),
                   reinterpret_cast<const std::uint8_t*>(message.data()) + message.size()) {}

  // Inlined into each walker: it runs once per field of every message, and as a call it cost
  // the wire scan a third of its speed (bench/micro_bench.cpp, BM_Scan).
  [[gnu::always_inline]] Status read() {
    if (p_ >= end_) return Status::end;
    field_start_ = p_;
    std::uint64_t raw;
    if (*p_ < 0x80) {  // a one-byte tag: every OTLP field below 16
      raw = *p_++;
    } else {
      if (!read_varint(p_, end_, &raw) || p_ - field_start_ > 5) return fail(field_start_, Problem::bad_tag);
      raw &= 0xffffffffULL;  // as protobuf reads a tag: the bits of a 5th byte beyond the 32nd are dropped
    }
    tag = static_cast<std::uint32_t>(raw);
    number = static_cast<std::uint32_t>(raw >> 3);
    type = static_cast<WireType>(raw & 7);
    if (number == 0) return fail(field_start_, Problem::field_zero);
    const std::uint8_t* const value_start = p_;  // (a local: kept in a register, not stored)
    switch (type) {
      case WireType::varint:
        if (p_ < end_ && *p_ < 0x80) {
          value = *p_++;
        } else if (!read_varint(p_, end_, &value)) {
          return fail(value_start, Problem::bad_varint);
        }
        return Status::field;
      case WireType::i64:
        if (end_ - p_ < 8) return fail(value_start, Problem::truncated_i64);
        std::memcpy(&value, p_, 8);
        p_ += 8;
        return Status::field;
      case WireType::i32: {
        if (end_ - p_ < 4) return fail(value_start, Problem::truncated_i32);
        std::uint32_t v;
        std::memcpy(&v, p_, 4);
        value = v;
        p_ += 4;
        return Status::field;
      }
      case WireType::len: {
        std::uint64_t length;
        if (p_ < end_ && *p_ < 0x80) {  // a length below 128
          length = *p_++;
        } else if (!read_length(p_, end_, &length)) {
          return fail(value_start, Problem::bad_length);
        }
        if (length > static_cast<std::uint64_t>(end_ - p_)) {
          value = length;
          left_ = static_cast<std::size_t>(end_ - p_);
          return fail(value_start, Problem::length_exceeds);
        }
        bytes = std::string_view(reinterpret_cast<const char*>(p_), length);
        p_ += length;
        return Status::field;
      }
      case WireType::start_group:
        p_ = field_start_;
        return Status::group;
      default:  // an end group without its start, or wire types 6 and 7
        return fail(field_start_, Problem::bad_wire_type);
    }
  }

  // After read() returned `group`: steps over the whole group, nested groups included (at most
  // `depth` levels); false, leaving the reader at its end, if it is malformed or unterminated.
  bool skip_group(int depth = 100) {
    std::uint64_t start_tag;
    if (!read_varint(p_, end_, &start_tag)) return fail(field_start_, Problem::bad_tag) == Status::field;
    const std::uint64_t number_of_group = start_tag >> 3;
    for (;;) {
      const std::uint8_t* at = p_;
      std::uint64_t inner;
      if (p_ >= end_ || !read_varint(p_, end_, &inner)) return fail(at, Problem::bad_tag) == Status::field;
      if ((inner & 7) == 4) {
        if ((inner >> 3) == number_of_group) return true;
        return fail(at, Problem::bad_wire_type) == Status::field;
      }
      p_ = at;
      const Status s = read();
      if (s == Status::group) {
        if (depth == 0 || !skip_group(depth - 1)) return false;
      } else if (s != Status::field) {
        return false;
      }
    }
  }

  // Reads the next field; false at the end and at anything malformed (for bytes already
  // checked by the wire scan, or written by protobuf).
  bool next() { return read() == Status::field; }

  std::uint32_t number = 0;
  WireType type = WireType::varint;
  // number and type as written: `tag == field_tag(2, WireType::len)` tests both at once (and
  // spares a loop that holds its reader in memory a load of both halves from two stores, which
  // the CPU cannot forward: a stall of a dozen cycles per field).
  std::uint32_t tag = 0;
  std::uint64_t value = 0;     // varint, i64 and i32 fields
  std::string_view bytes;      // len fields: the payload

  const std::uint8_t* data() const { return reinterpret_cast<const std::uint8_t*>(bytes.data()); }
  // Offsets from the start of the message: where the current field's tag begins, where it
  // ends, and where the reader stopped on malformed input.
  std::size_t field_offset() const { return static_cast<std::size_t>(field_start_ - begin_); }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
  std::size_t error_offset() const { return static_cast<std::size_t>(error_ - begin_); }
  Problem problem() const { return problem_; }
  std::size_t left() const { return left_; }

 private:
  // Inline, so that the reader's `this` does not escape and its members live in registers.
  [[gnu::always_inline]] Status fail(const std::uint8_t* where, Problem problem) {
    error_ = where;
    problem_ = problem;
    p_ = end_;
    return Status::malformed;
  }

  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* field_start_ = nullptr;
  const std::uint8_t* error_ = nullptr;
  Problem problem_ = Problem::none;
  std::size_t left_ = 0;
};

}  // namespace otlpd
