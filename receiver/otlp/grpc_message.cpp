#include "receiver/otlp/grpc_message.h"

#include <fmt/format.h>

#include <optional>

#include "compression/decompress.h"

namespace otlpd {
namespace {

// The encoding of a compressed message. gRPC's core names gzip and deflate; zstd, snappy
// (framed, as otelcol sends it) and lz4 it does not know, so they are recognised by their magic
// numbers, only ever for a message whose compressed flag is set.
std::optional<Encoding> grpc_encoding(grpc_compression_algorithm algorithm, std::string_view message) {
  switch (algorithm) {
    case GRPC_COMPRESS_GZIP: return Encoding::gzip;
    case GRPC_COMPRESS_DEFLATE: return Encoding::zlib;
    default: break;
  }
  const auto starts_with = [&](std::string_view magic) { return message.substr(0, magic.size()) == magic; };
  if (starts_with({"\x28\xb5\x2f\xfd", 4})) return Encoding::zstd;
  if (starts_with({"\xff\x06\x00\x00sNaPpY", 10})) return Encoding::snappy_framed;
  if (starts_with({"\x04\x22\x4d\x18", 4})) return Encoding::lz4;
  return std::nullopt;
}

}  // namespace

grpc::Status decompress_grpc_message(grpc_compression_algorithm algorithm, std::span<const std::string_view> pieces,
                                     std::size_t limit, std::string* out,
                                     const std::function<void(std::size_t)>& release) {
  std::string head;  // enough for the magic numbers, whatever the pieces' sizes
  for (std::size_t i = 0; i < pieces.size() && head.size() < 10; ++i) head += pieces[i].substr(0, 10 - head.size());
  const std::optional<Encoding> encoding = grpc_encoding(algorithm, head);
  if (!encoding) {
    return {grpc::StatusCode::UNIMPLEMENTED,
            fmt::format("the message is compressed, but its grpc-encoding is missing, identity, or one otlpd "
                        "does not know (accepted: {})", kAcceptedEncodings)};
  }
  const Decompressed d = decompress(*encoding, pieces, limit, out, release);
  switch (d.code) {
    case Decompressed::Code::ok: return grpc::Status::OK;
    case Decompressed::Code::invalid:
      return {grpc::StatusCode::INVALID_ARGUMENT,
              fmt::format("the message is not valid {} data: {}", encoding_name(*encoding), d.error)};
    case Decompressed::Code::too_large: break;
  }
  return {grpc::StatusCode::RESOURCE_EXHAUSTED,
          fmt::format("decompressed message larger than max_recv_msg_size_mib ({} bytes)", limit)};
}

}  // namespace otlpd
