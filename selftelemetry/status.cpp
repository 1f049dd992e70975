#include "selftelemetry/status.h"

namespace otlpd {

void ComponentStatus::ok() noexcept {
  if (healthy_.load(std::memory_order_acquire)) return;
  report(Health::ok, {});
}

void ComponentStatus::recoverable_error(const std::string& error) noexcept { report(Health::recoverable_error, error); }
void ComponentStatus::permanent_error(const std::string& error) noexcept { report(Health::permanent_error, error); }

void ComponentStatus::report(Health health, const std::string& error) noexcept {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  if (health == Health::ok) {
    error_.clear();
  } else {
    if (health_ == Health::ok) since_ = now;
    error_ = error;
  }
  health_ = health;
  updated_ = now;
  healthy_.store(health == Health::ok, std::memory_order_release);
}

ComponentStatus::View ComponentStatus::view() const {
  std::lock_guard lock(mutex_);
  return View{id_, health_, error_, since_, updated_};
}

void StatusRegistry::set_state(State state, std::string message) {
  std::lock_guard lock(mutex_);
  if (state == State::running && state_ != State::running) running_since_ = ComponentStatus::Clock::now();
  state_ = state;
  message_ = std::move(message);
}

StatusRegistry::State StatusRegistry::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string StatusRegistry::state_message() const {
  std::lock_guard lock(mutex_);
  return message_;
}

ComponentStatus::Clock::time_point StatusRegistry::running_since() const {
  std::lock_guard lock(mutex_);
  return running_since_;
}

std::shared_ptr<ComponentStatus> StatusRegistry::add(std::string id) {
  auto status = std::make_shared<ComponentStatus>(std::move(id));
  std::lock_guard lock(mutex_);
  std::erase_if(components_, [](const auto& weak) { return weak.expired(); });
  components_.push_back(status);
  return status;
}

std::vector<ComponentStatus::View> StatusRegistry::components() const {
  std::vector<std::shared_ptr<ComponentStatus>> live;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(components_, [](const auto& weak) { return weak.expired(); });
    for (const auto& weak : components_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  std::vector<ComponentStatus::View> views;
  for (const auto& s : live) views.push_back(s->view());
  return views;
}

const char* to_string(ComponentStatus::Health health) {
  switch (health) {
    case ComponentStatus::Health::ok: return "ok";
    case ComponentStatus::Health::recoverable_error: return "recoverable_error";
    case ComponentStatus::Health::permanent_error: return "permanent_error";
  }
  return "ok";
}

const char* to_string(StatusRegistry::State state) {
  switch (state) {
    case StatusRegistry::State::starting: return "starting";
    case StatusRegistry::State::running: return "running";
    case StatusRegistry::State::stopping: return "stopping";
    case StatusRegistry::State::reload_failed: return "reload_failed";
  }
  return "starting";
}

}  // namespace otlpd
