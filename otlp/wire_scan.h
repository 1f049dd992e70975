#pragma once

#include <cstddef>
#include <cstdint>

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
};

// Checks a request without decoding or allocating anything: field structure, lengths,
// nesting depth, UTF-8 of string fields, packed field sizes, and trace/span id lengths,
// guided by the OTLP schema. Counts the items as it goes. It is at least as strict as
// protobuf's parser, so a request it calls valid can always be decoded later (lazily).
// Several times faster than decoding; no error text (callers decode invalid input to explain).
WireScan scan_request(Signal signal, const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace otlpd
