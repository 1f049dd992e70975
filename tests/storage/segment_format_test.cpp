// The persistent queue's on-disk format (storage/segment_format.h) on hand-made buffers:
// segment and record headers, the record scan that recovery relies on (intact, damaged, torn),
// and the framing of a record's payload.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "storage/segment_format.h"

namespace otlpd::storage {
namespace {

void put32(std::string& s, std::size_t at, std::uint32_t v) { std::memcpy(s.data() + at, &v, 4); }
void put64(std::string& s, std::size_t at, std::uint64_t v) { std::memcpy(s.data() + at, &v, 8); }
std::uint32_t get32(const std::string& s, std::size_t at) {
  std::uint32_t v;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
// Recomputes a 32-byte header's own checksum (its last 4 bytes), as a writer of that header would.
void reseal(std::string& s, std::size_t header_at) {
  put32(s, header_at + 28, crc32(s.data() + header_at, 28));
}

// A framed payload: per request, its length (u32) and its bytes.
std::string frame(const std::vector<std::string>& requests) {
  std::string out;
  for (const auto& r : requests) {
    const auto n = static_cast<std::uint32_t>(r.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out += r;
  }
  return out;
}

// A whole record: header and payload.
std::string record(std::uint64_t id, std::uint8_t signal, std::uint32_t items, const std::string& payload) {
  RecordHeader h;
  h.payload_size = static_cast<std::uint32_t>(payload.size());
  h.id = id;
  h.signal = signal;
  h.items = items;
  h.payload_crc = crc32(payload.data(), payload.size());
  std::string out(kRecordHeaderSize, '\0');
  encode_record_header(h, reinterpret_cast<std::uint8_t*>(out.data()));
  return out + payload;
}

struct Seen {
  RecordHeader header;
  std::uint64_t offset;
};

ScanResult scan(const std::string& file, std::vector<Seen>* seen = nullptr) {
  return scan_records(file, [&](const RecordHeader& h, std::uint64_t offset) {
    // The scan promises that what it reports lies inside the buffer.
    EXPECT_LE(offset + kRecordHeaderSize + h.payload_size, file.size());
    if (seen) seen->push_back({h, offset});
  });
}

// A segment of three records (payloads of different sizes and signals), with the offset of each.
struct Sample {
  std::string file;
  std::vector<std::size_t> offsets;  // of each record
  std::vector<std::size_t> sizes;    // of each record, header included
};
Sample three_records() {
  Sample s;
  s.file = encode_segment_header(7);
  const std::string payloads[3] = {frame({"first request", std::string(100, 'x')}), frame({std::string(300, 'y')}),
                                   frame({"third", "", "request"})};
  for (int i = 0; i < 3; ++i) {
    const std::string r = record(10 + i, static_cast<std::uint8_t>(i), 5 + i, payloads[i]);
    s.offsets.push_back(s.file.size());
    s.sizes.push_back(r.size());
    s.file += r;
  }
  return s;
}

TEST(SegmentFormat, Crc32IsTheStandardOne) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
  // Chained: the seed continues a checksum.
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);
}

TEST(SegmentFormat, SegmentHeaderRoundTrips) {
  for (const std::uint64_t sequence : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0x0123456789abcdef},
                                       ~std::uint64_t{0}}) {
    const std::string h = encode_segment_header(sequence);
    ASSERT_EQ(h.size(), kSegmentHeaderSize);
    EXPECT_EQ(h.substr(0, 8), "otlpdseg");
    EXPECT_EQ(get32(h, 8), kFormatVersion);
    EXPECT_EQ(get32(h, 12), kSegmentHeaderSize);
    EXPECT_EQ(get32(h, 28), crc32(h.data(), 28));
    const SegmentHeader d = decode_segment_header(h);
    EXPECT_EQ(d.status, SegmentHeader::Status::ok) << d.problem;
    EXPECT_EQ(d.version, kFormatVersion);
    EXPECT_EQ(d.sequence, sequence);
    EXPECT_TRUE(d.problem.empty());
    // Records that follow do not matter to the header.
    EXPECT_EQ(decode_segment_header(h + "more bytes").status, SegmentHeader::Status::ok);
  }
}

TEST(SegmentFormat, SegmentHeaderRefusals) {
  const std::string good = encode_segment_header(3);
  EXPECT_EQ(decode_segment_header("").status, SegmentHeader::Status::not_a_segment);
  EXPECT_EQ(decode_segment_header(good.substr(0, 31)).status, SegmentHeader::Status::not_a_segment);
  EXPECT_FALSE(decode_segment_header(good.substr(0, 31)).problem.empty());

  std::string magic = good;
  magic[0] = 'O';
  reseal(magic, 0);
  EXPECT_EQ(decode_segment_header(magic).status, SegmentHeader::Status::not_a_segment);

  // Any one bit flipped after the magic: the checksum catches it.
  for (std::size_t bit = 8 * 8; bit < kSegmentHeaderSize * 8; ++bit) {
    std::string h = good;
    h[bit / 8] = static_cast<char>(h[bit / 8] ^ (1 << (bit % 8)));
    const SegmentHeader d = decode_segment_header(h);
    EXPECT_EQ(d.status, SegmentHeader::Status::corrupt) << "bit " << bit;
    EXPECT_FALSE(d.problem.empty());
  }

  std::string newer = good;
  put32(newer, 8, kFormatVersion + 1);
  reseal(newer, 0);
  SegmentHeader d = decode_segment_header(newer);
  EXPECT_EQ(d.status, SegmentHeader::Status::newer_version);
  EXPECT_EQ(d.version, kFormatVersion + 1);
  EXPECT_NE(d.problem.find(std::to_string(kFormatVersion + 1)), std::string::npos) << d.problem;

  std::string zero = good;
  put32(zero, 8, 0);
  reseal(zero, 0);
  EXPECT_EQ(decode_segment_header(zero).status, SegmentHeader::Status::corrupt);

  std::string size = good;
  put32(size, 12, kSegmentHeaderSize + 8);
  reseal(size, 0);
  EXPECT_EQ(decode_segment_header(size).status, SegmentHeader::Status::corrupt);
}

TEST(SegmentFormat, RecordHeaderRoundTripsAndEveryBitFlipIsCaught) {
  RecordHeader h;
  h.payload_size = 123456;
  h.id = 0x1122334455667788;
  h.signal = 2;
  h.items = 99;
  h.payload_crc = 0xdeadbeef;
  std::uint8_t bytes[kRecordHeaderSize];
  encode_record_header(h, bytes);
  EXPECT_EQ(std::memcmp(bytes, "OTQR", 4), 0);  // the magic as it appears in a file
  RecordHeader d;
  ASSERT_TRUE(decode_record_header(bytes, sizeof bytes, &d));
  EXPECT_EQ(d.payload_size, h.payload_size);
  EXPECT_EQ(d.id, h.id);
  EXPECT_EQ(d.signal, h.signal);
  EXPECT_EQ(d.items, h.items);
  EXPECT_EQ(d.payload_crc, h.payload_crc);
  EXPECT_FALSE(decode_record_header(bytes, kRecordHeaderSize - 1, &d));  // shorter than a header

  for (std::size_t bit = 0; bit < kRecordHeaderSize * 8; ++bit) {
    std::uint8_t flipped[kRecordHeaderSize];
    std::memcpy(flipped, bytes, sizeof flipped);
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1 << (bit % 8));
    RecordHeader ignored;
    EXPECT_FALSE(decode_record_header(flipped, sizeof flipped, &ignored)) << "bit " << bit;
  }

  // An unknown signal or flags, even with a checksum that holds.
  std::string s(reinterpret_cast<const char*>(bytes), sizeof bytes);
  s[16] = 3;
  reseal(s, 0);
  EXPECT_FALSE(decode_record_header(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), &d));
  s[16] = 0;
  s[17] = 1;
  reseal(s, 0);
  EXPECT_FALSE(decode_record_header(reinterpret_cast<const std::uint8_t*>(s.data()), s.size(), &d));
}

TEST(SegmentFormat, ScanOfCleanSegment) {
  const Sample s = three_records();
  std::vector<Seen> seen;
  const ScanResult r = scan(s.file, &seen);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.corrupt_bytes, 0u);
  EXPECT_EQ(r.good_end, s.file.size());
  EXPECT_EQ(r.tail_bytes, 0u);
  ASSERT_EQ(seen.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[i].offset, s.offsets[i]);
    EXPECT_EQ(seen[i].header.id, 10 + i);
    EXPECT_EQ(seen[i].header.signal, i);
    EXPECT_EQ(seen[i].header.items, 5 + i);
    EXPECT_EQ(seen[i].header.payload_size, s.sizes[i] - kRecordHeaderSize);
  }
}

TEST(SegmentFormat, ScanOfEmptyAndHeaderOnly) {
  ScanResult r = scan("");
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.good_end, 0u);
  EXPECT_EQ(r.tail_bytes, 0u);

  r = scan(encode_segment_header(1));
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.good_end, kSegmentHeaderSize);
  EXPECT_EQ(r.tail_bytes, 0u);

  // Shorter than a segment header: nothing to scan, nothing torn.
  r = scan(encode_segment_header(1).substr(0, 10));
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.good_end, 10u);
  EXPECT_EQ(r.tail_bytes, 0u);
}

TEST(SegmentFormat, ScanSkipsOneRecordWithDamagedPayload) {
  Sample s = three_records();
  s.file[s.offsets[1] + kRecordHeaderSize + 17] ^= 0x10;
  std::vector<Seen> seen;
  const ScanResult r = scan(s.file, &seen);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.corrupt_records, 1u);
  EXPECT_EQ(r.corrupt_bytes, s.sizes[1]);
  EXPECT_EQ(r.good_end, s.file.size());
  EXPECT_EQ(r.tail_bytes, 0u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header.id, 10u);
  EXPECT_EQ(seen[1].header.id, 12u);
  EXPECT_EQ(seen[1].offset, s.offsets[2]);
}

TEST(SegmentFormat, ScanResyncsAfterDamagedRecordHeader) {
  // Each field of the middle record's header in turn: magic, length, id, signal, items, CRCs.
  for (const std::size_t byte : {0u, 1u, 5u, 9u, 16u, 21u, 25u, 30u}) {
    Sample s = three_records();
    s.file[s.offsets[1] + byte] ^= 0x01;
    std::vector<Seen> seen;
    const ScanResult r = scan(s.file, &seen);
    EXPECT_EQ(r.records, 2u) << "byte " << byte;
    EXPECT_EQ(r.corrupt_records, 1u) << "byte " << byte;
    EXPECT_EQ(r.corrupt_bytes, s.sizes[1]) << "byte " << byte;
    EXPECT_EQ(r.good_end, s.file.size());
    EXPECT_EQ(r.tail_bytes, 0u);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].header.id, 12u);
    EXPECT_EQ(seen[1].offset, s.offsets[2]);
  }
  // The first record's header: the stretch runs from the segment header to the second record.
  Sample s = three_records();
  s.file[s.offsets[0] + 3] ^= 0x40;
  const ScanResult r = scan(s.file);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.corrupt_records, 1u);
  EXPECT_EQ(r.corrupt_bytes, s.sizes[0]);
}

TEST(SegmentFormat, ScanOfDamagedLastHeaderIsATornTail) {
  // Nothing intact follows the damage: it is indistinguishable from a torn write.
  Sample s = three_records();
  s.file[s.offsets[2] + 6] ^= 0x80;
  const ScanResult r = scan(s.file);
  EXPECT_EQ(r.records, 2u);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.good_end, s.offsets[2]);
  EXPECT_EQ(r.tail_bytes, s.sizes[2]);
}

TEST(SegmentFormat, ScanOfTornTail) {
  const Sample s = three_records();
  // Cut inside the last payload, inside the last header, and just after that header.
  for (const std::size_t keep : {s.sizes[2] - 1, s.sizes[2] / 2, std::size_t{kRecordHeaderSize},
                                 std::size_t{kRecordHeaderSize - 1}, std::size_t{5}, std::size_t{1}}) {
    const std::string torn = s.file.substr(0, s.offsets[2] + keep);
    std::vector<Seen> seen;
    const ScanResult r = scan(torn, &seen);
    EXPECT_EQ(r.records, 2u) << "keep " << keep;
    EXPECT_EQ(r.corrupt_records, 0u) << "keep " << keep;
    EXPECT_EQ(r.good_end, s.offsets[2]) << "keep " << keep;
    EXPECT_EQ(r.tail_bytes, keep) << "keep " << keep;
    EXPECT_EQ(seen.size(), 2u);
  }
}

TEST(SegmentFormat, ScanOfGarbage) {
  std::mt19937 rng(42);
  std::string garbage(4000, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng());
  // After a segment header.
  ScanResult r = scan(encode_segment_header(1) + garbage);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.good_end, kSegmentHeaderSize);
  EXPECT_EQ(r.tail_bytes, garbage.size());
  // Nothing but garbage (the scan does not judge the segment header: it starts after it).
  r = scan(garbage);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.good_end, kSegmentHeaderSize);
  EXPECT_EQ(r.tail_bytes, garbage.size() - kSegmentHeaderSize);
  // Many near-misses of the record magic.
  std::string near;
  for (int i = 0; i < 2000; ++i) near += (i % 3 == 0) ? "OTQR" : "O";
  r = scan(encode_segment_header(1) + near);
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.tail_bytes, near.size());
  // Garbage after intact records: a torn tail, the records kept.
  const Sample s = three_records();
  r = scan(s.file + garbage);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.corrupt_records, 0u);
  EXPECT_EQ(r.good_end, s.file.size());
  EXPECT_EQ(r.tail_bytes, garbage.size());
}

TEST(SegmentFormat, ScanIsNotFooledByARecordInsideAPayload) {
  // A payload may hold anything, including the bytes of a whole record: with intact headers the
  // scan steps over payloads by their length.
  const std::string inner = record(99, 0, 1, frame({"inner"}));
  const std::string file = encode_segment_header(1) + record(1, 0, 1, frame({inner})) + record(2, 1, 1, frame({"b"}));
  std::vector<Seen> seen;
  const ScanResult r = scan(file, &seen);
  EXPECT_EQ(r.records, 2u);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header.id, 1u);
  EXPECT_EQ(seen[1].header.id, 2u);
}

TEST(SegmentFormat, ScanOfDamageThenTornRecord) {
  Sample s = three_records();
  s.file[s.offsets[1] + 2] ^= 0x04;                            // the middle header is damaged
  const std::string torn = s.file.substr(0, s.file.size() - 3);  // and the last record torn
  const ScanResult r = scan(torn);
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.good_end, s.offsets[1]);
  EXPECT_EQ(r.tail_bytes, torn.size() - s.offsets[1]);
}

TEST(SegmentFormat, ScanOfEmptyPayloads) {
  const std::string file = encode_segment_header(1) + record(1, 0, 0, "") + record(2, 2, 0, "") + record(3, 1, 0, "");
  const ScanResult r = scan(file);
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.good_end, file.size());
  EXPECT_EQ(r.tail_bytes, 0u);
}

TEST(SegmentFormat, ScanInvariantsUnderRandomDamage) {
  const Sample s = three_records();
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string f = s.file;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !f.empty(); ++e) {
      const std::size_t at = rng() % f.size();
      switch (rng() % 3) {
        case 0: f[at] = static_cast<char>(f[at] ^ (1 << (rng() % 8))); break;
        case 1: f.resize(at); break;
        case 2: f.insert(at, 1 + rng() % 40, static_cast<char>(rng())); break;
      }
    }
    std::uint64_t last_end = std::min<std::uint64_t>(kSegmentHeaderSize, f.size());
    const ScanResult r = scan_records(f, [&](const RecordHeader& h, std::uint64_t offset) {
      EXPECT_GE(offset, last_end);  // in order, not overlapping
      last_end = offset + kRecordHeaderSize + h.payload_size;
      EXPECT_LE(last_end, f.size());
    });
    ASSERT_LE(r.good_end, f.size());
    ASSERT_EQ(r.tail_bytes, f.size() - r.good_end);
    ASSERT_EQ(r.good_end >= last_end, true);
    ASSERT_LE(r.corrupt_bytes, f.size());
  }
}

TEST(SegmentFormat, SplitPayload) {
  std::vector<std::string> got;
  auto collect = [&](std::string_view r) { got.emplace_back(r); };

  EXPECT_TRUE(split_payload(frame({"a", "", std::string(1000, 'z')}), collect));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], "a");
  EXPECT_EQ(got[1], "");
  EXPECT_EQ(got[2], std::string(1000, 'z'));

  got.clear();
  EXPECT_TRUE(split_payload("", collect));  // a batch without requests
  EXPECT_TRUE(got.empty());

  const std::string good = frame({"hello", "world"});
  EXPECT_FALSE(split_payload(good.substr(0, 3), collect));                // less than a length
  EXPECT_FALSE(split_payload(good.substr(0, good.size() - 1), collect));  // the last request cut short
  EXPECT_FALSE(split_payload(good + std::string("\x01\x00", 2), collect));  // a trailing half length
  std::string overlong = good;
  put32(overlong, 0, 6);  // says 6, holds 5 and then the next length
  got.clear();
  // 6 bytes fit, then the rest is not framed.
  EXPECT_FALSE(split_payload(overlong, collect));
  std::string huge = good;
  put32(huge, 0, 0xffffffffu);  // a length that would wrap a 32-bit position
  EXPECT_FALSE(split_payload(huge, collect));
  std::string beyond(8, '\0');
  put32(beyond, 0, 5);
  EXPECT_FALSE(split_payload(beyond, collect));
  put64(beyond, 0, 4);  // length 4, then exactly 4 bytes
  got.clear();
  EXPECT_TRUE(split_payload(beyond, collect));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].size(), 4u);
}

}  // namespace
}  // namespace otlpd::storage
