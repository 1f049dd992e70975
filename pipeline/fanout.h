#pragma once

#include <vector>

#include "pipeline/consumer.h"

namespace otlpd {

// Hands the same batch to several consumers. The telemetry is shared (reference
// counted), never copied. Not owning: the consumers outlive the fan-out.
//
// If any consumer refuses, the result is that refusal (retryable wins over permanent so
// that the client retries); consumers that accepted keep the data, so a retry may deliver
// it twice to those: at-least-once, as in the OpenTelemetry Collector.
class FanoutConsumer final : public Consumer {
 public:
  explicit FanoutConsumer(std::vector<Consumer*> consumers) : consumers_(std::move(consumers)) {}
  ConsumeResult consume(Batch&& batch) noexcept override;
  ConsumeResult admit(Signal signal, std::size_t wire_bytes) noexcept override;
  std::string never_fits(Signal signal, std::size_t wire_bytes) const noexcept override;

 private:
  std::vector<Consumer*> consumers_;  // exporters or processors: owned by the Service, which
                                      // builds them first and stops them after this fan-out
};

}  // namespace otlpd
