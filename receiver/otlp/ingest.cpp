#include "receiver/otlp/ingest.h"

#include "otlp/json_decoder.h"

namespace otlpd {

namespace {

IngestResult refused(const ConsumeResult& r) {
  switch (r.code) {
    case ConsumeResult::Code::retryable: return {IngestResult::Code::retryable, r.message};
    case ConsumeResult::Code::too_large: return {IngestResult::Code::too_large, r.message};
    default: return {IngestResult::Code::permanent, r.message};
  }
}

// Asks the pipeline before anything is decoded for a request of `size` bytes.
IngestResult admit(Signal signal, std::size_t size, Consumer& consumer, ReceiverCounters& counters) {
  if (ConsumeResult admitted = consumer.admit(signal, size); !admitted.is_ok()) {
    counters.refused_requests[static_cast<std::size_t>(signal)]->add(1);
    return refused(admitted);
  }
  return {};
}

// Hands a checked request on, or explains why there is none; counts the outcome.
IngestResult hand_on(Signal signal, RequestPtr request, const std::string& error, std::size_t size,
                     Consumer& consumer, ReceiverCounters& counters, spdlog::logger& logger) {
  const auto index = static_cast<std::size_t>(signal);
  if (!request) {
    counters.malformed_requests[index]->add(1);
    logger.debug("rejected malformed {} request ({} bytes): {}", to_string(signal), size, error);
    return {IngestResult::Code::invalid, error};
  }
  const std::size_t items = request->item_count();
  if (items == 0) return {};
  ConsumeResult result = consumer.consume(Batch::of(std::move(request)));
  if (!result.is_ok()) {
    counters.refused[index]->add(items);
    return refused(result);
  }
  counters.accepted[index]->add(items);
  return {};
}

}  // namespace

IngestResult ingest(Signal signal, WireBytes bytes, Consumer& consumer, ReceiverCounters& counters,
                    spdlog::logger& logger) noexcept {
  const std::size_t size = bytes.size;
  if (IngestResult r = admit(signal, size, consumer, counters); r.code != IngestResult::Code::ok) return r;
  std::string error;
  RequestPtr request = Request::receive(signal, std::move(bytes), &error, counters.request_memory);
  return hand_on(signal, std::move(request), error, size, consumer, counters, logger);
}

IngestResult ingest_json(Signal signal, std::string_view json, Consumer& consumer, ReceiverCounters& counters,
                         spdlog::logger& logger) noexcept {
  if (IngestResult r = admit(signal, json.size(), consumer, counters); r.code != IngestResult::Code::ok) return r;
  std::string error;
  RequestPtr request = decode_otlp_json(signal, json, &error, counters.request_memory);
  return hand_on(signal, std::move(request), error, json.size(), consumer, counters, logger);
}

}  // namespace otlpd
