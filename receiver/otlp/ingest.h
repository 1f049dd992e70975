#pragma once

#include <string>

#include <spdlog/logger.h>

#include "pipeline/component.h"
#include "receiver/otlp/receiver_counters.h"

namespace otlpd {

// What a receiver answers for one Export request, whatever the transport.
struct IngestResult {
  enum class Code { ok, invalid, retryable, permanent, too_large };
  Code code = Code::ok;
  std::string message;
};

// The receive path shared by OTLP/gRPC and OTLP/HTTP: asks the pipeline first (admit, before
// any decoding), checks the bytes (Request::receive), hands them on and counts the outcome.
// `bytes` must stay alive as long as the request does (its owner is kept by the request).
IngestResult ingest(Signal signal, WireBytes bytes, Consumer& consumer, ReceiverCounters& counters,
                    spdlog::logger& logger) noexcept;

// The same for an OTLP/JSON body (see decode_otlp_json).
IngestResult ingest_json(Signal signal, std::string_view json, Consumer& consumer, ReceiverCounters& counters,
                         spdlog::logger& logger) noexcept;

}  // namespace otlpd
