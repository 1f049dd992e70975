#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message.h>

#include "otlp/request.h"

namespace otlpd {

// Encodes any OTLP message as OTLP/JSON (the specification's JSON mapping): lowerCamelCase
// keys, trace and span ids as hex, other bytes as base64, enums as integers, 64-bit integers
// as decimal strings, default values omitted. Appends to `out`, no trailing newline.
void append_otlp_json(std::string& out, const google::protobuf::Message& message);

// The same for a request: transcoded straight from its wire bytes when it has them.
void append_otlp_json(std::string& out, const Request& request);

// One batch as OTLP/JSON lines: each request becomes one line (with '\n').
void append_otlp_json_lines(std::string& out, const Batch& batch);

// Lowercase hex of raw bytes ("5b8efff7...").
std::string to_hex(std::string_view bytes);
void append_hex(std::string& out, std::string_view bytes);
void append_base64(std::string& out, std::string_view bytes);

}  // namespace otlpd
