#include "storage/file_storage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace otlpd::storage {

namespace fs = std::filesystem;

bool FileStorage::prepare(std::string* error) const {
  std::error_code ec;
  if (fs::is_directory(options_.directory, ec)) return true;
  if (!options_.create_directory) {
    *error = fmt::format("directory {} does not exist (create it, or set create_directory: true)", options_.directory);
    return false;
  }
  fs::create_directories(options_.directory, ec);
  if (ec) {
    *error = fmt::format("cannot create directory {}: {}", options_.directory, ec.message());
    return false;
  }
  ::chmod(options_.directory.c_str(), options_.directory_permissions);
  return true;
}

std::unique_ptr<DurableQueue> FileStorage::open_queue(std::string_view kind, std::string_view type,
                                                      std::string_view name, std::uint64_t max_bytes,
                                                      std::shared_ptr<spdlog::logger> logger, RecoveryReport* report,
                                                      std::string* error) const {
  if (!prepare(error)) return nullptr;
  QueueOptions q;
  q.directory = options_.directory + "/" + queue_directory_name(kind, type, name);
  q.fsync = options_.fsync;
  q.fsync_delay = options_.fsync_delay;
  q.lock_timeout = options_.timeout;
  q.max_bytes = max_bytes;
  q.logger = std::move(logger);
  return DurableQueue::open(std::move(q), report, error);
}

void FileStorage::report_orphans(spdlog::logger& logger) const {
  std::error_code ec;
  for (const auto& dirent : fs::directory_iterator(options_.directory, ec)) {
    if (!dirent.is_directory(ec)) continue;
    std::uint64_t bytes = 0, segments = 0;
    for (const auto& file : fs::directory_iterator(dirent.path(), ec)) {
      const std::string name = file.path().filename().string();
      if (name.size() > 4 && name.compare(name.size() - 4, 4, ".seg") == 0) {
        ++segments;
        bytes += file.file_size(ec);
      }
    }
    if (segments == 0) continue;
    const std::string lock = dirent.path().string() + "/lock";
    const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;  // held: a queue in use, by us or another process
    ::close(fd);
    if (!free) continue;
    logger.warn("persistent queue {}: {} bytes of queued data ({} segment file{}) that no exporter of this "
                "configuration uses (removed or renamed): kept, not deleted. Configure that exporter again to deliver "
                "it, or delete the directory",
                dirent.path().string(), bytes, segments, segments == 1 ? "" : "s");
  }
}

}  // namespace otlpd::storage
