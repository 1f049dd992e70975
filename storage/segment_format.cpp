#include "storage/segment_format.h"

#include <libdeflate.h>

#include <bit>
#include <cstring>

namespace otlpd::storage {

static_assert(std::endian::native == std::endian::little, "the on-disk format is written in host order");

namespace {

constexpr char kSegmentMagic[8] = {'o', 't', 'l', 'p', 'd', 's', 'e', 'g'};

template <typename T>
T load(const std::uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}
template <typename T>
void store(std::uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof value);
}

const std::uint8_t* bytes_of(std::string_view s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

}  // namespace

// CRC-32 (IEEE, as zlib's), with libdeflate's carry-less multiplication: several times faster
// than zlib's on the append path (measured: zlib's crc32 was 8 % of otlpd's CPU at saturation).
std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t seed) {
  return libdeflate_crc32(seed, data, size);
}

std::string encode_segment_header(std::uint64_t sequence) {
  std::uint8_t h[kSegmentHeaderSize] = {};
  std::memcpy(h, kSegmentMagic, sizeof kSegmentMagic);
  store<std::uint32_t>(h + 8, kFormatVersion);
  store<std::uint32_t>(h + 12, static_cast<std::uint32_t>(kSegmentHeaderSize));
  store<std::uint64_t>(h + 16, sequence);
  store<std::uint32_t>(h + 28, crc32(h, 28));
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

SegmentHeader decode_segment_header(std::string_view bytes) {
  SegmentHeader out;
  if (bytes.size() < kSegmentHeaderSize || std::memcmp(bytes.data(), kSegmentMagic, sizeof kSegmentMagic) != 0) {
    out.status = SegmentHeader::Status::not_a_segment;
    out.problem = bytes.size() < kSegmentHeaderSize ? "shorter than a segment header" : "no segment magic";
    return out;
  }
  const std::uint8_t* h = bytes_of(bytes);
  if (load<std::uint32_t>(h + 28) != crc32(h, 28)) {
    out.status = SegmentHeader::Status::corrupt;
    out.problem = "segment header checksum mismatch";
    return out;
  }
  out.version = load<std::uint32_t>(h + 8);
  out.sequence = load<std::uint64_t>(h + 16);
  if (out.version > kFormatVersion) {
    out.status = SegmentHeader::Status::newer_version;
    out.problem = "written in format version " + std::to_string(out.version) + ", newer than this otlpd's " +
                  std::to_string(kFormatVersion);
    return out;
  }
  if (out.version == 0 || load<std::uint32_t>(h + 12) != kSegmentHeaderSize) {
    out.status = SegmentHeader::Status::corrupt;
    out.problem = "segment header has an impossible version or size";
    return out;
  }
  out.status = SegmentHeader::Status::ok;
  return out;
}

void encode_record_header(const RecordHeader& header, std::uint8_t* out) {
  std::memset(out, 0, kRecordHeaderSize);
  store<std::uint32_t>(out, kRecordMagic);
  store<std::uint32_t>(out + 4, header.payload_size);
  store<std::uint64_t>(out + 8, header.id);
  out[16] = header.signal;
  store<std::uint32_t>(out + 20, header.items);
  store<std::uint32_t>(out + 24, header.payload_crc);
  store<std::uint32_t>(out + 28, crc32(out, 28));
}

bool decode_record_header(const std::uint8_t* bytes, std::size_t size, RecordHeader* header) {
  if (size < kRecordHeaderSize || load<std::uint32_t>(bytes) != kRecordMagic) return false;
  if (load<std::uint32_t>(bytes + 28) != crc32(bytes, 28)) return false;
  header->payload_size = load<std::uint32_t>(bytes + 4);
  header->id = load<std::uint64_t>(bytes + 8);
  header->signal = bytes[16];
  header->items = load<std::uint32_t>(bytes + 20);
  header->payload_crc = load<std::uint32_t>(bytes + 24);
  // Ids start at 1 and never come near 2^62 (a forged one must not wrap the next id around).
  return header->signal < 3 && bytes[17] == 0 && header->id != 0 && header->id < (std::uint64_t{1} << 62);
}

ScanResult scan_records(std::string_view file,
                        const std::function<void(const RecordHeader&, std::uint64_t offset)>& on_record) {
  ScanResult result;
  const std::uint8_t* data = bytes_of(file);
  const std::size_t size = file.size();
  std::size_t pos = std::min(kSegmentHeaderSize, size);
  result.good_end = pos;
  // Where a damaged stretch began (it ends at the next intact record), or npos.
  std::size_t damaged_from = std::string_view::npos;
  auto end_damage = [&](std::size_t at) {
    if (damaged_from == std::string_view::npos) return;
    ++result.corrupt_records;
    result.corrupt_bytes += at - damaged_from;
    damaged_from = std::string_view::npos;
  };
  while (pos < size) {
    RecordHeader header;
    if (decode_record_header(data + pos, size - pos, &header)) {
      const std::size_t end = pos + kRecordHeaderSize + header.payload_size;
      if (end > size) {
        if (damaged_from != std::string_view::npos) {
          // While searching past damage: a header-like run of bytes inside a payload. Go on.
          const void* next = std::memchr(data + pos + 1, 'O', size - pos - 1);
          if (next == nullptr) break;
          pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(next) - data);
          continue;
        }
        // A header whose payload the file does not hold: the torn write of a crash (or a
        // truncated file). Nothing after it can be a record of its own.
        break;
      }
      end_damage(pos);
      if (crc32(data + pos + kRecordHeaderSize, header.payload_size) == header.payload_crc) {
        on_record(header, pos);
        ++result.records;
      } else {
        ++result.corrupt_records;
        result.corrupt_bytes += end - pos;
      }
      pos = end;
      result.good_end = end;
      continue;
    }
    // Not a record header: damage. Search on for the next header that holds.
    if (damaged_from == std::string_view::npos) damaged_from = pos;
    const void* next = size - pos > 1 ? std::memchr(data + pos + 1, 'O', size - pos - 1) : nullptr;
    if (next == nullptr) break;
    pos = static_cast<std::size_t>(static_cast<const std::uint8_t*>(next) - data);
  }
  // Whatever follows the last intact record without holding one is a torn tail.
  result.tail_bytes = size - result.good_end;
  return result;
}

bool split_payload(std::string_view payload, const std::function<void(std::string_view request)>& on_request) {
  const std::uint8_t* p = bytes_of(payload);
  std::size_t pos = 0;
  while (pos < payload.size()) {
    if (payload.size() - pos < 4) return false;
    const std::uint32_t length = load<std::uint32_t>(p + pos);
    pos += 4;
    if (length > payload.size() - pos) return false;
    on_request(payload.substr(pos, length));
    pos += length;
  }
  return true;
}

}  // namespace otlpd::storage
