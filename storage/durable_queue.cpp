#include "storage/durable_queue.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <climits>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "storage/segment_format.h"

namespace otlpd::storage {

namespace fs = std::filesystem;

struct DurableQueue::Segment {
  std::uint64_t sequence = 0;
  std::string path;
  int fd = -1;
  std::uint64_t size = 0;   // bytes written
  std::uint64_t live = 0;   // records not done
  bool active = false;      // still appended to
  ~Segment() {
    if (fd >= 0) ::close(fd);
  }
};

struct DurableQueue::Entry {
  std::uint64_t id = 0;
  std::uint64_t offset = 0;  // of the record in its segment
  std::uint32_t payload_size = 0;
  std::shared_ptr<Segment> segment;
  std::optional<Batch> cached;  // the batch itself, when kept in memory
};

namespace {

constexpr std::uint32_t kMarkMagic = 0x4151544fu;  // "OTQA"
constexpr const char* kMarkFile = "acked";
constexpr const char* kLockFile = "lock";

std::string errno_text(int error) { return std::strerror(error); }

std::string segment_name(std::uint64_t sequence) { return fmt::format("{:016x}.seg", sequence); }

// Writes every piece, in order, at `offset` (pwritev, resumed after a short write); false with
// errno set on failure.
bool write_all(int fd, std::vector<iovec> pieces, std::uint64_t offset) {
  std::size_t first = 0;
  for (;;) {
    while (first < pieces.size() && pieces[first].iov_len == 0) ++first;
    if (first == pieces.size()) break;
    const int count = static_cast<int>(std::min<std::size_t>(pieces.size() - first, IOV_MAX));
    const ssize_t n = ::pwritev(fd, pieces.data() + first, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = ENOSPC;
      return false;
    }
    offset += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (first < pieces.size() && left >= pieces[first].iov_len) left -= pieces[first++].iov_len;
    if (left > 0) {
      pieces[first].iov_base = static_cast<char*>(pieces[first].iov_base) + left;
      pieces[first].iov_len -= left;
    }
  }
  return true;
}

// Writes all of `size` bytes at `offset`; false with errno set on failure.
bool write_all(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  return write_all(fd, {iovec{const_cast<char*>(data), size}}, offset);
}

bool read_all(int fd, char* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

void sync_directory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool is_disk_full(int error) { return error == ENOSPC || error == EDQUOT || error == EFBIG; }

}  // namespace

std::string queue_directory_name(std::string_view kind, std::string_view type, std::string_view name) {
  const std::string raw = fmt::format("{}_{}_{}", kind, type, name);
  std::string out;
  for (const char c : raw) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                       c == '_' || c == '-';
    if (plain) {
      out += c;
    } else {
      out += fmt::format("~{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

DurableQueue::DurableQueue(QueueOptions options) : options_(std::move(options)) {
  if (options_.segment_bytes == 0) {
    options_.segment_bytes = std::clamp<std::uint64_t>(options_.max_bytes / 8, 64 << 10, 16 << 20);
  }
}

std::unique_ptr<DurableQueue> DurableQueue::open(QueueOptions options, RecoveryReport* report, std::string* error) {
  std::unique_ptr<DurableQueue> queue(new DurableQueue(std::move(options)));
  std::error_code ec;
  fs::create_directories(queue->options_.directory, ec);
  if (ec) {
    *error = fmt::format("cannot create the queue directory {}: {}", queue->options_.directory, ec.message());
    return nullptr;
  }
  RecoveryReport local;
  if (!queue->lock_directory(error) || !queue->recover(report ? report : &local, error)) return nullptr;
  if (queue->options_.fsync) {
    DurableQueue* q = queue.get();
    queue->syncer_ = std::thread([q] { q->run_syncer(); });
  }
  return queue;
}

bool DurableQueue::lock_directory(std::string* error) {
  const std::string path = options_.directory + "/" + kLockFile;
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    *error = fmt::format("cannot open the lock file {}: {}", path, errno_text(errno));
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
  while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      *error = fmt::format("cannot lock {}: {}", path, errno_text(errno));
      return false;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char pid[32] = {};
      const ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
      std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string();
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      *error = fmt::format(
          "the queue directory {} is in use by another process{} (still locked after {} ms): two collectors cannot share "
          "one queue; give each its own file_storage directory",
          options_.directory, holder.empty() ? "" : " (pid " + holder + ")", options_.lock_timeout.count());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || !write_all(lock_fd_, pid.data(), pid.size(), 0)) {
    // The lock holds without the pid in it; the pid only makes the other process's error clearer.
    options_.logger->debug("cannot write the pid into {}: {}", path, errno_text(errno));
  }
  return true;
}

void DurableQueue::read_mark() {
  const std::string path = options_.directory + "/" + kMarkFile;
  mark_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (mark_fd_ < 0) {
    options_.logger->warn("cannot open {}: {}; deliveries will not be remembered across restarts (duplicates)", path,
                          errno_text(errno));
    return;
  }
  struct stat st {};
  if (::fstat(mark_fd_, &st) != 0 || st.st_size == 0) return;  // a new queue
  ledger_size_ = static_cast<std::uint64_t>(st.st_size);  // a rewrite cuts whatever is longer
  // The mark (16 bytes: id, magic, CRC), then ids delivered above it (12 bytes each: id, CRC).
  std::string ledger(static_cast<std::size_t>(std::min<off_t>(st.st_size, 64 << 20)), '\0');
  const auto* b = reinterpret_cast<const std::uint8_t*>(ledger.data());
  std::uint32_t magic = 0, crc = 0;
  if (read_all(mark_fd_, ledger.data(), ledger.size(), 0) && ledger.size() >= 16) {
    std::memcpy(&magic, b + 8, 4);
    std::memcpy(&crc, b + 12, 4);
  }
  if (magic != kMarkMagic || crc != crc32(b, 12)) {
    options_.logger->warn("{} is damaged: every record still on disk is sent again (some may arrive twice)", path);
    return;
  }
  std::memcpy(&mark_, b, 8);
  for (std::size_t pos = 16; pos + 12 <= ledger.size(); pos += 12) {
    std::uint64_t id = 0;
    std::memcpy(&id, b + pos, 8);
    std::memcpy(&crc, b + pos + 8, 4);
    if (crc != crc32(b + pos, 8)) break;  // a torn last entry: that record is sent again
    if (id > mark_) done_above_.insert(id);
  }
}

namespace {
void put_ledger_entry(std::string& out, std::uint64_t id) {
  char e[12];
  std::memcpy(e, &id, 8);
  const std::uint32_t crc = crc32(e, 8);
  std::memcpy(e + 8, &crc, 4);
  out.append(e, sizeof e);
}
}  // namespace

// The ledger is not synced: what a lost write costs is records delivered again, never lost.
void DurableQueue::write_mark_locked() {
  if (mark_fd_ < 0) return;
  std::string ledger(16, '\0');
  std::memcpy(ledger.data(), &mark_, 8);
  std::memcpy(ledger.data() + 8, &kMarkMagic, 4);
  const std::uint32_t crc = crc32(ledger.data(), 12);
  std::memcpy(ledger.data() + 12, &crc, 4);
  for (const std::uint64_t id : done_above_) put_ledger_entry(ledger, id);
  if (!write_all(mark_fd_, ledger.data(), ledger.size(), 0) ||
      (ledger.size() < ledger_size_ && ::ftruncate(mark_fd_, static_cast<off_t>(ledger.size())) != 0)) {
    options_.logger->debug("cannot write the delivery ledger: {}", errno_text(errno));
  }
  ledger_size_ = ledger.size();
}

void DurableQueue::append_done_locked(std::uint64_t id) {
  done_above_.insert(id);
  if (mark_fd_ < 0) return;
  std::string entry;
  put_ledger_entry(entry, id);
  if (!write_all(mark_fd_, entry.data(), entry.size(), ledger_size_)) {
    options_.logger->debug("cannot write the delivery ledger: {}", errno_text(errno));
    return;
  }
  ledger_size_ += entry.size();
}

bool DurableQueue::recover(RecoveryReport* report, std::string* error) {
  read_mark();
  std::vector<std::pair<std::uint64_t, std::string>> files;
  std::error_code ec;
  for (const auto& dirent : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = dirent.path().filename().string();
    if (name.size() != 20 || name.substr(16) != ".seg") continue;
    std::uint64_t sequence = 0;
    const auto [end, parse_error] = std::from_chars(name.data(), name.data() + 16, sequence, 16);
    if (parse_error != std::errc() || end != name.data() + 16) continue;
    files.emplace_back(sequence, dirent.path().string());
  }
  if (ec) {
    *error = fmt::format("cannot list {}: {}", options_.directory, ec.message());
    return false;
  }
  std::sort(files.begin(), files.end());
  // Ids are never given again: not those of the ledger either (their files may be gone).
  std::uint64_t max_id = done_above_.empty() ? mark_ : std::max(mark_, *done_above_.rbegin());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& [sequence, path] = files[i];
    const bool last = i + 1 == files.size();
    next_sequence_ = std::max(next_sequence_, sequence + 1);
    auto segment = std::make_shared<Segment>();
    segment->sequence = sequence;
    segment->path = path;
    segment->fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct stat st {};
    if (segment->fd < 0 || ::fstat(segment->fd, &st) != 0) {
      *error = fmt::format("cannot open {}: {}", path, errno_text(errno));
      return false;
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* map = size > 0 ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, segment->fd, 0) : nullptr;
    if (map == MAP_FAILED) {
      *error = fmt::format("cannot read {}: {}", path, errno_text(errno));
      return false;
    }
    const std::string_view file(static_cast<const char*>(map), map ? size : 0);
    const SegmentHeader header = decode_segment_header(file);
    if (header.status != SegmentHeader::Status::ok) {
      if (map) ::munmap(map, size);
      if (header.status == SegmentHeader::Status::not_a_segment && size < kSegmentHeaderSize && last) {
        // Created by a process that died before its header was written: nothing in it.
        fs::remove(path, ec);
        continue;
      }
      ++report->unreadable_files;
      const std::string aside = path + ".unreadable";
      fs::rename(path, aside, ec);
      options_.logger->error("persistent queue: {} cannot be read ({}); its {} bytes are skipped and the file was "
                             "moved to {}",
                             path, header.problem, size, aside);
      continue;
    }
    const ScanResult scan = scan_records(file, [&](const RecordHeader& record, std::uint64_t offset) {
      max_id = std::max(max_id, record.id);
      if (record.id <= mark_ || done_above_.count(record.id) || live_.count(record.id)) {
        ++report->delivered;
        return;
      }
      live_[record.id] = Live{record.items, record.payload_size, static_cast<Signal>(record.signal), segment};
      ++records_by_signal_[record.signal];
      Entry entry;
      entry.id = record.id;
      entry.offset = offset;
      entry.payload_size = record.payload_size;
      entry.segment = segment;
      pending_.push_back(std::move(entry));
      ++segment->live;
      ++report->records;
      report->items += record.items;
      report->bytes += record.payload_size;
      items_ += record.items;
      bytes_ += record.payload_size;
    });
    if (map) ::munmap(map, size);
    if (scan.corrupt_records > 0) {
      report->corrupt_records += scan.corrupt_records;
      report->corrupt_bytes += scan.corrupt_bytes;
      stats_.corrupt_records += scan.corrupt_records;
      options_.logger->error("persistent queue: {} holds {} damaged record{} ({} bytes, checksums do not match); "
                             "{} skipped, the {} intact records around them are kept",
                             path, scan.corrupt_records, scan.corrupt_records == 1 ? "" : "s", scan.corrupt_bytes,
                             scan.corrupt_records == 1 ? "it is" : "they are", scan.records);
    }
    if (scan.tail_bytes > 0) {
      report->torn_tail_bytes += scan.tail_bytes;
      if (::ftruncate(segment->fd, static_cast<off_t>(scan.good_end)) != 0) {
        options_.logger->warn("cannot cut {}: {}", path, errno_text(errno));
      }
      options_.logger->warn("persistent queue: cut {} bytes off the end of {}: {}", scan.tail_bytes, path,
                            last ? "a record torn by a crash while it was written (it was never acknowledged)"
                                 : "the file ends inside a record (truncated)");
    }
    segment->size = scan.good_end;
    if (segment->live == 0) {
      fs::remove(path, ec);
      continue;
    }
    disk_bytes_ += segment->size;
    segments_[sequence] = segment;
  }
  next_id_ = max_id + 1;
  mark_ = live_.empty() ? max_id : live_.begin()->first - 1;
  done_above_.erase(done_above_.begin(), done_above_.upper_bound(mark_));
  write_mark_locked();
  if (!files.empty() && options_.fsync) sync_directory(options_.directory);
  return true;
}

DurableQueue::~DurableQueue() {
  close();
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(sync_mutex_);
      stop_syncer_ = true;
    }
    sync_wake_.notify_all();
    syncer_.join();  // after the last waiters were told
  }
  std::lock_guard lock(mutex_);
  if (active_ && active_->live == 0) drop_segment_locked(active_);
  active_.reset();
  pending_.clear();
  live_.clear();
  segments_.clear();
  if (mark_fd_ >= 0) ::close(mark_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

bool DurableQueue::new_segment_locked(std::string* error) {
  auto segment = std::make_shared<Segment>();
  segment->sequence = next_sequence_++;
  segment->path = options_.directory + "/" + segment_name(segment->sequence);
  segment->fd = ::open(segment->path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (segment->fd < 0) {
    *error = fmt::format("cannot create {}: {}", segment->path, errno_text(errno));
    return false;
  }
  const std::string header = encode_segment_header(segment->sequence);
  if (!write_all(segment->fd, header.data(), header.size(), 0)) {
    *error = fmt::format("cannot write {}: {}", segment->path, errno_text(errno));
    const int saved = errno;
    ::unlink(segment->path.c_str());
    errno = saved;
    return false;
  }
  if (options_.fsync) sync_directory(options_.directory);  // the file's name survives a power loss
  segment->size = header.size();
  segment->active = true;
  disk_bytes_ += segment->size;
  segments_[segment->sequence] = segment;
  active_ = segment;
  return true;
}

void DurableQueue::retire_active_locked() {
  if (!active_) return;
  if (options_.fsync) {
    stats_.fsyncs.fetch_add(1, std::memory_order_relaxed);
    if (::fdatasync(active_->fd) != 0) {
      // Appends still waiting for their sync are in this file: they are not durable.
      unsynced_through_ = written_;
      unsynced_error_ = fmt::format("cannot sync {}: {}", active_->path, errno_text(errno));
    }
  }
  active_->active = false;
  if (active_->live == 0) drop_segment_locked(active_);
  active_.reset();
}

void DurableQueue::drop_segment_locked(const std::shared_ptr<Segment>& segment) {
  ::unlink(segment->path.c_str());
  disk_bytes_ -= std::min(disk_bytes_, segment->size);
  segments_.erase(segment->sequence);
}

DurableQueue::AppendResult DurableQueue::append(const Batch& batch, OnDurable on_durable) {
  // The record, gathered outside the lock without copying the requests' bytes: the header
  // (its id filled in below), then each request's length and bytes.
  const std::size_t n = batch.requests.size();
  std::array<std::uint8_t, kRecordHeaderSize> head{};
  std::vector<std::uint32_t> lengths(n);
  std::vector<std::string> encoded;  // requests built in memory (OTLP/JSON), encoded here
  std::vector<iovec> pieces;
  pieces.reserve(1 + 2 * n);
  pieces.push_back({head.data(), head.size()});
  std::uint32_t crc = 0;
  std::uint64_t payload = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::string_view wire = batch.requests[i]->wire();
    if (wire.empty() && batch.requests[i]->wire_size() > 0) {
      encoded.emplace_back();
      batch.requests[i]->message().SerializeToString(&encoded.back());
      wire = encoded.back();
    }
    lengths[i] = static_cast<std::uint32_t>(wire.size());
    crc = crc32(&lengths[i], 4, crc);
    crc = crc32(wire.data(), wire.size(), crc);
    pieces.push_back({&lengths[i], 4});
    pieces.push_back({const_cast<char*>(wire.data()), wire.size()});
    payload += 4 + wire.size();
  }
  if (payload > std::numeric_limits<std::uint32_t>::max()) {
    return {AppendResult::Status::full, fmt::format("a batch of {} bytes is larger than a record can be", payload)};
  }
  RecordHeader header;
  header.payload_size = static_cast<std::uint32_t>(payload);
  header.signal = static_cast<std::uint8_t>(batch.signal);
  header.items = static_cast<std::uint32_t>(batch.item_count());
  header.payload_crc = crc;
  const std::uint64_t record_size = kRecordHeaderSize + payload;

  // Without on_durable, this thread waits for the syncing thread's verdict.
  struct Wait {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<AppendResult> result;
  };
  std::shared_ptr<Wait> wait;
  if (options_.fsync && !on_durable) {
    wait = std::make_shared<Wait>();
    on_durable = [wait](const AppendResult& r) {
      std::lock_guard lock(wait->mutex);
      wait->result = r;
      wait->cv.notify_all();
    };
  }
  {
    std::lock_guard lock(mutex_);
    if (closed_) return {AppendResult::Status::failed, "the persistent queue is closed", false};
    if (active_ && active_->size + record_size > options_.segment_bytes && active_->size > kSegmentHeaderSize) {
      retire_active_locked();
    }
    const std::uint64_t needed = record_size + (active_ ? 0 : kSegmentHeaderSize);
    if (disk_bytes_ + needed > options_.max_bytes && active_ && active_->live == 0) {
      retire_active_locked();  // its records are all delivered: give its space back first
    }
    if (disk_bytes_ + record_size + (active_ ? 0 : kSegmentHeaderSize) > options_.max_bytes) {
      return {AppendResult::Status::full,
              fmt::format("its files would exceed max_size_mib: {} bytes on disk + {} incoming > {}", disk_bytes_,
                          record_size, options_.max_bytes)};
    }
    std::string error;
    if (!active_ && !new_segment_locked(&error)) {
      return {is_disk_full(errno) ? AppendResult::Status::full : AppendResult::Status::failed, error};
    }
    header.id = next_id_;
    encode_record_header(header, head.data());
    if (!write_all(active_->fd, pieces, active_->size)) {
      const int saved = errno;
      // Take back whatever part of the record reached the file.
      if (::ftruncate(active_->fd, static_cast<off_t>(active_->size)) != 0) {
        options_.logger->warn("cannot cut a partly written record off {}: {}", active_->path, errno_text(errno));
      }
      return {is_disk_full(saved) ? AppendResult::Status::full : AppendResult::Status::failed,
              fmt::format("cannot write {}: {}", active_->path, errno_text(saved))};
    }
    ++next_id_;
    Entry entry;
    entry.id = header.id;
    entry.offset = active_->size;
    entry.payload_size = header.payload_size;
    entry.segment = active_;
    if (cached_bytes_ + header.payload_size <= options_.memory_bytes) {
      entry.cached = batch;
      cached_bytes_ += header.payload_size;
    }
    active_->size += record_size;
    ++active_->live;
    disk_bytes_ += record_size;
    live_[header.id] = Live{header.items, header.payload_size, batch.signal, active_};
    ++records_by_signal_[header.signal];
    items_ += header.items;
    bytes_ += header.payload_size;
    pending_.push_back(std::move(entry));
    const std::uint64_t sequence = ++written_;
    stats_.bytes_written.fetch_add(record_size, std::memory_order_relaxed);
    if (options_.fsync) {
      // Registered under mutex_, so that the syncing thread's next look at written_ covers it.
      std::lock_guard sync(sync_mutex_);
      waiters_.emplace_back(sequence, std::move(on_durable));
    }
  }
  available_.notify_one();
  if (!options_.fsync) return {};
  sync_wake_.notify_one();
  if (!wait) {
    AppendResult deferred;
    deferred.deferred = true;
    return deferred;
  }
  std::unique_lock lock(wait->mutex);
  wait->cv.wait(lock, [&] { return wait->result.has_value(); });
  return *wait->result;
}

// Group commit: one fdatasync covers every append written before it started; appends that
// arrive while it runs wait for the next one. fsync_delay lets more join before it starts.
void DurableQueue::run_syncer() noexcept {
  std::unique_lock lock(sync_mutex_);
  for (;;) {
    sync_wake_.wait(lock, [&] { return stop_syncer_ || !waiters_.empty(); });
    if (waiters_.empty()) return;  // stopping, and everyone has been told
    lock.unlock();
    if (options_.fsync_delay.count() > 0 && !stop_syncer_) std::this_thread::sleep_for(options_.fsync_delay);
    std::uint64_t target = 0, unsynced_through = 0;
    std::string unsynced_error;
    std::shared_ptr<Segment> segment;
    {
      std::lock_guard state(mutex_);
      target = written_;
      segment = active_;  // earlier segments were synced when they were retired
      unsynced_through = std::exchange(unsynced_through_, 0);
      unsynced_error = std::move(unsynced_error_);
    }
    const int rc = segment ? ::fdatasync(segment->fd) : 0;
    const int saved = errno;
    stats_.fsyncs.fetch_add(1, std::memory_order_relaxed);
    // A failed sync: the records stay queued (they may well be on disk and will be sent), but
    // they are not known to be durable, so they are not acknowledged: clients send them again.
    AppendResult outcome, retired_outcome{AppendResult::Status::failed, unsynced_error};
    if (rc != 0) {
      outcome = {AppendResult::Status::failed, fmt::format("cannot sync {}: {}", segment->path, errno_text(saved))};
    }
    std::vector<std::pair<std::uint64_t, OnDurable>> ready;
    lock.lock();
    auto keep = std::partition(waiters_.begin(), waiters_.end(),
                               [&](const auto& waiter) { return waiter.first > target; });
    std::move(keep, waiters_.end(), std::back_inserter(ready));
    waiters_.erase(keep, waiters_.end());
    lock.unlock();
    for (auto& [sequence, done] : ready) done(sequence <= unsynced_through ? retired_outcome : outcome);
    lock.lock();
  }
}

std::optional<DurableQueue::Item> DurableQueue::take(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    Entry entry;
    {
      std::unique_lock lock(mutex_);
      if (!available_.wait_until(lock, deadline, [&] { return closed_ || !pending_.empty(); }) || closed_) {
        return std::nullopt;
      }
      entry = std::move(pending_.front());
      pending_.pop_front();
      if (entry.cached) {
        cached_bytes_ -= std::min<std::uint64_t>(cached_bytes_, entry.payload_size);
        return Item{entry.id, std::move(*entry.cached)};
      }
    }
    if (std::optional<Batch> batch = read_back(entry)) return Item{entry.id, std::move(*batch)};
    stats_.corrupt_records.fetch_add(1, std::memory_order_relaxed);
    done(entry.id);
  }
}

std::optional<Batch> DurableQueue::read_back(const Entry& entry) {
  const std::size_t size = kRecordHeaderSize + entry.payload_size;
  auto buffer = std::make_shared<std::string>(size, '\0');
  RecordHeader header;
  errno = 0;
  if (!read_all(entry.segment->fd, buffer->data(), size, entry.offset)) {
    options_.logger->error("persistent queue: cannot read record {} back from {}: {}; it is skipped", entry.id,
                           entry.segment->path, errno == 0 ? "the file is shorter" : errno_text(errno));
    return std::nullopt;
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(buffer->data());
  if (!decode_record_header(bytes, size, &header) || header.id != entry.id ||
      crc32(bytes + kRecordHeaderSize, entry.payload_size) != header.payload_crc) {
    options_.logger->error("persistent queue: record {} in {} was damaged on disk after it was written (checksum "
                           "mismatch); it is skipped",
                           entry.id, entry.segment->path);
    return std::nullopt;
  }
  Batch batch;
  batch.signal = static_cast<Signal>(header.signal);
  std::string problem;
  const std::string_view payload(buffer->data() + kRecordHeaderSize, entry.payload_size);
  const bool framed = split_payload(payload, [&](std::string_view wire) {
    if (!problem.empty()) return;
    WireBytes view{reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size(), buffer};
    RequestPtr request = Request::receive(batch.signal, std::move(view), &problem);
    if (request) batch.requests.push_back(std::move(request));
  });
  if (!framed || !problem.empty()) {
    options_.logger->error("persistent queue: record {} in {} does not hold valid OTLP ({}); it is skipped", entry.id,
                           entry.segment->path, framed ? problem : "bad framing");
    return std::nullopt;
  }
  return batch;
}

void DurableQueue::done(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  done_locked(id);
}

void DurableQueue::done_locked(std::uint64_t id) {
  const auto it = live_.find(id);
  if (it == live_.end()) return;
  const std::shared_ptr<Segment> segment = it->second.segment;
  items_ -= std::min<std::uint64_t>(items_, it->second.items);
  bytes_ -= std::min<std::uint64_t>(bytes_, it->second.bytes);
  --records_by_signal_[static_cast<std::size_t>(it->second.signal)];
  live_.erase(it);
  if (--segment->live == 0 && !segment->active) drop_segment_locked(segment);
  const std::uint64_t mark = live_.empty() ? next_id_ - 1 : live_.begin()->first - 1;
  if (mark != mark_) {
    mark_ = mark;
    done_above_.erase(done_above_.begin(), done_above_.upper_bound(mark_));
    write_mark_locked();
  } else {
    append_done_locked(id);  // delivered while an older record is still out
  }
}

void DurableQueue::retry_later(Item item) {
  {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(item.id);
    if (it == live_.end()) return;
    Entry entry;
    entry.id = item.id;
    entry.segment = it->second.segment;
    entry.payload_size = static_cast<std::uint32_t>(it->second.bytes);
    cached_bytes_ += entry.payload_size;
    entry.cached = std::move(item.batch);
    pending_.push_front(std::move(entry));
  }
  available_.notify_one();
}

void DurableQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  available_.notify_all();
}

std::uint64_t DurableQueue::records() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}
std::uint64_t DurableQueue::records(Signal signal) const {
  std::lock_guard lock(mutex_);
  return records_by_signal_[static_cast<std::size_t>(signal)];
}
std::uint64_t DurableQueue::items() const {
  std::lock_guard lock(mutex_);
  return items_;
}
std::uint64_t DurableQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}
std::uint64_t DurableQueue::disk_bytes() const {
  std::lock_guard lock(mutex_);
  return disk_bytes_;
}

}  // namespace otlpd::storage
