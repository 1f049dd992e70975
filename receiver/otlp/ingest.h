#pragma once

#include <string>

#include <spdlog/logger.h>

#include "pipeline/component.h"
#include "receiver/otlp/receiver_counters.h"

namespace otlpd {

// The receive path shared by OTLP/gRPC and OTLP/HTTP: asks the pipeline first (admit, before
// any decoding), checks the bytes (Request::receive), hands them on and counts the outcome.
// Returns what the receiver answers: ok, invalid (not OTLP), retryable, too_large or permanent;
// an ok with `pending` set is answered once that completes (a persistent queue syncing).
// `bytes` must stay alive as long as the request does (its owner is kept by the request).
ConsumeResult ingest(Signal signal, WireBytes bytes, Consumer& consumer, ReceiverCounters& counters,
                     spdlog::logger& logger) noexcept;

// The same for an OTLP/JSON body (see decode_otlp_json).
ConsumeResult ingest_json(Signal signal, std::string_view json, Consumer& consumer, ReceiverCounters& counters,
                          spdlog::logger& logger) noexcept;

}  // namespace otlpd
