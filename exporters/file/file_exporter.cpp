#include "exporters/file/file_exporter.h"

#include <array>
#include <mutex>
#include <vector>

#include "exporters/common/network_options.h"
#include "otlp/json_encoder.h"

namespace otlpd {
namespace {

constexpr std::size_t kFlushThreshold = 1 << 20;

class FileSender final : public BatchSender {
 public:
  FileSender(const FileExporterConfig& config, std::shared_ptr<spdlog::logger> logger)
      : config_(config), writer_(config.file), logger_(std::move(logger)) {}

  bool start(std::string* error) override {
    if (!writer_.open(error)) return false;
    if (writer_.repaired_bytes()) {
      logger_->warn("removed a torn record ({} bytes) from the end of {}", writer_.repaired_bytes(),
                    config_.file.path);
    }
    logger_->info("writing {} to {}{}", config_.proto ? "protobuf" : "OTLP/JSON lines", config_.file.path,
                  config_.compression.enabled()
                      ? fmt::format(" (zstd level {}, a frame per write)", config_.compression.effective_level())
                      : "");
    return true;
  }

  // Encodes the batch a request at a time and writes whenever a megabyte is pending, so the
  // buffer stays near kFlushThreshold plus one request's records whatever the batch size (a
  // batch of 8192 spans is ~9 MB of JSON, and growing a string to that by doubling briefly
  // held both copies: memory the memory_limiter could not see).
  ConsumeResult send(const Batch& batch) noexcept override {
    std::lock_guard lock(mutex_);
    for (const RequestPtr& request : batch.requests) {
      encode(*request);
      Chunk chunk{buffer_.size(), {}};
      chunk.items[static_cast<std::size_t>(batch.signal)] = request->item_count();
      chunks_.push_back(chunk);
      if (buffer_.size() >= kFlushThreshold) {
        std::string error;
        if (!write_pending(&error)) return ConsumeResult::permanent(error);
      }
    }
    return ConsumeResult::ok();
  }

  std::chrono::milliseconds flush_interval() const override { return config_.flush_interval; }

  void flush() noexcept override {
    std::lock_guard lock(mutex_);
    std::string error;
    if (!write_pending(&error)) logger_->error("{}", error);
  }

  void stop() noexcept override { writer_.close(); }

 private:
  void encode(const Request& request) {
    if (!config_.proto) {
      append_otlp_json(buffer_, request);
      buffer_ += '\n';
      return;
    }
    // The received bytes are the record: no decoding, no re-encoding.
    const std::string_view wire = request.wire();
    const std::size_t size = wire.empty() ? request.message().ByteSizeLong() : wire.size();
    const unsigned char prefix[4] = {static_cast<unsigned char>(size >> 24), static_cast<unsigned char>(size >> 16),
                                     static_cast<unsigned char>(size >> 8), static_cast<unsigned char>(size)};
    buffer_.append(reinterpret_cast<const char*>(prefix), 4);
    if (!wire.empty()) {
      buffer_.append(wire);
      return;
    }
    const std::size_t at = buffer_.size();
    buffer_.resize(at + size);
    request.message().SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(buffer_.data() + at));
  }

  // Writes the buffer with one write(); if that fails (disk full), writes it request by
  // request so that every record that still fits is kept. A record is in the file whole or
  // not at all.
  // On failure says how much telemetry was lost.
  bool write_pending(std::string* error) {
    if (buffer_.empty()) return true;
    std::string write_error;
    bool ok = write_records(buffer_, &write_error);
    if (!ok) {
      std::array<std::size_t, 3> lost{};
      std::size_t start = 0;
      for (const Chunk& chunk : chunks_) {
        std::string chunk_error;
        const std::string_view bytes(buffer_.data() + start, chunk.end - start);
        if (!write_records(bytes, &chunk_error)) {
          for (std::size_t i = 0; i < lost.size(); ++i) lost[i] += chunk.items[i];
          write_error = std::move(chunk_error);
        }
        start = chunk.end;
      }
      ok = lost == std::array<std::size_t, 3>{};
      if (!ok) {
        *error = fmt::format("{}; lost {} spans, {} data points, {} log records", write_error,
                             lost[0], lost[1], lost[2]);
      }
    }
    buffer_.clear();
    chunks_.clear();
    return ok;
  }

  // Writes records as they are or, with compression, as one zstd frame.
  bool write_records(std::string_view records, std::string* error) {
    if (!config_.compression.enabled()) return writer_.write(records, error);
    frame_.clear();
    if (!thread_compressor(config_.compression).compress(records, &frame_)) {
      *error = fmt::format("cannot compress {} bytes for {}", records.size(), config_.file.path);
      return false;
    }
    return writer_.write(frame_, error);
  }

  struct Chunk {
    std::size_t end;  // offset in buffer_ just past one request's record
    std::array<std::size_t, 3> items;
  };

  FileExporterConfig config_;
  std::mutex mutex_;
  FileWriter writer_;
  std::string buffer_;
  std::string frame_;  // the compressed buffer
  std::vector<Chunk> chunks_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

ConfigProblems FileExporterConfig::validate() const {
  ConfigProblems problems;
  if (file.path.empty()) problems.push_back({"path", "is required (the file to write to)"});
  if (flush_interval.count() <= 0) problems.push_back({"flush_interval", "must be greater than zero"});
  validate_compression_option(compression, problems);
  if (file.rotation) {
    if (file.rotation->max_megabytes <= 0) problems.push_back({"rotation::max_megabytes", "must be > 0"});
    if (file.rotation->max_days < 0) problems.push_back({"rotation::max_days", "must be >= 0"});
    if (file.rotation->max_backups < 0) problems.push_back({"rotation::max_backups", "must be >= 0"});
  }
  add_nested(problems, "sending_queue", queue.validate());
  return problems;
}

FileExporterConfig FileExporterFactory::parse(ConfigNode& node) const {
  FileExporterConfig config;
  config.file.path = node.get_string("path", "");
  config.proto = node.get_enum("format", "json", {"json", "proto"}) == "proto";
  config.file.framing = config.proto ? FileFraming::length_prefixed : FileFraming::lines;
  config.file.append = node.get_bool("append", false);
  config.flush_interval = node.get_duration("flush_interval", config.flush_interval);
  config.compression = parse_compression_option(node, "none", "none, zstd");
  if (config.compression.enabled()) config.file.framing = FileFraming::zstd_frames;
  if (node.has("rotation")) {
    ConfigNode r = node.child("rotation");
    FileRotationConfig rotation;
    rotation.max_megabytes = r.get_int("max_megabytes", rotation.max_megabytes);
    rotation.max_days = r.get_int("max_days", rotation.max_days);
    rotation.max_backups = r.get_int("max_backups", rotation.max_backups);
    rotation.localtime = r.get_bool("localtime", rotation.localtime);
    r.finish();
    config.file.rotation = rotation;
  } else {
    node.child("rotation");  // known key
  }
  config.queue = SendingQueueConfig::parse(node, {});
  node.finish();
  return config;
}

std::unique_ptr<Exporter> FileExporterFactory::make(const CreateSettings& settings,
                                                    const FileExporterConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.queue,
                                          std::make_unique<FileSender>(c, settings.logger));
}

}  // namespace otlpd
