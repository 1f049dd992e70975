#include "receiver/otlp/receiver_counters.h"

#include "selftelemetry/otelcol_metrics.h"

namespace otlpd {

ReceiverCounters::ReceiverCounters(MetricsRegistry& registry, const std::string& receiver, const std::string& transport,
                                   std::array<bool, 3> served) {
  bind(registry, receiver, transport, served);
}

ReceiverCounters::ReceiverCounters() : own_(std::make_unique<MetricsRegistry>()) {
  bind(*own_, "otlp", "test", {true, true, true});
}

void ReceiverCounters::bind(MetricsRegistry& registry, const std::string& receiver, const std::string& transport,
                            std::array<bool, 3> served) {
  static constexpr const char* kSignals[] = {"traces", "metrics", "logs"};
  const MetricLabels labels{{"receiver", receiver}, {"transport", transport}};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!served[i]) {
      accepted[i] = refused[i] = refused_requests[i] = malformed_requests[i] = &unused_;
      continue;
    }
    const MetricLabels per_signal{{"receiver", receiver}, {"signal", kSignals[i]}, {"transport", transport}};
    accepted[i] = &registry.counter(selfmetrics::kReceiverAccepted[i], labels);
    refused[i] = &registry.counter(selfmetrics::kReceiverRefused[i], labels);
    refused_requests[i] = &registry.counter(selfmetrics::kReceiverRefusedRequests, per_signal);
    malformed_requests[i] = &registry.counter(selfmetrics::kReceiverMalformedRequests, per_signal);
  }
}

}  // namespace otlpd
