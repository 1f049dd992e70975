#pragma once

#include <cstdio>
#include <mutex>
#include <string_view>

namespace otlpd {

// Writes whole records to a stdio stream (stdout for the console exporter) so that output
// of concurrent exporters never interleaves within a record. Thread-safe.
class StreamWriter {
 public:
  explicit StreamWriter(std::FILE* stream) : stream_(stream) {}
  // Returns false on a write error (e.g. a closed pipe).
  bool write(std::string_view text) {
    std::lock_guard lock(mutex_);
    const bool ok = std::fwrite(text.data(), 1, text.size(), stream_) == text.size();
    return std::fflush(stream_) == 0 && ok;
  }

 private:
  std::mutex mutex_;
  std::FILE* stream_;
};

}  // namespace otlpd
