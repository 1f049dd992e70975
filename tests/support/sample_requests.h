#pragma once

#include <random>
#include <string>

#include "otlp/signal.h"

namespace otlpd {

// A serialized Export*ServiceRequest with every kind of field OTLP has: ids, UTF-8 strings,
// nested attribute values, packed fixed64/double and varint fields, proto3 optional fields.
std::string rich_request(Signal signal, std::mt19937& rng);

// The same bytes with 1 to 3 random mutations (changed, flipped, dropped or inserted bytes).
std::string mutate(std::string bytes, std::mt19937& rng);

}  // namespace otlpd
