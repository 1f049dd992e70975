#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <sys/types.h>

#include "storage/durable_queue.h"

namespace otlpd::storage {

// extensions::file_storage, with otelcol's option names: where persistent sending queues keep
// their files, and how they sync them.
struct FileStorageOptions {
  std::string directory = "/var/lib/otlpd/file_storage";
  bool create_directory = false;
  mode_t directory_permissions = 0750;
  std::chrono::milliseconds timeout{1000};  // waiting for another process's lock
  // otlpd syncs by default (otelcol: fsync false, which loses acknowledged data with the machine).
  bool fsync = true;
  std::chrono::microseconds fsync_delay{0};  // otlpd's: group appends for this long before syncing
};

// What a file_storage extension gives the exporters that name it (through the service's Host):
// one DurableQueue per exporter, in a directory of its own under `directory`.
class FileStorage {
 public:
  explicit FileStorage(FileStorageOptions options) : options_(std::move(options)) {}

  // Checks (or creates) the directory; false with *error when it is unusable.
  bool prepare(std::string* error) const;

  // Opens the queue of component `kind type/name` (otelcol's GetClient naming).
  std::unique_ptr<DurableQueue> open_queue(std::string_view kind, std::string_view type, std::string_view name,
                                           std::uint64_t max_bytes, std::shared_ptr<spdlog::logger> logger,
                                           RecoveryReport* report, std::string* error) const;

  // Queue directories that hold data and that nobody holds: left by a component that is no
  // longer configured (otelcol leaves them silently). Logs each with its size.
  void report_orphans(spdlog::logger& logger) const;

  const FileStorageOptions& options() const { return options_; }

 private:
  FileStorageOptions options_;
};

}  // namespace otlpd::storage
