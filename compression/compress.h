#pragma once
// Compression of what otlpd sends and writes: request bodies of the OTLP exporters and the
// file exporter's output. gzip, zlib and raw deflate with libdeflate (2-4x faster than zlib
// at the same level and ratio, measured in bench/ micro benchmarks), zstd with libzstd.
#include <memory>
#include <string>
#include <string_view>

#include "compression/decompress.h"

namespace otlpd {

// An encoding and level, as an exporter's `compression` and `compression_params::level`.
struct CompressionSetting {
  Encoding encoding = Encoding::identity;  // identity: no compression
  int level = 0;                           // 0: the codec's default (gzip/zlib 6, zstd 3)

  bool enabled() const { return encoding != Encoding::identity; }
  // The level actually used.
  int effective_level() const;
  // The Content-Encoding value ("gzip", "deflate" for zlib, "zstd"; "" for none).
  std::string_view content_encoding() const;
};

// `compression` names otlpd can compress with, for errors.
inline constexpr std::string_view kCompressingEncodings = "none, gzip, zlib, deflate, zstd";

// Parses a `compression` value among `allowed` (a list as kCompressingEncodings, or part of
// it); false with *why set otherwise. "" and "none" are no compression. "deflate" is the zlib
// format, as HTTP's deflate is.
bool parse_compression(std::string_view name, std::string_view allowed, Encoding* encoding, std::string* why);
// Checks a level for an encoding: gzip/zlib 1-12 (libdeflate), zstd 1-22, or 0 (default).
bool valid_compression_level(Encoding encoding, int level, std::string* why);

// Compresses whole buffers into one gzip member, zlib stream or zstd frame. Holds the codec's
// state between calls, so reuse one per thread (thread_compressor). Not thread-safe.
class Compressor {
 public:
  explicit Compressor(CompressionSetting setting);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Appends the compressed form of `data` to *out; false only if the codec fails (out of memory).
  bool compress(std::string_view data, std::string* out);
  const CompressionSetting& setting() const { return setting_; }

 private:
  struct State;
  CompressionSetting setting_;
  std::unique_ptr<State> state_;
};

// This thread's compressor for `setting` (created at first use, kept for the thread's life).
Compressor& thread_compressor(CompressionSetting setting);

}  // namespace otlpd
