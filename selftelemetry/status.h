#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace otlpd {

// How one component is doing, as reported by the component itself (the OpenTelemetry
// Collector's component status: OK, RecoverableError, PermanentError). Exporters report
// every export attempt: a retryable failure is recoverable, a refused batch permanent, a
// success clears either. Thread-safe; ok() on a healthy component is one atomic load.
class ComponentStatus {
 public:
  enum class Health { ok, recoverable_error, permanent_error };
  using Clock = std::chrono::system_clock;

  explicit ComponentStatus(std::string id) : id_(std::move(id)) {}

  void ok() noexcept;
  void recoverable_error(const std::string& error) noexcept;
  void permanent_error(const std::string& error) noexcept;

  struct View {
    std::string id;  // "exporter otlp/backend"
    Health health = Health::ok;
    std::string error;         // the latest error while not ok
    Clock::time_point since;   // when the component stopped being ok (first error since)
    Clock::time_point updated; // the latest report
  };
  View view() const;
  const std::string& id() const { return id_; }

 private:
  void report(Health health, const std::string& error) noexcept;

  const std::string id_;
  std::atomic<bool> healthy_{true};
  mutable std::mutex mutex_;
  Health health_ = Health::ok;
  std::string error_;
  Clock::time_point since_{};
  Clock::time_point updated_{};
};

// The collector's own state and its components' statuses, read by the health_check
// extension. Lives as long as the process (owned by main), across reloads. Thread-safe.
class StatusRegistry {
 public:
  enum class State { starting, running, stopping, reload_failed };

  void set_state(State state, std::string message = {});
  State state() const;
  std::string state_message() const;
  ComponentStatus::Clock::time_point running_since() const;

  // A status for the component `id`; it is listed as long as someone holds it.
  std::shared_ptr<ComponentStatus> add(std::string id);
  // Every live component's status, in the order they were added.
  std::vector<ComponentStatus::View> components() const;

 private:
  mutable std::mutex mutex_;
  State state_ = State::starting;
  std::string message_;
  ComponentStatus::Clock::time_point running_since_{};
  mutable std::vector<std::weak_ptr<ComponentStatus>> components_;
};

const char* to_string(ComponentStatus::Health health);
const char* to_string(StatusRegistry::State state);

}  // namespace otlpd
