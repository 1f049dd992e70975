#pragma once
// A compressed OTLP/gRPC message, decompressed as it is handed to the receiver, bounded by the
// receiver's size limit. Apart from the server so that a fuzz target can reach it.
#include <cstddef>
#include <string>
#include <string_view>

#include "net/grpc_server.h"

namespace otlpd {

// Decompresses a message whose compressed flag is set, by the encoding `name` (its call's
// grpc-encoding) names. OK, or the answer: UNIMPLEMENTED for an encoding that is missing,
// identity or unknown (naming those accepted), INVALID_ARGUMENT for data that is not of its
// encoding, RESOURCE_EXHAUSTED past `limit`.
GrpcStatus decompress_grpc_message(std::string_view name, std::string_view message, std::size_t limit,
                                   std::string* out);

}  // namespace otlpd
