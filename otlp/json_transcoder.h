#pragma once

#include <cstdint>
#include <string>

#include "otlp/signal.h"

namespace otlpd {

// Writes OTLP/JSON straight from the protobuf wire format of an Export*ServiceRequest,
// without decoding it: a table built once from the descriptors says, for each field of each
// message, its JSON name and how to print it. The output is byte-identical to
// append_otlp_json() on the decoded message (fields in field-number order, proto3 defaults
// omitted, ids in hex), which a test checks.
//
// Returns false, leaving `out` as it was, for input it does not handle the same way protobuf
// would (a singular field or oneof given twice: protobuf keeps the last value or merges);
// the caller then encodes the decoded message instead.
bool transcode_otlp_json(std::string& out, Signal signal, const std::uint8_t* data, std::size_t size);

}  // namespace otlpd
