#pragma once
// gRPC status codes and their names: what otlpd's gRPC server answers and what its gRPC
// exporters read from a backend's answer.
#include <cstddef>
#include <iterator>
#include <string>

namespace otlpd {

// As grpc::StatusCode numbers them (gRPC's doc/statuscodes.md).
enum class GrpcCode : int {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

struct GrpcStatus {
  GrpcCode code = GrpcCode::ok;
  std::string message;
  bool ok() const { return code == GrpcCode::ok; }
};

namespace grpc_status_detail {
struct CodeNames {
  const char* grpc;  // gRPC's own spelling
  const char* go;    // Go's gRPC's (otelcol's error.type for its gRPC exporters)
};
inline constexpr CodeNames kCodeNames[] = {
    {"OK", "OK"}, {"CANCELLED", "Canceled"}, {"UNKNOWN", "Unknown"}, {"INVALID_ARGUMENT", "InvalidArgument"},
    {"DEADLINE_EXCEEDED", "DeadlineExceeded"}, {"NOT_FOUND", "NotFound"}, {"ALREADY_EXISTS", "AlreadyExists"},
    {"PERMISSION_DENIED", "PermissionDenied"}, {"RESOURCE_EXHAUSTED", "ResourceExhausted"},
    {"FAILED_PRECONDITION", "FailedPrecondition"}, {"ABORTED", "Aborted"}, {"OUT_OF_RANGE", "OutOfRange"},
    {"UNIMPLEMENTED", "Unimplemented"}, {"INTERNAL", "Internal"}, {"UNAVAILABLE", "Unavailable"},
    {"DATA_LOSS", "DataLoss"}, {"UNAUTHENTICATED", "Unauthenticated"}};
}  // namespace grpc_status_detail

// "UNAVAILABLE"; a number outside the table as its digits.
inline std::string grpc_code_name(int code) {
  const auto i = static_cast<std::size_t>(code);
  return i < std::size(grpc_status_detail::kCodeNames) ? grpc_status_detail::kCodeNames[i].grpc : std::to_string(code);
}

// "Unavailable", as Go's gRPC names it.
inline std::string grpc_go_code_name(int code) {
  const auto i = static_cast<std::size_t>(code);
  return i < std::size(grpc_status_detail::kCodeNames) ? grpc_status_detail::kCodeNames[i].go : std::to_string(code);
}

}  // namespace otlpd
