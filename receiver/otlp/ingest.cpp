#include "receiver/otlp/ingest.h"

namespace otlpd {

IngestResult ingest(Signal signal, WireBytes bytes, Consumer& consumer, ReceiverCounters& counters,
                    spdlog::logger& logger) noexcept {
  const auto index = static_cast<std::size_t>(signal);
  auto refused = [](const ConsumeResult& r) {
    return IngestResult{r.code == ConsumeResult::Code::retryable ? IngestResult::Code::retryable
                                                                 : IngestResult::Code::permanent,
                        r.message};
  };
  // Ask the pipeline first, so a full or over-budget pipeline costs no decoding.
  if (ConsumeResult admitted = consumer.admit(signal, bytes.size); !admitted.is_ok()) {
    counters.refused_requests[index].fetch_add(1, std::memory_order_relaxed);
    return refused(admitted);
  }
  const std::size_t size = bytes.size;
  std::string error;
  RequestPtr request = Request::receive(signal, std::move(bytes), &error);
  if (!request) {
    counters.malformed_requests[index].fetch_add(1, std::memory_order_relaxed);
    logger.debug("rejected malformed {} request ({} bytes): {}", to_string(signal), size, error);
    return {IngestResult::Code::invalid, error};
  }
  const std::size_t items = request->item_count();
  if (items == 0) return {};
  ConsumeResult result = consumer.consume(Batch::of(std::move(request)));
  if (!result.is_ok()) {
    counters.refused[index].fetch_add(items, std::memory_order_relaxed);
    return refused(result);
  }
  counters.accepted[index].fetch_add(items, std::memory_order_relaxed);
  return {};
}

}  // namespace otlpd
