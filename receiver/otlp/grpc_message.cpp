#include "receiver/otlp/grpc_message.h"

#include <fmt/format.h>

#include "compression/decompress.h"

namespace otlpd {

GrpcStatus decompress_grpc_message(std::string_view name, std::string_view message, std::size_t limit,
                                   std::string* out) {
  const std::optional<Encoding> encoding = parse_encoding(name);
  if (!encoding || *encoding == Encoding::identity) {
    return {GrpcCode::unimplemented,
            fmt::format("the message is compressed, but its grpc-encoding is missing, identity, or one otlpd "
                        "does not know (accepted: {})", kAcceptedEncodings)};
  }
  const Decompressed d = decompress(*encoding, message, limit, out);
  switch (d.code) {
    case Decompressed::Code::ok: return {};
    case Decompressed::Code::invalid:
      return {GrpcCode::invalid_argument,
              fmt::format("the message is not valid {} data: {}", encoding_name(*encoding), d.error)};
    case Decompressed::Code::too_large: break;
  }
  return {GrpcCode::resource_exhausted,
          fmt::format("decompressed message larger than max_recv_msg_size_mib ({} bytes)", limit)};
}

}  // namespace otlpd
