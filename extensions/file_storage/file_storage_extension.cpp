#include "extensions/file_storage/file_storage_extension.h"

#include <cstdlib>

namespace otlpd {
namespace {

// Parses "0750"-style octal permissions; false if it is not octal or not within 0..0777.
bool parse_permissions(const std::string& text, mode_t* mode) {
  if (text.empty() || text.size() > 4) return false;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 8);
  if (*end != '\0' || value < 0 || value > 0777) return false;
  *mode = static_cast<mode_t>(value);
  return true;
}

class FileStorageExtension final : public Extension {
 public:
  FileStorageExtension(const CreateSettings& settings, const FileStorageConfig& config)
      : logger_(settings.logger), storage_(std::make_shared<storage::FileStorage>(config.options)) {
    settings.host->provide<storage::FileStorage>(settings.id.str(), storage_);
  }

  bool start(std::string* error) override {
    if (!storage_->prepare(error)) {
      *error = "file_storage: " + *error;
      return false;
    }
    return true;
  }
  void pipelines_ready() noexcept override { storage_->report_orphans(*logger_); }
  void shutdown() noexcept override {}

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<storage::FileStorage> storage_;
};

}  // namespace

FileStorageConfig FileStorageConfig::parse(ConfigNode& node) {
  FileStorageConfig c;
  auto& o = c.options;
  o.directory = node.get_string("directory", o.directory);
  o.create_directory = node.get_bool("create_directory", o.create_directory);
  c.directory_permissions = node.get_string("directory_permissions", c.directory_permissions);
  parse_permissions(c.directory_permissions, &o.directory_permissions);
  o.timeout = node.get_duration("timeout", o.timeout);
  o.fsync = node.get_bool("fsync", o.fsync);
  o.fsync_delay = node.get_duration("fsync_delay", std::chrono::milliseconds(0));
  node.get_bool("recreate", false);  // damaged records are always skipped, the rest kept
  // otelcol's bbolt files need compaction to shrink; otlpd's segments are deleted when delivered.
  ConfigNode compaction = node.child("compaction");
  compaction.get_bool("on_start", false);
  compaction.get_bool("on_rebound", false);
  compaction.get_string("directory", "");
  compaction.get_int("max_transaction_size", 65536);
  compaction.get_int("rebound_needed_threshold_mib", 100);
  compaction.get_int("rebound_trigger_threshold_mib", 10);
  compaction.get_duration("check_interval", std::chrono::milliseconds(5000));
  compaction.get_bool("cleanup_on_start", false);
  compaction.finish();
  return c;
}

ConfigProblems FileStorageConfig::validate() const {
  ConfigProblems problems;
  if (options.directory.empty()) problems.push_back({"directory", "must not be empty"});
  mode_t mode = 0;
  if (!parse_permissions(directory_permissions, &mode)) {
    problems.push_back({"directory_permissions", "must be octal permissions such as 0750"});
  }
  if (options.timeout.count() < 0) problems.push_back({"timeout", "must not be negative"});
  if (options.fsync_delay.count() < 0 || options.fsync_delay > std::chrono::seconds(1)) {
    problems.push_back({"fsync_delay", "must be between 0 and 1s"});
  }
  return problems;
}

std::unique_ptr<Extension> FileStorageExtensionFactory::make(const CreateSettings& settings,
                                                             const FileStorageConfig& config) const {
  return std::make_unique<FileStorageExtension>(settings, config);
}

}  // namespace otlpd
