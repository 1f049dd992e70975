#pragma once

#include "compression/compress.h"
#include "exporters/common/queued_exporter.h"
#include "exporters/file/file_writer.h"
#include "pipeline/typed_factory.h"

namespace otlpd {

// exporters::file, with otelcol's options and defaults (path, format, append, flush_interval,
// rotation, compression: zstd with compression_params::level).
struct FileExporterConfig final : ComponentConfig {
  FileWriterOptions file;
  bool proto = false;  // format: proto (length-prefixed binary) instead of json (OTLP/JSON lines)
  CompressionSetting compression;  // none, or zstd: each write is one frame, the file a .zst stream
  std::chrono::milliseconds flush_interval{1000};
  SendingQueueConfig queue;

  ConfigProblems validate() const;
};

// exporters::file: OTLP/JSON lines (or length-prefixed protobuf) compatible with the
// OpenTelemetry Collector's file exporter. Output is buffered and written whole records at
// a time every flush_interval (or sooner when 1 MiB is pending), so the file never holds a
// torn record; a failing write is logged with what was lost, and otlpd keeps serving.
class FileExporterFactory final : public TypedExporterFactory<FileExporterConfig> {
 public:
  std::string_view type() const override { return "file"; }
  FileExporterConfig parse(ConfigNode& node) const override;
  std::unique_ptr<Exporter> make(const CreateSettings& settings, const FileExporterConfig& config) const override;
};

}  // namespace otlpd
