#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <utility>

namespace otlpd {

// What components of one service share with each other at run time, by component id, as the
// OpenTelemetry Collector's host lets a component find an extension: a store that an exporter
// fills and an extension serves (trace_store and jaeger_query). Filled while the service is
// built (create()), read from start() on. The objects are reference-counted, so a reader may
// keep what it found for as long as it runs, whatever the order of shutdown.
class Host {
 public:
  template <typename T>
  void provide(const std::string& id, std::shared_ptr<T> object) {
    std::lock_guard lock(mutex_);
    objects_[{id, std::type_index(typeid(std::shared_ptr<T>))}] = std::make_shared<std::shared_ptr<T>>(std::move(object));
  }

  // Everything component `id` provides in `other` (a component kept across a reload brings
  // what it shares into the new service).
  void copy_from(const Host& other, const std::string& id) {
    if (&other == this) return;
    std::scoped_lock lock(mutex_, other.mutex_);
    for (const auto& [key, object] : other.objects_) {
      if (key.first == id) objects_[key] = object;
    }
  }

  // The object of type T that component `id` provides, or nullptr.
  template <typename T>
  std::shared_ptr<T> find(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const auto it = objects_.find({id, std::type_index(typeid(std::shared_ptr<T>))});
    return it == objects_.end() ? nullptr : *std::static_pointer_cast<std::shared_ptr<T>>(it->second);
  }

 private:
  mutable std::mutex mutex_;
  // Keyed by typeid(std::shared_ptr<T>), which tells T from const T (typeid(T) does not); each
  // holds that std::shared_ptr<T>.
  std::map<std::pair<std::string, std::type_index>, std::shared_ptr<void>> objects_;
};

}  // namespace otlpd
