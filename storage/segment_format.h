#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace otlpd::storage {

// The on-disk format of a persistent sending queue: segment files that records are appended
// to, and nothing else (no index, no B-tree: a sending queue is written at its tail and read at
// its head, so an append-only log is the whole data structure, as in Fluent Bit and Vector).
//
// Segment file ("<sequence as 16 hex digits>.seg"), integers little-endian:
//   header, 32 bytes: magic "otlpdseg" (8) | format version u32 | header size u32 |
//                     sequence u64 | reserved u32 | CRC-32 of the 28 bytes before it u32
//   then records, back to back.
// Record:
//   header, 32 bytes: magic u32 (kRecordMagic) | payload length u32 | record id u64 |
//                     signal u8 | flags u8 (0) | reserved u16 | item count u32 |
//                     CRC-32 of the payload u32 | CRC-32 of the 28 header bytes before it u32
//   payload: per request, its length u32 and its protobuf bytes.
// The header's own checksum makes its length trustworthy: a record whose payload is damaged is
// skipped by its length alone, and damage to a header is skipped by searching for the next
// header whose checksum holds (so one bit flip costs one record, not the rest of the file).

inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderSize = 32;
inline constexpr std::size_t kRecordHeaderSize = 32;
inline constexpr std::uint32_t kRecordMagic = 0x5251544fu;  // "OTQR" in the file
// A record is a batch, bounded by the sending queue's max_size_mib (at most a few GiB).
inline constexpr std::uint64_t kMaxPayload = std::uint64_t{1} << 32;

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t seed = 0);

std::string encode_segment_header(std::uint64_t sequence);

struct SegmentHeader {
  enum class Status { ok, not_a_segment, newer_version, corrupt };
  Status status = Status::corrupt;
  std::uint32_t version = 0;
  std::uint64_t sequence = 0;
  std::string problem;  // why it is not ok
};
SegmentHeader decode_segment_header(std::string_view bytes);

struct RecordHeader {
  std::uint32_t payload_size = 0;
  std::uint64_t id = 0;
  std::uint8_t signal = 0;
  std::uint32_t items = 0;
  std::uint32_t payload_crc = 0;
};
// The 32 header bytes of a record (its payload's checksum must be set).
void encode_record_header(const RecordHeader& header, std::uint8_t* out);
// The header at `bytes` if its magic and checksum hold (and its signal is known).
bool decode_record_header(const std::uint8_t* bytes, std::size_t size, RecordHeader* header);

// What a scan of a segment's records found. Offsets are from the start of the file.
struct ScanResult {
  std::uint64_t records = 0;          // whole, intact records
  std::uint64_t corrupt_records = 0;  // payloads whose checksum failed, and damaged stretches between records
  std::uint64_t corrupt_bytes = 0;    // bytes skipped for them
  std::uint64_t good_end = 0;         // end of the last intact record (or of the header)
  std::uint64_t tail_bytes = 0;       // bytes after good_end that hold no intact record: a torn tail
};

// Calls on_record(header, offset of the record) for every intact record of a segment's bytes
// (the whole file, header included), in order. Never reads outside `bytes`.
ScanResult scan_records(std::string_view file,
                        const std::function<void(const RecordHeader&, std::uint64_t offset)>& on_record);

// Splits an intact record's payload into its requests; false if its framing is wrong.
bool split_payload(std::string_view payload, const std::function<void(std::string_view request)>& on_request);

}  // namespace otlpd::storage
