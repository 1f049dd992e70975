#pragma once

#include "exporters/common/queued_exporter.h"
#include "exporters/file/file_writer.h"
#include "pipeline/component.h"

namespace otlpd {

struct FileExporterConfig final : ComponentConfig {
  FileWriterOptions file;
  bool proto = false;  // format: proto (length-prefixed binary) instead of json (OTLP/JSON lines)
  std::chrono::milliseconds flush_interval{1000};
  SendingQueueConfig queue;
};

// exporters::file: OTLP/JSON lines (or length-prefixed protobuf) compatible with the
// OpenTelemetry Collector's file exporter. Output is buffered and written whole records at
// a time every flush_interval (or sooner when 1 MiB is pending), so the file never holds a
// torn record; a failing write is logged with what was lost, and otlpd keeps serving.
class FileExporterFactory final : public ExporterFactory {
 public:
  std::string_view type() const override { return "file"; }
  std::unique_ptr<ComponentConfig> parse_config(ConfigNode& node) const override;
  std::unique_ptr<Exporter> create(const CreateSettings& settings,
                                   const ComponentConfig& config) const override;
};

}  // namespace otlpd
