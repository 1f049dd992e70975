#pragma once

#include <array>
#include <memory>
#include <string>

#include "otlp/memory_account.h"
#include "selftelemetry/metrics.h"

namespace otlpd {

// What one transport of a receiver counts per signal (traces, metrics, logs), as counters of
// the process's self-telemetry: otelcol_receiver_accepted_* / refused_* with the labels
// receiver and transport, and otlpd's refused-before-decoding and malformed requests.
// The counters outlive the receiver (they belong to the registry). Thread-safe.
struct ReceiverCounters {
  // Series are shown for the signals in `served` (the others count into a counter of its own).
  ReceiverCounters(MetricsRegistry& registry, const std::string& receiver, const std::string& transport,
                   std::array<bool, 3> served);
  // Counters in a registry of its own (tests, fuzzing, benchmarks).
  ReceiverCounters();

  std::array<Counter*, 3> accepted{};          // items handed to the pipeline
  std::array<Counter*, 3> refused{};           // items the pipeline refused after decoding
  // Requests refused before decoding (pipeline full or over its memory limit): their item
  // count is unknown because they were never decoded.
  std::array<Counter*, 3> refused_requests{};
  std::array<Counter*, 3> malformed_requests{};  // answered INVALID_ARGUMENT / 400
  // Where the requests this transport creates are charged (the process's; tests: none).
  std::shared_ptr<MemoryAccount> request_memory;

 private:
  void bind(MetricsRegistry& registry, const std::string& receiver, const std::string& transport,
            std::array<bool, 3> served);
  std::unique_ptr<MetricsRegistry> own_;
  Counter unused_;
};

}  // namespace otlpd
