#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "otlp/signal.h"

namespace otlpd {

// What a scan of an Export*ServiceRequest's protobuf bytes concluded.
struct WireScan {
  enum class Verdict {
    valid,    // protobuf will parse it, and its ids have valid lengths
    invalid,  // protobuf would reject it, or an id has a wrong length
    unsure,   // something rare (protobuf groups): decide by parsing it
  };
  Verdict verdict = Verdict::invalid;
  std::size_t items = 0;  // spans / data points / log records, when valid
  // When valid: the fields of every message come in ascending order of their numbers (as
  // protobuf and the OTLP SDKs write them; the format allows any order), so a reader looking
  // for a few fields may stop once it is past them.
  bool fields_in_order = false;
  std::string error;      // explain_request only: why it is invalid, and where
};

// The fast path. Checks a request without decoding or allocating anything: field structure,
// lengths, nesting depth, UTF-8 of string fields, packed field sizes, and trace/span id
// lengths, guided by the OTLP schema (otlp/schema.h). Counts the items as it goes. It is at
// least as strict as protobuf's parser, so a request it calls valid can always be decoded
// later (lazily). No error text.
WireScan scan_request(Signal signal, const std::uint8_t* data, std::size_t size) noexcept;

// The slow path: the same walk, which also names the first problem: the field path (proto
// names, "#7" for an unknown field, "[i]" for the i-th occurrence), what is wrong, and the
// byte offset in the request, e.g. "malformed ExportTraceServiceRequest: field
// resource_spans[0].scope_spans[0].spans[1].name: string is not valid UTF-8 at byte offset 71".
// An id of the wrong length reads "field ...spans[2].trace_id: must be 16 bytes or empty, got
// 15". Groups, which the fast path leaves to protobuf, are stepped over.
WireScan explain_request(Signal signal, const std::uint8_t* data, std::size_t size);

}  // namespace otlpd
