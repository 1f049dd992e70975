// libFuzzer target: one segment file of the persistent sending queue (storage/segment_format.h),
// as recovery finds it on disk after a crash, a bad disk or a hand edit.
// 1. The format functions on the input as a whole file: decode_segment_header() and
//    scan_records() (never outside the buffer; records in order, inside it, with payloads whose
//    checksum holds and never overlapping; good_end <= size; tail_bytes == size - good_end), and
//    split_payload() on each record's payload (requests inside the payload, back to back).
// 2. The queue: the input written as the only segment file of a queue directory, and
//    DurableQueue::open() on it. Recovery must always succeed and report what the scan found;
//    everything pending is taken (read back from the file) and marked done; then one more batch
//    goes through. Nothing may crash, hang or be lost or delivered twice, and once every record
//    is done no segment file is left.
// A custom mutator recomputes the checksums of what looks like headers most of the time, so that
// mutations get past the CRCs to the code behind them (lengths, ids, signals, OTLP payloads).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "otlp/request.h"
#include "storage/durable_queue.h"
#include "storage/segment_format.h"

using namespace otlpd;
using namespace otlpd::storage;
namespace fs = std::filesystem;

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
void store(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

// The queue directory of this process: created once, emptied before every input, removed at
// exit (never destroyed itself, so that the exit handler can still name it).
const std::string& queue_directory() {
  static const std::string* const dir = [] {
    auto* path = new std::string((fs::temp_directory_path() / "otlpd_fuzz_segment_XXXXXX").string());
    if (::mkdtemp(path->data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    });
    return path;
  }();
  return *dir;
}

void empty_directory(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove_all(entry.path(), ec);
}

bool write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return true;
}

struct Scanned {
  std::uint64_t id;
  std::uint8_t signal;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A block of exactly the input's size, so that ASan sees any read past its end.
  auto copy = std::make_unique<char[]>(std::max<std::size_t>(size, 1));
  if (size > 0) std::memcpy(copy.get(), data, size);
  const std::string_view file(copy.get(), size);

  // --- 1. the format ---
  const SegmentHeader header = decode_segment_header(file);
  if (header.status != SegmentHeader::Status::ok && header.problem.empty()) std::abort();
  if (header.status == SegmentHeader::Status::ok && (header.version == 0 || header.version > kFormatVersion)) {
    std::abort();
  }
  std::vector<Scanned> records;
  std::uint64_t last_end = std::min<std::uint64_t>(kSegmentHeaderSize, size);
  const ScanResult scan = scan_records(file, [&](const RecordHeader& h, std::uint64_t offset) {
    if (offset < last_end || offset > size || size - offset < kRecordHeaderSize) std::abort();
    if (h.payload_size > size - offset - kRecordHeaderSize) std::abort();
    if (h.signal >= 3) std::abort();
    const std::string_view payload = file.substr(offset + kRecordHeaderSize, h.payload_size);
    if (crc32(payload.data(), payload.size()) != h.payload_crc) std::abort();  // reported as intact
    RecordHeader again;
    if (!decode_record_header(reinterpret_cast<const std::uint8_t*>(file.data() + offset), size - offset, &again) ||
        again.id != h.id || again.payload_size != h.payload_size) {
      std::abort();
    }
    const char* expected = payload.data();
    const bool framed = split_payload(payload, [&](std::string_view request) {
      // Each request follows its 4-byte length, inside the payload.
      if (request.data() != expected + 4) std::abort();
      if (request.data() < payload.data() || request.data() + request.size() > payload.data() + payload.size()) {
        std::abort();
      }
      expected = request.data() + request.size();
    });
    if (framed && expected != payload.data() + payload.size()) std::abort();  // framed: all of it used
    last_end = offset + kRecordHeaderSize + h.payload_size;
    records.push_back({h.id, h.signal});
  });
  if (scan.good_end > size || scan.tail_bytes != size - scan.good_end) std::abort();
  if (scan.good_end < last_end) std::abort();
  if (scan.records != records.size()) std::abort();
  if (scan.corrupt_bytes > size) std::abort();
  if (scan.corrupt_records > 0 && scan.corrupt_bytes == 0) std::abort();

  // --- 2. the queue ---
  static const auto logger =
      std::make_shared<spdlog::logger>("fuzz_segment", std::make_shared<spdlog::sinks::null_sink_mt>());
  const std::string& dir = queue_directory();
  empty_directory(dir);
  const std::string segment = dir + "/0000000000000001.seg";
  if (!write_file(segment, data, size)) std::abort();

  QueueOptions options;
  options.directory = dir;
  options.fsync = false;
  options.lock_timeout = std::chrono::milliseconds(0);
  options.memory_bytes = 0;
  options.max_bytes = 1 << 20;
  options.logger = logger;
  RecoveryReport report;
  std::string error;
  auto queue = DurableQueue::open(options, &report, &error);
  if (!queue) std::abort();  // recovery never refuses a damaged file: it sets it aside

  // What recovery must have found: with no delivery mark, every distinct id but 0 is pending.
  std::map<std::uint64_t, std::uint8_t> pending;  // id -> signal, first occurrence
  if (header.status == SegmentHeader::Status::ok) {
    for (const Scanned& r : records) {
      if (r.id != 0) pending.emplace(r.id, r.signal);
    }
    if (report.unreadable_files != 0 || report.records != pending.size() ||
        report.delivered != records.size() - pending.size() || report.corrupt_records != scan.corrupt_records ||
        report.corrupt_bytes != scan.corrupt_bytes || report.torn_tail_bytes != scan.tail_bytes) {
      std::abort();
    }
  } else {
    const bool removed = header.status == SegmentHeader::Status::not_a_segment && size < kSegmentHeaderSize;
    if (report.records != 0 || report.unreadable_files != (removed ? 0u : 1u)) std::abort();
    if (!removed && !fs::exists(segment + ".unreadable")) std::abort();
  }
  if (queue->records() != pending.size()) std::abort();

  // Take everything (each read back from the file), each once, and mark it done.
  std::set<std::uint64_t> taken;
  while (auto item = queue->take(std::chrono::milliseconds(0))) {
    const auto it = pending.find(item->id);
    if (it == pending.end() || !taken.insert(item->id).second) std::abort();  // unknown, or twice
    if (static_cast<std::uint8_t>(item->batch.signal) != it->second) std::abort();
    queue->done(item->id);
  }
  // What was not taken was skipped at read back (not valid OTLP), and counted.
  const std::uint64_t skipped = queue->stats().corrupt_records.load() - report.corrupt_records;
  if (taken.size() + skipped != pending.size()) std::abort();
  if (queue->records() != 0 || queue->items() != 0 || queue->bytes() != 0 || queue->disk_bytes() != 0) std::abort();

  // The queue goes on: a batch appended now comes back.
  Batch batch;
  batch.signal = Signal::metrics;
  if (!queue->append(batch).ok()) std::abort();
  auto item = queue->take(std::chrono::milliseconds(0));
  if (!item || item->batch.signal != Signal::metrics || !item->batch.requests.empty()) std::abort();
  queue->done(item->id);
  queue.reset();

  // Everything was done: no segment file is left.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".seg") std::abort();
  }
  return 0;
}

// Mutates, then (three times in four) makes the checksums of the segment header and of the
// records it can follow hold again, so that mutations reach the code behind the checksums.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 4 == 0 || size < kSegmentHeaderSize) return size;
  if (std::memcmp(data, "otlpdseg", 8) == 0) store<std::uint32_t>(data + 28, crc32(data, 28));
  std::size_t pos = kSegmentHeaderSize;
  while (pos + kRecordHeaderSize <= size) {
    if (load<std::uint32_t>(data + pos) != kRecordMagic) {
      const void* next = std::memchr(data + pos + 1, 'O', size - pos - 1);
      if (next == nullptr) break;
      pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(next) - data);
      continue;
    }
    const std::uint32_t payload = load<std::uint32_t>(data + pos + 4);
    const bool whole = payload <= size - pos - kRecordHeaderSize;
    if (whole) store<std::uint32_t>(data + pos + 24, crc32(data + pos + kRecordHeaderSize, payload));
    store<std::uint32_t>(data + pos + 28, crc32(data + pos, 28));
    if (!whole) break;
    pos += kRecordHeaderSize + payload;
  }
  return size;
}
