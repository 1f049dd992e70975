#pragma once

#include <string>

#include "pipeline/typed_factory.h"
#include "storage/file_storage.h"

namespace otlpd {

// extensions::file_storage, with otelcol's options: the directory where exporters that say
// `sending_queue: {storage: file_storage}` keep their queues. Differences from otelcol: fsync
// defaults to true (otelcol's false loses acknowledged data when the machine goes down);
// fsync_delay is otlpd's (group appends for that long before one fdatasync); compaction and
// recreate are accepted and not needed (segments are deleted as they are delivered, and damaged
// records are skipped without losing the rest).
struct FileStorageConfig final : ComponentConfig {
  storage::FileStorageOptions options;
  std::string directory_permissions = "0750";

  static FileStorageConfig parse(ConfigNode& node);
  ConfigProblems validate() const;
};

class FileStorageExtensionFactory final : public TypedExtensionFactory<FileStorageConfig> {
 public:
  std::string_view type() const override { return "file_storage"; }
  FileStorageConfig parse(ConfigNode& node) const override { return FileStorageConfig::parse(node); }
  std::unique_ptr<Extension> make(const CreateSettings& settings, const FileStorageConfig& config) const override;
};

}  // namespace otlpd
