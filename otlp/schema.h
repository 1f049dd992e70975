#pragma once

#include <google/protobuf/descriptor.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp/signal.h"

// The one table of the OTLP messages, built once from the compiled-in descriptors: for each
// field of each message reachable from an Export*ServiceRequest, how the wire scan checks it,
// how OTLP/JSON names and prints it, and what it holds. The wire scan, the OTLP/JSON decoder
// and the wire transcoder all read it.
namespace otlpd::schema {

struct Message;

struct Field {
  // What the wire scan verifies of a length-delimited occurrence.
  enum class Check : std::uint8_t {
    none,           // nothing (bytes, or a field that is not length-delimited)
    message,        // a nested message: scanned with `message`
    utf8,           // proto3 string: valid UTF-8
    id,             // trace or span id (not an exemplar's): 0 or `id_bytes` bytes
    packed_fixed,   // packed fixed-size numbers: a multiple of `width` bytes
    packed_varint,  // packed varints: each well-formed
  };

  bool known = false;           // false for a number the message does not define
  Check check = Check::none;
  bool repeated = false;
  bool presence = false;        // proto3 optional or oneof member: written even when zero
  bool counts_items = false;    // each occurrence is one span, data point or log record
  std::uint8_t id_bytes = 0;    // 16 for trace ids, 8 for span ids (hex in OTLP/JSON), else 0
  std::uint8_t width = 0;       // 8 or 4 for fixed-size numbers
  std::int16_t oneof = -1;      // index of the real oneof it belongs to, or -1
  std::uint32_t number = 0;
  google::protobuf::FieldDescriptor::Type type = google::protobuf::FieldDescriptor::TYPE_INT32;
  const Message* message = nullptr;  // for message fields
  const google::protobuf::FieldDescriptor* descriptor = nullptr;
  std::string_view json_key;    // "\"lowerCamelCase\":", as OTLP/JSON writes the key (kept by the table)

  std::string_view name() const { return descriptor->name(); }
  std::string_view json_name() const { return descriptor->json_name(); }
  const google::protobuf::EnumDescriptor* enumeration() const { return descriptor->enum_type(); }
};

struct Message {
  // Every OTLP field number is below this (tests/otlp/schema_test.cpp checks it).
  static constexpr std::uint32_t kMaxFieldNumber = 32;

  const google::protobuf::Descriptor* descriptor = nullptr;
  std::array<Field, kMaxFieldNumber> fields{};  // by number
  // Both spellings of every key, lowerCamelCase and the proto name. A message has a dozen
  // fields at most: a linear scan beats hashing.
  std::vector<std::pair<std::string_view, const Field*>> keys;
  // The number of its `repeated KeyValue attributes` field, or 0 if it has none.
  std::uint32_t attributes = 0;

  // The field with this number, or nullptr if the message has none.
  const Field* field(std::uint64_t number) const {
    return number < kMaxFieldNumber && fields[number].known ? &fields[number] : nullptr;
  }
  // The field with this JSON or proto name, or nullptr.
  const Field* find(std::string_view key) const {
    for (const auto& [name, f] : keys) {
      if (name == key) return f;
    }
    return nullptr;
  }
  std::string_view name() const { return descriptor->name(); }
};

// The Export*ServiceRequest of a signal.
const Message& request(Signal signal);

// Any message reachable from the three requests (nullptr for another descriptor).
const Message* message(const google::protobuf::Descriptor* descriptor);

}  // namespace otlpd::schema
