#include "pipeline/fanout.h"

namespace otlpd {

ConsumeResult FanoutConsumer::consume(Batch&& batch) noexcept {
  ConsumeResult result = ConsumeResult::ok();
  for (std::size_t i = 0; i < consumers_.size(); ++i) {
    const bool last = i + 1 == consumers_.size();
    ConsumeResult r = consumers_[i]->consume(last ? std::move(batch) : Batch(batch));
    if (!r.is_ok() && (result.is_ok() || r.code == ConsumeResult::Code::retryable)) {
      result = std::move(r);
    }
  }
  return result;
}

ConsumeResult FanoutConsumer::admit(Signal signal, std::size_t wire_bytes) noexcept {
  for (Consumer* consumer : consumers_) {
    if (ConsumeResult r = consumer->admit(signal, wire_bytes); !r.is_ok()) return r;
  }
  return ConsumeResult::ok();
}

std::string FanoutConsumer::never_fits(Signal signal, std::size_t wire_bytes) const noexcept {
  for (const Consumer* consumer : consumers_) {
    if (std::string why = consumer->never_fits(signal, wire_bytes); !why.empty()) return why;
  }
  return {};
}

}  // namespace otlpd
