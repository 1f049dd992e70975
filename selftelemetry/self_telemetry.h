#pragma once

#include <memory>

#include "otlp/memory_account.h"
#include "selftelemetry/metrics.h"
#include "selftelemetry/status.h"

namespace otlpd {

// What every component is handed at construction to report about itself: its counters and
// gauges (read by the :8888/metrics endpoint), its status (read by health_check), and the
// memory of the requests it holds. One per
// process, created by main before the first configuration is loaded and kept across reloads.
struct SelfTelemetry {
  MetricsRegistry metrics;
  StatusRegistry status;
  // What live requests hold: receivers charge the requests they create to it, memory_limiter
  // reads it. Shared, because a request may outlive a reload, and its receiver.
  std::shared_ptr<MemoryAccount> request_memory = std::make_shared<MemoryAccount>();
};

}  // namespace otlpd
