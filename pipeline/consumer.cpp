#include "pipeline/consumer.h"

namespace otlpd {

void PendingResult::complete(ConsumeResult result) {
  std::function<void(ConsumeResult)> callback;
  {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    result_ = std::move(result);
    result_.pending.reset();
    callback = std::move(callback_);
  }
  done_cv_.notify_all();
  if (callback) callback(result_);
}

void PendingResult::then(std::function<void(ConsumeResult)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!done_) {
      callback_ = std::move(done);
      return;
    }
  }
  done(result_);
}

ConsumeResult PendingResult::wait() {
  std::unique_lock lock(mutex_);
  done_cv_.wait(lock, [&] { return done_; });
  return result_;
}

std::shared_ptr<PendingResult> PendingResult::all(std::vector<std::shared_ptr<PendingResult>> parts) {
  if (parts.size() == 1) return parts.front();
  auto combined = std::make_shared<PendingResult>();
  struct State {
    std::mutex mutex;
    std::size_t left;
    ConsumeResult first_failure;
  };
  auto state = std::make_shared<State>();
  state->left = parts.size();
  for (auto& part : parts) {
    part->then([combined, state](ConsumeResult r) {
      bool last = false;
      {
        std::lock_guard lock(state->mutex);
        if (!r.is_ok() && state->first_failure.is_ok()) state->first_failure = std::move(r);
        last = --state->left == 0;
      }
      if (last) combined->complete(state->first_failure);
    });
  }
  return combined;
}

}  // namespace otlpd
