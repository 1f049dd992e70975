#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace otlpd {

struct FileRotationConfig {
  std::int64_t max_megabytes = 100;
  std::int64_t max_days = 0;  // 0: keep backups regardless of age
  std::int64_t max_backups = 100;
  bool localtime = false;
};

enum class FileFraming {
  lines,            // each record ends with '\n' (format: json)
  length_prefixed,  // each record is a 4-byte big-endian length and that many bytes (format: proto)
  zstd_frames,      // each write is one zstd frame holding whole records (compression: zstd)
};

struct FileWriterOptions {
  std::string path;
  bool append = false;  // false: truncate at the first open in this process, as otelcol does at start (a reload does not truncate again)
  FileFraming framing = FileFraming::lines;
  std::optional<FileRotationConfig> rotation;
};

// Appends whole records to a file, never a part of one:
//  - write() puts all of its records in the file or, on any error (disk full, quota, I/O),
//    truncates the file back to where it was and reports the error;
//  - open() in append mode cuts off a torn tail a crash may have left (an unterminated line,
//    an incomplete length-prefixed record or zstd frame) and says so;
//  - with rotation, a full file is renamed to "<name>-<2006-01-02T15-04-05.000><ext>" and
//    backups beyond max_backups / max_days are deleted.
// Not thread-safe: the caller serialises access.
class FileWriter {
 public:
  explicit FileWriter(FileWriterOptions options) : options_(std::move(options)) {}
  ~FileWriter() { close(); }
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  bool open(std::string* error);
  bool write(std::string_view records, std::string* error);
  void close();

  std::uint64_t size() const { return size_; }
  // Bytes removed from a torn tail by the last open(), for logging and tests.
  std::uint64_t repaired_bytes() const { return repaired_bytes_; }

 private:
  bool open_fd(bool truncate, std::string* error);
  bool repair_tail(std::string* error);
  bool rotate(std::string* error);
  void prune_backups();

  FileWriterOptions options_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t repaired_bytes_ = 0;
};

}  // namespace otlpd
