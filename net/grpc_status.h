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

// "UNAVAILABLE" (gRPC's own spelling); a number outside the table as its digits.
inline std::string grpc_code_name(int code) {
  static constexpr const char* kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  const auto i = static_cast<std::size_t>(code);
  return i < std::size(kNames) ? kNames[i] : std::to_string(code);
}

// "Unavailable", as Go's gRPC names it (otelcol's error.type for its gRPC exporters).
inline std::string grpc_go_code_name(int code) {
  static constexpr const char* kNames[] = {
      "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
      "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
      "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
  const auto i = static_cast<std::size_t>(code);
  return i < std::size(kNames) ? kNames[i] : std::to_string(code);
}

}  // namespace otlpd
