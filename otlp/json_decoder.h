#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "otlp/request.h"

namespace otlpd {

// Decodes an OTLP/JSON Export*ServiceRequest (the OTLP/HTTP application/json encoding):
// trace/span ids in hex, enums as numbers or names, 64-bit integers as strings or numbers,
// lowerCamelCase or snake_case keys, unknown fields ignored, null as "not set". simdjson parses
// the text and the encoder walks its DOM writing protobuf wire format directly (no message is
// built), driven by the compiled-in descriptors; the request then goes the way of a protobuf
// one (Request::receive). On failure returns nullptr and sets *error to a message that names
// the field as written (e.g. "field resourceSpans[0].scopeSpans[0].spans[1].traceId: ...").
RequestPtr decode_otlp_json(Signal signal, std::string_view json, std::string* error,
                            std::shared_ptr<MemoryAccount> account = nullptr);

// The encoding step alone: OTLP/JSON text to the protobuf bytes of the same request.
bool encode_otlp_json(Signal signal, std::string_view json, std::string* wire, std::string* error);

}  // namespace otlpd
