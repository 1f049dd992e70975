#include "compression/decompress.h"

#include <fmt/format.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_getFrameHeader, ZSTD_FRAMEHEADERSIZE_MAX (exported by Debian's libzstd)
#include <zstd.h>

#include <algorithm>
#include <array>
#include <boost/crc.hpp>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <span>

namespace otlpd {
namespace {

using Code = Decompressed::Code;

Decompressed invalid(std::string why) { return {Code::invalid, std::move(why)}; }
Decompressed too_large() { return {Code::too_large, {}}; }

// The output: never holds more than `limit` bytes. Its buffer is reserved at the limit from
// the start, which costs address space but no memory until written (the kernel maps pages as
// they are touched), so growing never copies it: a bomb costs the limit, not 1.5 to 2 times it.
class Output {
 public:
  Output(std::string* out, std::size_t limit) : out_(out), limit_(limit) {
    out_->clear();
    out_->reserve(limit);
  }
  // A buffer much larger than what was written gives the rest back.
  ~Output() {
    if (out_->capacity() > 2 * out_->size() + 64 * 1024) out_->shrink_to_fit();
  }

  // false (and nothing appended) if the output would pass the limit.
  bool append(const char* data, std::size_t n) {
    if (n > limit_ - out_->size()) return false;
    out_->append(data, n);
    return true;
  }

 private:
  std::string* out_;
  std::size_t limit_;
};

constexpr std::size_t kChunk = 64 * 1024;

// The compressed input: one or more pieces (gRPC receives a message in many slices). Each
// piece is released as soon as the decoder is done with it, so that input and output are not
// both held whole.
class Input {
 public:
  Input(std::span<const std::string_view> pieces, const std::function<void(std::size_t)>& release)
      : pieces_(pieces), release_(release) {}
  ~Input() {
    for (std::size_t i = released_; i < pieces_.size(); ++i) release(i);
  }

  // The next non-empty piece, releasing the one before; false at the end.
  bool next(std::string_view* piece) {
    if (next_ > 0) release(next_ - 1);
    while (next_ < pieces_.size()) {
      *piece = pieces_[next_++];
      if (!piece->empty()) return true;
      release(next_ - 1);
    }
    return false;
  }
  // No non-empty piece after the current one.
  bool at_end() const {
    for (std::size_t i = next_; i < pieces_.size(); ++i) {
      if (!pieces_[i].empty()) return false;
    }
    return true;
  }
  // The first `n` bytes (fewer if the input is shorter), without consuming anything.
  std::string prefix(std::size_t n) const {
    std::string out;
    for (std::size_t i = next_; i < pieces_.size() && out.size() < n; ++i) {
      out.append(pieces_[i].substr(0, n - out.size()));
    }
    return out;
  }
  // The whole input in one piece: a view of it if it is one already, else copied into
  // `scratch` (the pieces are released as they are copied).
  std::string_view gather(std::string* scratch) {
    std::size_t total = 0, non_empty = 0;
    std::string_view only;
    for (std::size_t i = next_; i < pieces_.size(); ++i) {
      total += pieces_[i].size();
      if (!pieces_[i].empty()) ++non_empty, only = pieces_[i];
    }
    if (non_empty <= 1) return only;
    scratch->reserve(total);
    std::string_view piece;
    while (next(&piece)) scratch->append(piece);
    return *scratch;
  }

 private:
  void release(std::size_t i) {
    if (release_ && i >= released_) {
      released_ = i + 1;
      release_(i);
    }
  }

  std::span<const std::string_view> pieces_;
  const std::function<void(std::size_t)>& release_;
  std::size_t next_ = 0;
  std::size_t released_ = 0;
};

// gzip, zlib or raw deflate (window_bits as for inflateInit2). Concatenated gzip members are
// one stream, as in Go's gzip reader.
Decompressed inflate_stream(Input& in, int window_bits, Output& out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return invalid("cannot initialise zlib");
  std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&z, &inflateEnd);
  std::array<char, kChunk> chunk;
  std::string_view piece;
  for (;;) {
    if (z.avail_in == 0 && in.next(&piece)) {
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
      z.avail_in = static_cast<uInt>(piece.size());
    }
    z.next_out = reinterpret_cast<Bytef*>(chunk.data());
    z.avail_out = static_cast<uInt>(chunk.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      return invalid(z.msg ? z.msg : fmt::format("zlib error {}", rc));
    }
    if (!out.append(chunk.data(), chunk.size() - z.avail_out)) return too_large();
    const bool input_done = z.avail_in == 0 && in.at_end();
    if (rc == Z_STREAM_END) {
      if (input_done) return {};
      if (window_bits < 16 + 15) return invalid("data after the end of the stream");
      inflateReset(&z);  // another gzip member
    } else if (input_done && z.avail_out != 0) {
      return invalid("the stream is truncated");
    }
  }
}

// RFC 1950 header: compression method 8, and the check bits.
bool has_zlib_header(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]), flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
}

// At each frame's start, its header (up to ZSTD_FRAMEHEADERSIZE_MAX bytes, across pieces).
// Only RFC 8878 frames and skippable frames are taken: libzstd also decodes legacy (pre-1.0)
// frames, but only when their magic number arrives in one call, so a stream in pieces would
// be read differently from the same stream whole (found by fuzz/fuzz_decompress.cpp).
bool zstd_frame_header(std::string_view head, ZSTD_frameHeader* header) {
  if (head.size() < 4 || ZSTD_getFrameHeader(header, head.data(), head.size()) > ZSTD_FRAMEHEADERSIZE_MAX) {
    return false;  // an error, or not even a whole header before the input ends
  }
  const bool standard = head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4);
  return standard || header->frameType == ZSTD_skippableFrame;
}

// Each frame's header is handed to libzstd on its own, in a call of exactly its size. Given a
// whole small frame in one call, libzstd 1.5.4 decodes it in one pass, and that decoder reads
// some frames differently from its streaming one (an RLE block of size 0 missing its byte: one
// pass calls it corrupt, streaming calls it empty), so a stream in pieces would be read
// differently from the same stream whole (found by fuzz/fuzz_decompress.cpp). Holding the
// first call to the header keeps every frame on the streaming decoder.
Decompressed zstd_stream(Input& in, Output& out, const std::string& produced) {
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> stream(ZSTD_createDStream(), &ZSTD_freeDStream);
  if (!stream) return invalid("cannot initialise zstd");
  ZSTD_inBuffer input{nullptr, 0, 0};
  std::array<char, kChunk> chunk;
  std::string_view piece;
  std::size_t rc = 0;
  bool frame_start = true;
  std::size_t header_left = 0;  // bytes of the current frame's header not yet given to libzstd
  std::uint64_t declared = ZSTD_CONTENTSIZE_UNKNOWN, frame_begin = 0;
  for (;;) {
    if (input.pos == input.size && in.next(&piece)) input = {piece.data(), piece.size(), 0};
    if (frame_start) {
      const std::string_view rest(static_cast<const char*>(input.src) + input.pos, input.size - input.pos);
      const std::string head = std::string(rest.substr(0, ZSTD_FRAMEHEADERSIZE_MAX)) +
                               in.prefix(ZSTD_FRAMEHEADERSIZE_MAX - std::min<std::size_t>(rest.size(), ZSTD_FRAMEHEADERSIZE_MAX));
      ZSTD_frameHeader header{};
      if (!zstd_frame_header(head, &header)) return invalid("not a zstd frame");
      declared = header.frameType == ZSTD_frame ? header.frameContentSize : ZSTD_CONTENTSIZE_UNKNOWN;
      header_left = header.headerSize;
      frame_begin = produced.size();
      frame_start = false;
    }
    ZSTD_outBuffer output{chunk.data(), chunk.size(), 0};
    if (header_left > 0) {
      ZSTD_inBuffer part{input.src, std::min(input.size, input.pos + header_left), input.pos};
      rc = ZSTD_decompressStream(stream.get(), &output, &part);
      header_left -= part.pos - input.pos;
      input.pos = part.pos;
    } else {
      rc = ZSTD_decompressStream(stream.get(), &output, &input);
    }
    if (ZSTD_isError(rc)) return invalid(ZSTD_getErrorName(rc));
    if (!out.append(chunk.data(), output.pos)) return too_large();
    if (rc == 0) {
      // A frame ended. libzstd 1.5.4's streaming decoder does not always hold it to the size its
      // header declares (a frame ending in an empty raw block): otlpd does.
      if (declared != ZSTD_CONTENTSIZE_UNKNOWN && produced.size() - frame_begin != declared) {
        return invalid(fmt::format("a frame declares {} bytes and holds {}", declared, produced.size() - frame_begin));
      }
      frame_start = true;
    }
    if (input.pos == input.size && in.at_end() && (output.pos < output.size || rc == 0)) {
      // All input consumed, and the decoder did not fill the buffer (it has nothing left) or
      // finished a frame exactly as the buffer filled (an output a multiple of kChunk long).
      return rc == 0 ? Decompressed{} : invalid("the stream is truncated");
    }
  }
}

Decompressed lz4_frames(Input& in, Output& out) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) return invalid("cannot initialise lz4");
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> dctx(raw, &LZ4F_freeDecompressionContext);
  std::array<char, kChunk> chunk;
  std::string_view piece;
  std::size_t hint = 0;
  for (;;) {
    if (piece.empty() && !in.next(&piece)) piece = {};
    std::size_t produced = chunk.size(), consumed = piece.size();
    hint = LZ4F_decompress(dctx.get(), chunk.data(), &produced, piece.data(), &consumed, nullptr);
    if (LZ4F_isError(hint)) return invalid(LZ4F_getErrorName(hint));
    piece.remove_prefix(consumed);
    if (!out.append(chunk.data(), produced)) return too_large();
    if (piece.empty() && in.at_end() && produced < chunk.size()) {
      return hint == 0 ? Decompressed{} : invalid("the stream is truncated");
    }
  }
}

// CRC-32C of the snappy framing format, masked as it specifies.
std::uint32_t masked_crc32c(const char* data, std::size_t n) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, n);
  const std::uint32_t c = crc.checksum();
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

constexpr std::string_view kSnappyStreamId{"\xff\x06\x00\x00sNaPpY", 10};

// https://github.com/google/snappy/blob/main/framing_format.txt
// Reads the input in runs of a given length, across pieces: a view into the current piece when
// the run lies within it, else a copy into a small buffer. A view lasts until the next read.
class RunReader {
 public:
  explicit RunReader(Input& in) : in_(in) {}

  enum class Result { ok, end, truncated };
  Result read(std::size_t n, std::string_view* run) {
    if (current_.empty() && !in_.next(&current_)) return Result::end;
    if (current_.size() >= n) {
      *run = current_.substr(0, n);
      current_.remove_prefix(n);
      return Result::ok;
    }
    scratch_.assign(current_);
    current_ = {};
    while (scratch_.size() < n) {
      if (!in_.next(&current_)) return Result::truncated;
      const std::size_t take = std::min(n - scratch_.size(), current_.size());
      scratch_.append(current_.substr(0, take));
      current_.remove_prefix(take);
    }
    *run = scratch_;
    return Result::ok;
  }

 private:
  Input& in_;
  std::string_view current_;
  std::string scratch_;  // at most one chunk: 16 MiB by the format, 64 KiB in practice
};

// https://github.com/google/snappy/blob/main/framing_format.txt, read chunk by chunk.
Decompressed snappy_framed(Input& in, Output& out) {
  RunReader reader(in);
  std::string block;
  std::string_view run;
  bool first = true;
  for (;;) {
    const RunReader::Result header = reader.read(4, &run);
    if (header == RunReader::Result::end && !first) return {};
    if (header != RunReader::Result::ok) return invalid(first ? "no snappy stream identifier" : "truncated snappy chunk header");
    const auto type = static_cast<unsigned char>(run[0]);
    const std::size_t length = static_cast<unsigned char>(run[1]) | static_cast<unsigned char>(run[2]) << 8 |
                               static_cast<std::size_t>(static_cast<unsigned char>(run[3])) << 16;
    if (first && type != 0xff) return invalid("no snappy stream identifier");
    first = false;
    if (reader.read(length, &run) != RunReader::Result::ok && length > 0) return invalid("truncated snappy chunk");
    const std::string_view body = length > 0 ? run : std::string_view();
    if (type == 0xff) {
      if (body != kSnappyStreamId.substr(4)) return invalid("corrupt snappy stream identifier");
      continue;
    }
    if (type >= 0x80) continue;  // padding and skippable chunks
    if (type > 0x01) return invalid(fmt::format("reserved snappy chunk type {:#04x}", type));
    if (body.size() < 4) return invalid("snappy chunk without checksum");
    std::uint32_t expected;
    std::memcpy(&expected, body.data(), 4);  // little-endian on every platform otlpd builds for
    std::string_view data = body.substr(4);
    if (type == 0x00) {
      std::size_t n = 0;
      if (!snappy::GetUncompressedLength(data.data(), data.size(), &n) || n > 65536) {
        return invalid("corrupt snappy chunk");
      }
      block.resize(n);
      if (!snappy::RawUncompress(data.data(), data.size(), block.data())) return invalid("corrupt snappy chunk");
      data = block;
    } else if (data.size() > 65536) {
      return invalid("snappy chunk larger than 64 KiB");
    }
    if (masked_crc32c(data.data(), data.size()) != expected) return invalid("snappy chunk checksum mismatch");
    if (!out.append(data.data(), data.size())) return too_large();
  }
}

}  // namespace

std::optional<Encoding> parse_encoding(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower.empty() || lower == "identity") return Encoding::identity;
  if (lower == "gzip" || lower == "x-gzip") return Encoding::gzip;
  if (lower == "zlib" || lower == "deflate") return Encoding::zlib;
  if (lower == "zstd") return Encoding::zstd;
  if (lower == "snappy") return Encoding::snappy;
  if (lower == "x-snappy-framed") return Encoding::snappy_framed;
  if (lower == "lz4") return Encoding::lz4;
  return std::nullopt;
}

std::string_view encoding_name(Encoding encoding) {
  switch (encoding) {
    case Encoding::identity: return "identity";
    case Encoding::gzip: return "gzip";
    case Encoding::zlib: return "zlib";
    case Encoding::zstd: return "zstd";
    case Encoding::snappy: return "snappy";
    case Encoding::snappy_framed: return "x-snappy-framed";
    case Encoding::lz4: return "lz4";
  }
  return "unknown";
}

Decompressed decompress(Encoding encoding, std::span<const std::string_view> pieces, std::size_t limit,
                        std::string* result, const std::function<void(std::size_t)>& release) {
  Output out(result, limit);
  Input in(pieces, release);
  std::string scratch;
  switch (encoding) {
    case Encoding::identity: {
      std::string_view piece;
      while (in.next(&piece)) {
        if (!out.append(piece.data(), piece.size())) return too_large();
      }
      return {};
    }
    case Encoding::gzip: return inflate_stream(in, 16 + 15, out);
    case Encoding::zlib: return inflate_stream(in, has_zlib_header(in.prefix(2)) ? 15 : -15, out);
    case Encoding::zstd: return zstd_stream(in, out, *result);
    case Encoding::lz4: return lz4_frames(in, out);
    case Encoding::snappy_framed: return snappy_framed(in, out);
    case Encoding::snappy: {
      if (in.prefix(kSnappyStreamId.size()) == kSnappyStreamId) return snappy_framed(in, out);
      // One raw block (whole: HTTP bodies are one piece). Its header declares the output's
      // size, checked before anything is allocated.
      const std::string_view whole = in.gather(&scratch);
      std::size_t length = 0;
      if (!snappy::GetUncompressedLength(whole.data(), whole.size(), &length)) return invalid("not a snappy block");
      if (length > limit) return too_large();
      result->resize(length);
      if (!snappy::RawUncompress(whole.data(), whole.size(), result->data())) {
        result->clear();
        return invalid("corrupt snappy block");
      }
      return {};
    }
  }
  return invalid("unknown encoding");
}

Decompressed decompress(Encoding encoding, std::string_view in, std::size_t limit, std::string* out) {
  return decompress(encoding, std::span<const std::string_view>(&in, 1), limit, out);
}

}  // namespace otlpd
