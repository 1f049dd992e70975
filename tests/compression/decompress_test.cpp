#include "compression/decompress.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

namespace otlpd {
namespace {

using Code = Decompressed::Code;

std::string sample() {
  std::string s;
  for (int i = 0; i < 20000; ++i) s += "span " + std::to_string(i * 7919 % 1000) + ";";
  return s;
}

// zlib's compress2 (RFC 1950), or gzip / raw deflate with deflateInit2's window bits.
std::string deflate_with(const std::string& in, int window_bits) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd_of(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3));
  return out;
}

std::string lz4_of(const std::string& in) {
  std::string out(LZ4F_compressFrameBound(in.size(), nullptr), '\0');
  out.resize(LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr));
  return out;
}

std::string snappy_of(const std::string& in) {
  std::string out;
  snappy::Compress(in.data(), in.size(), &out);
  return out;
}

// Snappy's framing format as python-cramjam 2.14 writes it (cramjam.snappy.compress): the
// stream identifier, then one chunk with its masked CRC-32C. "hello " * 20 is a compressed
// chunk (type 0x00), "hello hello hello\n" an uncompressed one (type 0x01).
const std::string kFramedHellos{
    "\xff\x06\x00\x00\x73\x4e\x61\x50\x70\x59\x00\x12\x00\x00\x35\xcc\x98\x16\x78\x14\x68\x65\x6c\x6c"
    "\x6f\x20\xfe\x06\x00\xc6\x06\x00", 32};
const std::string kFramedHello{"\xff\x06\x00\x00sNaPpY\x01\x16\x00\x00\xeb\x91\xa2\x0chello hello hello\n", 36};

std::string hellos() {
  std::string s;
  for (int i = 0; i < 20; ++i) s += "hello ";
  return s;
}

struct Case {
  Encoding encoding;
  std::string compressed;
};

std::vector<Case> every_encoding(const std::string& in) {
  return {{Encoding::identity, in},
          {Encoding::gzip, deflate_with(in, 16 + 15)},
          {Encoding::zlib, deflate_with(in, 15)},
          {Encoding::zlib, deflate_with(in, -15)},  // raw deflate, as some HTTP clients send "deflate"
          {Encoding::zstd, zstd_of(in)},
          {Encoding::lz4, lz4_of(in)},
          {Encoding::snappy, snappy_of(in)}};
}

TEST(Decompress, RoundTripsEveryEncoding) {
  const std::string in = sample();
  for (const Case& c : every_encoding(in)) {
    std::string out = "stale";
    const Decompressed d = decompress(c.encoding, c.compressed, in.size(), &out);
    EXPECT_EQ(d.code, Code::ok) << encoding_name(c.encoding) << ": " << d.error;
    EXPECT_EQ(out, in) << encoding_name(c.encoding);
  }
}

// As gRPC hands a message over: in pieces of any size (here 1, 3 and 7 bytes, repeating),
// each released once read.
TEST(Decompress, ReadsInputInPiecesAndReleasesThem) {
  const std::string in = sample();
  std::vector<Case> cases = every_encoding(in);
  cases.push_back({Encoding::snappy_framed, kFramedHellos + kFramedHello});
  for (const Case& c : cases) {
    std::vector<std::string_view> pieces;
    const std::size_t sizes[] = {1, 3, 7, 0};
    for (std::size_t at = 0, i = 0; at < c.compressed.size(); ++i) {
      const std::size_t n = std::min(sizes[i % 4], c.compressed.size() - at);
      pieces.push_back(std::string_view(c.compressed).substr(at, n));
      at += n;
    }
    std::vector<bool> released(pieces.size(), false);
    std::string out;
    const Decompressed d = decompress(c.encoding, pieces, 1 << 20, &out, [&](std::size_t i) { released[i] = true; });
    ASSERT_EQ(d.code, Code::ok) << encoding_name(c.encoding) << ": " << d.error;
    EXPECT_EQ(out, c.encoding == Encoding::snappy_framed ? hellos() + "hello hello hello\n" : in);
    EXPECT_EQ(released, std::vector<bool>(pieces.size(), true)) << encoding_name(c.encoding);
  }
}

TEST(Decompress, ReadsSnappysFramingFormat) {
  for (Encoding e : {Encoding::snappy, Encoding::snappy_framed}) {
    std::string out;
    ASSERT_EQ(decompress(e, kFramedHello, 100, &out).code, Code::ok);
    EXPECT_EQ(out, "hello hello hello\n");
    ASSERT_EQ(decompress(e, kFramedHellos, 200, &out).code, Code::ok);
    EXPECT_EQ(out, hellos());
    // Two streams one after the other are one.
    ASSERT_EQ(decompress(e, kFramedHellos + kFramedHello, 200, &out).code, Code::ok);
    EXPECT_EQ(out, hellos() + "hello hello hello\n");
  }
  std::string out;
  EXPECT_EQ(decompress(Encoding::snappy_framed, kFramedHellos, 119, &out).code, Code::too_large);
  std::string corrupt = kFramedHello;
  corrupt[14] ^= 1;  // the chunk's CRC
  const Decompressed d = decompress(Encoding::snappy_framed, corrupt, 100, &out);
  EXPECT_EQ(d.code, Code::invalid);
  EXPECT_EQ(d.error, "snappy chunk checksum mismatch");
  // x-snappy-framed is the framed stream only: a raw block is not one.
  EXPECT_EQ(decompress(Encoding::snappy_framed, snappy_of("hello"), 100, &out).code, Code::invalid);
}

TEST(Decompress, StopsAtTheLimitAndNeverHoldsMore) {
  const std::string in = sample();
  for (const Case& c : every_encoding(in)) {
    std::string out;
    EXPECT_EQ(decompress(c.encoding, c.compressed, in.size() - 1, &out).code, Code::too_large)
        << encoding_name(c.encoding);
    EXPECT_LE(out.capacity(), in.size() - 1) << encoding_name(c.encoding);
  }
}

TEST(Decompress, ABombCostsNoMoreThanTheLimit) {
  const std::string zeros(64 << 20, '\0');  // 64 MiB of zeros: about 64 KiB of gzip
  const std::string bombs[] = {deflate_with(zeros, 16 + 15), zstd_of(zeros), lz4_of(zeros)};
  const Encoding encodings[] = {Encoding::gzip, Encoding::zstd, Encoding::lz4};
  for (int i = 0; i < 3; ++i) {
    ASSERT_LT(bombs[i].size(), 2u << 20);
    std::string out;
    EXPECT_EQ(decompress(encodings[i], bombs[i], 4 << 20, &out).code, Code::too_large);
    EXPECT_LE(out.capacity(), 4u << 20);
  }
  // A snappy block declares its length up front: refused before anything is allocated.
  std::string out;
  EXPECT_EQ(decompress(Encoding::snappy, snappy_of(std::string(8 << 20, 'a')), 4 << 20, &out).code, Code::too_large);
  EXPECT_EQ(out.capacity(), std::string().capacity());
}

TEST(Decompress, TruncatedOrTrailingDataIsInvalid) {
  const std::string in = sample();
  for (const Case& c : every_encoding(in)) {
    if (c.encoding == Encoding::identity) continue;
    std::string out;
    const std::string cut = c.compressed.substr(0, c.compressed.size() - 3);
    EXPECT_EQ(decompress(c.encoding, cut, 1 << 20, &out).code, Code::invalid) << encoding_name(c.encoding);
  }
  std::string out;
  EXPECT_EQ(decompress(Encoding::zlib, deflate_with(in, 15) + "junk", 1 << 20, &out).code, Code::invalid);
  EXPECT_EQ(decompress(Encoding::gzip, "not gzip at all", 1 << 20, &out).code, Code::invalid);
  EXPECT_EQ(decompress(Encoding::zstd, "not zstd at all", 1 << 20, &out).code, Code::invalid);
}

// Found by fuzz/fuzz_decompress.cpp: libzstd 1.5.4's streaming decoder takes a frame that
// declares more than it holds (its last block an empty raw block), and decodes legacy
// (pre-1.0) frames only when their magic number arrives in one call.
TEST(Decompress, ZstdFramesHoldWhatTheyDeclareAndAreNotLegacy) {
  const std::string declares_70000_holds_3{"\x28\xb5\x2f\xfd\xa0\x70\x11\x01\x00\x18\x00\x00" "abc" "\x01\x00\x00", 18};
  std::string out;
  EXPECT_EQ(decompress(Encoding::zstd, declares_70000_holds_3, 1 << 20, &out).code, Code::invalid);
  std::vector<std::string_view> bytes;  // one piece per byte
  for (std::size_t i = 0; i < declares_70000_holds_3.size(); ++i) bytes.push_back(std::string_view(declares_70000_holds_3).substr(i, 1));
  EXPECT_EQ(decompress(Encoding::zstd, bytes, 1 << 20, &out).code, Code::invalid);
  const Decompressed legacy = decompress(Encoding::zstd, std::string("\x27\xb5\x2f\xfd\0\0\0\0\0", 9), 100, &out);
  EXPECT_EQ(legacy.code, Code::invalid);
  EXPECT_EQ(legacy.error, "not a zstd frame");
  // A skippable frame, then a real one: fine.
  const std::string skippable{"\x50\x2a\x4d\x18\x02\x00\x00\x00hi", 10};
  ASSERT_EQ(decompress(Encoding::zstd, skippable + zstd_of("abc"), 100, &out).code, Code::ok);
  EXPECT_EQ(out, "abc");
}

// Found by a 10-minute run of scripts/fuzz.sh: libzstd 1.5.4 decodes a small frame that it is
// given whole in one pass, and that decoder reads some frames differently from its streaming
// one. Here, an RLE block of size 0 that lacks its byte: one pass called the frame corrupt,
// while the same frame cut anywhere was empty and fine. Every cut must read as the whole does.
TEST(Decompress, ZstdFrameReadsTheSameWholeAndCutAnywhere) {
  std::string odd("\x28\xb5\x2f\xfd\x20\x00", 6);  // single segment, declares 0 bytes
  for (int i = 0; i < 12; ++i) odd.append("\x00\x00\x00", 3);  // empty raw blocks
  odd.append("\x05\x00\x00", 3);                                // last: RLE of 0 bytes, no byte
  for (const std::string& frame : {odd, zstd_of("a small frame, decoded in one pass when whole")}) {
    std::string whole_out;
    const Decompressed whole = decompress(Encoding::zstd, frame, 1 << 20, &whole_out);
    for (std::size_t cut = 1; cut < frame.size(); ++cut) {
      const std::vector<std::string_view> two{std::string_view(frame).substr(0, cut), std::string_view(frame).substr(cut)};
      std::string out;
      const Decompressed d = decompress(Encoding::zstd, two, 1 << 20, &out);
      EXPECT_EQ(d.code, whole.code) << "cut at " << cut;
      EXPECT_EQ(out, whole_out) << "cut at " << cut;
    }
  }
  std::string out;
  ASSERT_EQ(decompress(Encoding::zstd, zstd_of("abc") + odd + zstd_of("def"), 100, &out).code, Code::ok);
  EXPECT_EQ(out, "abcdef");
}

// A zstd frame whose content ends exactly as the decoder's 64 KiB output buffer fills: it once
// read as "not a zstd frame" (a request of 3 MiB, found by tests/compression/compress_test).
TEST(Decompress, ZstdFrameEndingOnTheOutputBuffersEdge) {
  for (const std::size_t size : {std::size_t{64} << 10, std::size_t{3} << 20}) {
    const std::string data(size, 'x');
    std::string frame(ZSTD_compressBound(size), '\0');
    frame.resize(ZSTD_compress(frame.data(), frame.size(), data.data(), size, 3));
    std::string out;
    const Decompressed d = decompress(Encoding::zstd, frame, size, &out);
    ASSERT_EQ(d.code, Decompressed::Code::ok) << d.error << " (size " << size << ")";
    EXPECT_EQ(out, data);
  }
}

TEST(Decompress, ConcatenatedGzipMembersAreOneStream) {
  std::string out;
  ASSERT_EQ(decompress(Encoding::gzip, deflate_with("abc", 31) + deflate_with("def", 31), 100, &out).code, Code::ok);
  EXPECT_EQ(out, "abcdef");
}

TEST(Decompress, ParsesTheNamesOtelcolAccepts) {
  EXPECT_EQ(parse_encoding(""), Encoding::identity);
  EXPECT_EQ(parse_encoding("identity"), Encoding::identity);
  EXPECT_EQ(parse_encoding("GZIP"), Encoding::gzip);
  EXPECT_EQ(parse_encoding("deflate"), Encoding::zlib);
  EXPECT_EQ(parse_encoding("zlib"), Encoding::zlib);
  EXPECT_EQ(parse_encoding("zstd"), Encoding::zstd);
  EXPECT_EQ(parse_encoding("snappy"), Encoding::snappy);
  EXPECT_EQ(parse_encoding("x-snappy-framed"), Encoding::snappy_framed);
  EXPECT_EQ(parse_encoding("lz4"), Encoding::lz4);
  EXPECT_EQ(parse_encoding("br"), std::nullopt);
  EXPECT_EQ(parse_encoding("gzip, zstd"), std::nullopt);  // stacked encodings are not accepted
}

}  // namespace
}  // namespace otlpd
