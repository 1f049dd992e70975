#pragma once
// Bounded decompression of a request body, shared by the OTLP/gRPC and OTLP/HTTP receivers.
//
// The compressed input is whole in memory (the transports bound it); the output grows in
// steps and stops before it would pass `limit` bytes, so a compression bomb costs at most
// `limit` bytes of output, whatever it would inflate to.
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace otlpd {

enum class Encoding {
  identity,
  gzip,           // RFC 1952
  zlib,           // RFC 1950 ("deflate" in HTTP; raw RFC 1951 deflate is accepted as well)
  zstd,           // RFC 8878, one or more frames
  snappy,         // the framed stream ("sNaPpY" identifier) or, without it, one raw block
  snappy_framed,  // "x-snappy-framed": the framed stream only
  lz4,            // the LZ4 frame format
};

// The encoding a Content-Encoding or grpc-encoding value names (case-insensitive; "" and
// "identity" are no encoding), or nullopt if otlpd does not know it.
std::optional<Encoding> parse_encoding(std::string_view name);

// The encoding's usual name ("gzip", "zlib", ...), for messages.
std::string_view encoding_name(Encoding encoding);

// What parse_encoding accepts, for error messages.
inline constexpr std::string_view kAcceptedEncodings = "gzip, zlib, deflate, zstd, snappy, x-snappy-framed, lz4";

struct Decompressed {
  enum class Code { ok, invalid, too_large };
  Code code = Code::ok;
  std::string error;  // for invalid: what is wrong with the data
};

// Decodes `in` into `out` (replacing its content). too_large as soon as the output would pass
// `limit` bytes; invalid for data that is not a complete stream of the encoding.
Decompressed decompress(Encoding encoding, std::string_view in, std::size_t limit, std::string* out);

// The same for input in pieces (as gRPC receives a message), decoded without joining them
// (except for a raw snappy block, which is joined first). release(i), if given, is called once piece
// i is no longer needed, so that its memory can go before the output has grown.
Decompressed decompress(Encoding encoding, std::span<const std::string_view> pieces, std::size_t limit,
                        std::string* out, const std::function<void(std::size_t)>& release = nullptr);

}  // namespace otlpd
