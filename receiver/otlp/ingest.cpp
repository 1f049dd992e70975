#include "receiver/otlp/ingest.h"

#include "otlp/json_decoder.h"

namespace otlpd {

namespace {

// What the client hears when the pipeline refuses: wait and retry, too large, or (whatever
// else a stage said) permanent.
ConsumeResult refused(ConsumeResult r) {
  if (r.code != ConsumeResult::Code::retryable && r.code != ConsumeResult::Code::too_large) {
    r.code = ConsumeResult::Code::permanent;
  }
  return r;
}

// Asks the pipeline before anything is decoded for a request of `size` bytes.
ConsumeResult admit(Signal signal, std::size_t size, Consumer& consumer, ReceiverCounters& counters) {
  if (ConsumeResult admitted = consumer.admit(signal, size); !admitted.is_ok()) {
    counters.refused_requests[static_cast<std::size_t>(signal)]->add(1);
    return refused(std::move(admitted));
  }
  return {};
}

// Hands a checked request on, or explains why there is none; counts the outcome.
ConsumeResult hand_on(Signal signal, RequestPtr request, const std::string& error, std::size_t size,
                      Consumer& consumer, ReceiverCounters& counters, spdlog::logger& logger) {
  const auto index = static_cast<std::size_t>(signal);
  if (!request) {
    counters.malformed_requests[index]->add(1);
    logger.debug("rejected malformed {} request ({} bytes): {}", to_string(signal), size, error);
    return ConsumeResult::invalid(error);
  }
  const std::size_t items = request->item_count();
  if (items == 0) return {};
  ConsumeResult result = consumer.consume(Batch::of(std::move(request)));
  if (!result.is_ok()) {
    counters.refused[index]->add(items);
    return refused(std::move(result));
  }
  counters.accepted[index]->add(items);
  return result;  // ok, possibly still pending on a persistent queue's fdatasync
}

}  // namespace

ConsumeResult ingest(Signal signal, WireBytes bytes, Consumer& consumer, ReceiverCounters& counters,
                     spdlog::logger& logger) noexcept {
  const std::size_t size = bytes.size;
  if (ConsumeResult r = admit(signal, size, consumer, counters); !r.is_ok()) return r;
  std::string error;
  RequestPtr request = Request::receive(signal, std::move(bytes), &error, counters.request_memory);
  return hand_on(signal, std::move(request), error, size, consumer, counters, logger);
}

ConsumeResult ingest_json(Signal signal, std::string_view json, Consumer& consumer, ReceiverCounters& counters,
                          spdlog::logger& logger) noexcept {
  if (ConsumeResult r = admit(signal, json.size(), consumer, counters); !r.is_ok()) return r;
  std::string error;
  RequestPtr request = decode_otlp_json(signal, json, &error, counters.request_memory);
  return hand_on(signal, std::move(request), error, json.size(), consumer, counters, logger);
}

}  // namespace otlpd
