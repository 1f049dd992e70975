#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pipeline/telemetry.h"

namespace otlpd {

// Decodes an OTLP/JSON Export*ServiceRequest (the OTLP/HTTP application/json encoding):
// trace/span ids in hex, enums as numbers or names, 64-bit integers as strings or numbers,
// lowerCamelCase or snake_case keys, unknown fields ignored. simdjson parses the text; ids are
// turned from hex into the protobuf JSON mapping's base64 on the way, then protobuf's JSON
// parser builds the message. On failure returns nullptr and sets *error to a message that
// names the field (e.g. "resourceSpans[0].scopeSpans[0].spans[1].traceId: ...").
RequestPtr decode_otlp_json(Signal signal, std::string_view json, std::string* error);

}  // namespace otlpd
