#include "pipeline/fanout.h"

namespace otlpd {

ConsumeResult FanoutConsumer::consume(Batch&& batch) noexcept {
  ConsumeResult result = ConsumeResult::ok();
  std::vector<std::shared_ptr<PendingResult>> pending;  // of persistent queues still syncing
  for (std::size_t i = 0; i < consumers_.size(); ++i) {
    const bool last = i + 1 == consumers_.size();
    ConsumeResult r = consumers_[i]->consume(last ? std::move(batch) : Batch(batch));
    if (r.is_ok() && r.pending) pending.push_back(std::move(r.pending));
    if (!r.is_ok() && (result.is_ok() || r.code == ConsumeResult::Code::retryable)) {
      result = std::move(r);
    }
  }
  // Ok only once every persistent queue has it on disk.
  if (result.is_ok() && !pending.empty()) result.pending = PendingResult::all(std::move(pending));
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
