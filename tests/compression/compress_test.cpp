#include "compression/compress.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "compression/decompress.h"

namespace otlpd {
namespace {

// Bytes shaped like OTLP: repeated keys and values with random ids between them.
std::string telemetry_like(std::size_t size) {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < size) {
    s += "\x0a\x0cservice.name\x12\x07loadgen";
    for (int i = 0; i < 16; ++i) s.push_back(static_cast<char>(rng()));
  }
  s.resize(size);
  return s;
}

struct Case {
  Encoding encoding;
  int level;
};

class CompressTest : public testing::TestWithParam<Case> {};

TEST_P(CompressTest, RoundTripsThroughTheReceiversDecompressor) {
  const CompressionSetting setting{GetParam().encoding, GetParam().level};
  Compressor& compressor = thread_compressor(setting);
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{3} << 20}) {
    const std::string data = telemetry_like(size);
    std::string out = "prefix";  // compress appends
    ASSERT_TRUE(compressor.compress(data, &out));
    ASSERT_EQ(out.substr(0, 6), "prefix");
    if (size >= 4096) {
      EXPECT_LT(out.size() - 6, data.size() / 2) << "size " << size;
    }
    std::string back;
    const Decompressed d = decompress(setting.encoding, std::string_view(out).substr(6), data.size() + 1, &back);
    ASSERT_EQ(d.code, Decompressed::Code::ok) << d.error << " (size " << size << ")";
    EXPECT_EQ(back, data);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressTest,
                         testing::Values(Case{Encoding::gzip, 0}, Case{Encoding::gzip, 1}, Case{Encoding::gzip, 12},
                                         Case{Encoding::zlib, 0}, Case{Encoding::zstd, 0}, Case{Encoding::zstd, 1},
                                         Case{Encoding::zstd, 19}));

TEST(Compress, ThreadCompressorKeepsOnePerSetting) {
  Compressor& a = thread_compressor({Encoding::gzip, 0});
  EXPECT_EQ(&a, &thread_compressor({Encoding::gzip, 6}));  // 0 is the default level, 6
  EXPECT_NE(&a, &thread_compressor({Encoding::gzip, 1}));
  EXPECT_NE(&a, &thread_compressor({Encoding::zstd, 0}));
}

TEST(Compress, ParsesOnlyWhatIsAllowed) {
  Encoding e = Encoding::lz4;
  std::string why;
  EXPECT_TRUE(parse_compression("", "none, gzip", &e, &why));
  EXPECT_EQ(e, Encoding::identity);
  EXPECT_TRUE(parse_compression("deflate", kCompressingEncodings, &e, &why));
  EXPECT_EQ(e, Encoding::zlib);
  EXPECT_FALSE(parse_compression("zstd", "none, gzip", &e, &why));
  EXPECT_EQ(why, "'zstd' is not supported (none, gzip)");
  EXPECT_FALSE(parse_compression("gz", kCompressingEncodings, &e, &why));
  EXPECT_FALSE(parse_compression("lz4", kCompressingEncodings, &e, &why));
  EXPECT_TRUE(valid_compression_level(Encoding::zstd, 22, &why));
  EXPECT_FALSE(valid_compression_level(Encoding::zstd, -1, &why));
  EXPECT_FALSE(valid_compression_level(Encoding::gzip, 13, &why));
}

}  // namespace
}  // namespace otlpd
