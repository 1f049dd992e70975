#include "exporters/file/file_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <vector>

namespace otlpd {
namespace {

namespace fs = std::filesystem;

std::string errno_text(int err) { return std::strerror(err); }

// Splits "dir/out.jsonl" into ("dir/out", ".jsonl").
std::pair<std::string, std::string> split_extension(const std::string& path) {
  fs::path p(path);
  return {(p.parent_path() / p.stem()).string(), p.extension().string()};
}

// Whether this process has opened `path` before (and records that it now has). A file
// exporter rebuilt by a reload must not truncate what it wrote before the reload.
bool opened_before(const std::string& path) {
  static std::mutex mutex;
  static std::set<std::string> opened;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  std::lock_guard lock(mutex);
  return !opened.insert(ec ? path : absolute.lexically_normal().string()).second;
}

}  // namespace

bool FileWriter::open(std::string* error) {
  std::error_code ec;
  if (auto dir = fs::path(options_.path).parent_path(); !dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec) {
      *error = fmt::format("cannot create directory '{}': {}", dir.string(), ec.message());
      return false;
    }
  }
  // append: false truncates at the first open in this process only (not again after a reload).
  const bool append = options_.append || opened_before(options_.path);
  if (!open_fd(!append, error)) return false;
  return !append || repair_tail(error);
}

bool FileWriter::open_fd(bool truncate, std::string* error) {
  const int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
  fd_ = ::open(options_.path.c_str(), flags, 0644);
  if (fd_ < 0) {
    *error = fmt::format("cannot open '{}': {}", options_.path, errno_text(errno));
    return false;
  }
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    *error = fmt::format("cannot stat '{}': {}", options_.path, errno_text(errno));
    close();
    return false;
  }
  size_ = static_cast<std::uint64_t>(st.st_size);
  return true;
}

bool FileWriter::repair_tail(std::string* error) {
  repaired_bytes_ = 0;
  if (size_ == 0) return true;
  const int rfd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    *error = fmt::format("cannot read '{}': {}", options_.path, errno_text(errno));
    return false;
  }
  std::uint64_t good = 0;
  if (options_.framing == FileFraming::lines) {
    // Find the last '\n', reading backwards in blocks.
    std::vector<char> block(64 * 1024);
    std::uint64_t end = size_;
    bool found = false;
    while (end > 0 && !found) {
      const std::uint64_t start = end > block.size() ? end - block.size() : 0;
      const auto n = pread(rfd, block.data(), end - start, static_cast<off_t>(start));
      if (n <= 0) break;
      for (auto i = n; i > 0; --i) {
        if (block[static_cast<std::size_t>(i - 1)] == '\n') {
          good = start + static_cast<std::uint64_t>(i);
          found = true;
          break;
        }
      }
      end = start;
    }
  } else if (options_.framing == FileFraming::zstd_frames) {
    // Walk the frames; keep every complete one (a frame is whole records). Only a frame cut
    // short is a torn tail: anything else is not otlpd's zstd output, and is not cut away.
    void* map = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, rfd, 0);
    if (map == MAP_FAILED) {
      *error = fmt::format("cannot read '{}': {}", options_.path, errno_text(errno));
      ::close(rfd);
      return false;
    }
    const auto* bytes = static_cast<const char*>(map);
    std::size_t frame = 0;
    while (good < size_) {
      frame = ZSTD_findFrameCompressedSize(bytes + good, size_ - good);
      if (ZSTD_isError(frame)) break;
      good += frame;
    }
    munmap(map, size_);
    if (good < size_ && ZSTD_getErrorCode(frame) != ZSTD_error_srcSize_wrong) {
      *error = fmt::format("cannot append to '{}': it is not a zstd stream from byte {} on ({}); was it written "
                           "without compression? Give this exporter another path",
                           options_.path, good, ZSTD_getErrorName(frame));
      ::close(rfd);
      return false;
    }
  } else {
    // Walk the length prefixes; keep every complete record.
    for (;;) {
      unsigned char prefix[4];
      if (pread(rfd, prefix, 4, static_cast<off_t>(good)) != 4) break;
      const std::uint64_t len = (std::uint64_t{prefix[0]} << 24) | (prefix[1] << 16) |
                                (prefix[2] << 8) | prefix[3];
      if (good + 4 + len > size_) break;
      good += 4 + len;
    }
  }
  ::close(rfd);
  if (good == size_) return true;
  if (ftruncate(fd_, static_cast<off_t>(good)) != 0) {
    *error = fmt::format("cannot repair the torn end of '{}': {}", options_.path, errno_text(errno));
    return false;
  }
  repaired_bytes_ = size_ - good;
  size_ = good;
  return true;
}

bool FileWriter::write(std::string_view records, std::string* error) {
  if (fd_ < 0) {
    *error = fmt::format("'{}' is not open", options_.path);
    return false;
  }
  if (options_.rotation && size_ > 0 &&
      size_ + records.size() >
          static_cast<std::uint64_t>(options_.rotation->max_megabytes) * 1024 * 1024) {
    if (!rotate(error)) return false;
  }
  std::size_t done = 0;
  int err = 0;
  while (done < records.size()) {
    const ssize_t n = ::write(fd_, records.data() + done, records.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done == records.size()) {
    size_ += records.size();
    return true;
  }
  // Take back the part that made it, so the file ends at a record boundary.
  const bool truncated = done == 0 || ftruncate(fd_, static_cast<off_t>(size_)) == 0;
  *error = fmt::format("cannot write {} bytes to '{}': {}{}", records.size(), options_.path,
                       errno_text(err),
                       truncated ? "" : " (and could not truncate the partial write)");
  return false;
}

bool FileWriter::rotate(std::string* error) {
  close();
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  if (options_.rotation->localtime) localtime_r(&t, &tm);
  else gmtime_r(&t, &tm);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  auto [stem, ext] = split_extension(options_.path);
  std::string backup = fmt::format("{}-{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}{}", stem,
                                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                   tm.tm_min, tm.tm_sec, millis, ext);
  for (int n = 1; fs::exists(backup); ++n) {  // two rotations within one millisecond
    backup = fmt::format("{}-{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}.{}{}", stem, tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis, n, ext);
  }
  if (std::rename(options_.path.c_str(), backup.c_str()) != 0) {
    *error = fmt::format("cannot rotate '{}' to '{}': {}", options_.path, backup, errno_text(errno));
    open_fd(false, error);
    return false;
  }
  prune_backups();
  return open_fd(true, error);
}

void FileWriter::prune_backups() {
  auto [stem, ext] = split_extension(options_.path);
  const fs::path dir = fs::path(options_.path).parent_path().empty()
                           ? fs::path(".")
                           : fs::path(options_.path).parent_path();
  const std::string prefix = fs::path(stem).filename().string() + "-";
  std::vector<fs::directory_entry> backups;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() + ext.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - ext.size(), ext.size(), ext) == 0 &&
        name.size() >= prefix.size() + 23 && name[prefix.size() + 4] == '-' &&
        name[prefix.size() + 10] == 'T') {
      backups.push_back(entry);
    }
  }
  // Names carry the rotation time, so they sort oldest first.
  std::sort(backups.begin(), backups.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  const auto& rotation = *options_.rotation;
  std::size_t keep_from = 0;
  if (rotation.max_backups > 0 && backups.size() > static_cast<std::size_t>(rotation.max_backups)) {
    keep_from = backups.size() - static_cast<std::size_t>(rotation.max_backups);
  }
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24 * rotation.max_days);
  for (std::size_t i = 0; i < backups.size(); ++i) {
    const bool too_many = i < keep_from;
    const bool too_old = rotation.max_days > 0 && backups[i].last_write_time(ec) < cutoff;
    if (too_many || too_old) fs::remove(backups[i].path(), ec);
  }
}

void FileWriter::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace otlpd
