#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "otlp/signal.h"

namespace otlpd {

// The rejected item count and error message of an Export*ServiceResponse's partial_success
// (protobuf bytes); {0, ""} on full success or unparsable bytes.
std::pair<std::int64_t, std::string> partial_success(Signal signal, const std::string& bytes);

}  // namespace otlpd
