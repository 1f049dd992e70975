#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/logger.h>

#include "otlp/request.h"

namespace otlpd::storage {

struct QueueOptions {
  std::string directory;  // this queue's own directory; created if missing
  // fdatasync before append() returns (appends that arrive meanwhile share one fdatasync).
  // Without it an append survives a crash of otlpd, not of the machine.
  bool fsync = true;
  // How long the first of a group of appends waits before it syncs, so that more share it.
  std::chrono::microseconds fsync_delay{0};
  std::chrono::milliseconds lock_timeout{1000};  // waiting for another process to let go of the directory
  std::uint64_t max_bytes = std::uint64_t{64} << 20;  // the segment files' total size
  std::uint64_t segment_bytes = 0;                    // 0: max_bytes / 8, between 64 KiB and 16 MiB
  // Records appended by this process are also kept in memory, up to this many payload bytes,
  // so that sending them reads nothing back from disk.
  std::uint64_t memory_bytes = std::uint64_t{32} << 20;
  std::shared_ptr<spdlog::logger> logger;  // required
};

// What open() found on disk.
struct RecoveryReport {
  std::uint64_t records = 0, items = 0, bytes = 0;  // still to send
  std::uint64_t delivered = 0;        // records found that were already delivered (their files not yet removed)
  std::uint64_t corrupt_records = 0;  // skipped: damaged records and damaged stretches
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t torn_tail_bytes = 0;  // cut off the ends of segments (a crash during a write)
  std::uint64_t unreadable_files = 0;  // set aside as <name>.unreadable (newer format, damaged header)
};

// Counters for self-telemetry; written by whichever thread does the work.
struct QueueStats {
  std::atomic<std::uint64_t> fsyncs{0};
  std::atomic<std::uint64_t> bytes_written{0};
  std::atomic<std::uint64_t> corrupt_records{0};  // at open and when read back
};

// A persistent FIFO of batches: an append-only log of segment files (storage/segment_format.h)
// in one directory, which it holds with a lock file, plus a delivery ledger (`acked`: a mark,
// every record up to this id was delivered, followed by the ids delivered above it, which
// several consumers deliver out of order while the oldest record is still being retried). Delivery is at least once: a record is removed
// when done() (delivered, or given up on), and what was not done when the process died is
// delivered again after the restart, first. Segments whose records are all done are deleted.
// Thread-safe: any number of threads append, take and mark done.
class DurableQueue {
 public:
  // Opens (creates) the directory, takes its lock, and recovers what is on disk: pending
  // records become the head of the queue. nullptr and *error when it cannot.
  static std::unique_ptr<DurableQueue> open(QueueOptions options, RecoveryReport* report, std::string* error);
  ~DurableQueue();
  DurableQueue(const DurableQueue&) = delete;
  DurableQueue& operator=(const DurableQueue&) = delete;

  struct AppendResult {
    enum class Status { ok, full, failed };
    Status status = Status::ok;
    std::string message;
    bool deferred = false;  // ok, written; on_durable will tell whether it reached the disk
    bool ok() const { return status == Status::ok; }
  };
  using OnDurable = std::function<void(const AppendResult&)>;
  // Writes a batch. `full`: the disk budget or the disk itself has no room (nothing was kept);
  // `failed`: an I/O error. With fsync on, the batch is durable once the syncing thread has
  // run fdatasync for it (appends that arrive meanwhile share one): without `on_durable`,
  // append() waits for that; with it, append() returns at once (deferred) and on_durable runs
  // on the syncing thread with the outcome.
  AppendResult append(const Batch& batch, OnDurable on_durable = {});

  struct Item {
    std::uint64_t id = 0;
    Batch batch;
  };
  // The oldest record not taken yet; waits up to `wait` for one. nullopt on timeout or once
  // closed. A record that cannot be read back is counted, logged and removed, never returned.
  std::optional<Item> take(std::chrono::milliseconds wait);
  // The record was delivered (or will never be): it is removed.
  void done(std::uint64_t id);
  // The record could not be delivered now: it goes back to the head of the queue.
  void retry_later(Item item);
  // take() returns nullopt from now on; what is still queued stays on disk for the next start.
  void close();

  // Records (with their items and payload bytes) appended and not yet done, taken ones included.
  std::uint64_t records() const;
  std::uint64_t records(Signal signal) const;
  std::uint64_t items() const;
  std::uint64_t bytes() const;
  std::uint64_t disk_bytes() const;  // the segment files' size
  const QueueStats& stats() const { return stats_; }
  const std::string& directory() const { return options_.directory; }

 private:
  struct Segment;
  struct Entry;
  struct Live {
    std::uint32_t items;
    std::uint64_t bytes;
    Signal signal;
    std::shared_ptr<Segment> segment;
  };

  explicit DurableQueue(QueueOptions options);
  bool lock_directory(std::string* error);
  void read_mark();
  void write_mark_locked();                  // the whole ledger: the mark and done_above_
  void append_done_locked(std::uint64_t id); // one id delivered above the mark
  bool recover(RecoveryReport* report, std::string* error);
  bool new_segment_locked(std::string* error);
  void retire_active_locked();
  void drop_segment_locked(const std::shared_ptr<Segment>& segment);
  void done_locked(std::uint64_t id);
  void run_syncer() noexcept;
  std::optional<Batch> read_back(const Entry& entry);

  QueueOptions options_;
  QueueStats stats_;
  int lock_fd_ = -1;
  int mark_fd_ = -1;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::deque<Entry> pending_;                // not taken yet, oldest first
  std::map<std::uint64_t, Live> live_;       // not done yet (pending and taken)
  std::map<std::uint64_t, std::shared_ptr<Segment>> segments_;  // by sequence
  std::shared_ptr<Segment> active_;          // appended to; nullptr until the first append
  std::uint64_t next_id_ = 1;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t mark_ = 0;                   // every id <= mark_ is done
  std::set<std::uint64_t> done_above_;       // done ids above mark_, as the ledger lists them
  std::uint64_t ledger_size_ = 0;
  std::array<std::uint64_t, 3> records_by_signal_{};
  std::uint64_t items_ = 0, bytes_ = 0, disk_bytes_ = 0, cached_bytes_ = 0;
  std::uint64_t written_ = 0;                // appends written (sequence numbers for syncing)
  // A retired segment whose sync failed: appends up to this one are not durable.
  std::uint64_t unsynced_through_ = 0;
  std::string unsynced_error_;
  bool closed_ = false;

  // The syncing thread (with fsync): fdatasync for every append written so far, then tells
  // their waiters. Lock order: mutex_, then sync_mutex_.
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::vector<std::pair<std::uint64_t, OnDurable>> waiters_;  // by append sequence
  bool stop_syncer_ = false;
  std::thread syncer_;
};

// The directory name of a component's queue in a file_storage directory, as otelcol names its
// files: "<kind>_<type>_<name>", every character outside [A-Za-z0-9._-] written as ~%04X.
std::string queue_directory_name(std::string_view kind, std::string_view type, std::string_view name);

}  // namespace otlpd::storage
