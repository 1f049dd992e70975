#pragma once
// A compressed OTLP/gRPC message, decompressed by otlpd rather than by gRPC (whose own
// decompression inflates a whole message before checking its size). Apart from the server so
// that a fuzz target can reach it.
#include <grpc/compression.h>
#include <grpcpp/support/status.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace otlpd {

// Decompresses a message whose compressed flag is set, given in pieces (gRPC's slices) and
// the algorithm gRPC's core read from grpc-encoding (GRPC_COMPRESS_NONE for a name it does
// not know). OK, or the answer: UNIMPLEMENTED for an encoding otlpd cannot tell,
// INVALID_ARGUMENT for data that is not of its encoding, RESOURCE_EXHAUSTED past `limit`.
grpc::Status decompress_grpc_message(grpc_compression_algorithm algorithm, std::span<const std::string_view> pieces,
                                     std::size_t limit, std::string* out,
                                     const std::function<void(std::size_t)>& release = nullptr);

}  // namespace otlpd
