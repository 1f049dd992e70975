#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <absl/status/status.h>

#include "exporters/otlp/otlp_grpc_exporter.h"
#include "net/grpc_status.h"

namespace otlpd {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(OtlpRetryable, FollowsTheOtlpSpecification) {
  for (auto code : {grpc::StatusCode::CANCELLED, grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::ABORTED,
                    grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DATA_LOSS}) {
    EXPECT_TRUE(otlp_retryable(code, false)) << code;
  }
  EXPECT_FALSE(otlp_retryable(grpc::StatusCode::RESOURCE_EXHAUSTED, false));
  EXPECT_TRUE(otlp_retryable(grpc::StatusCode::RESOURCE_EXHAUSTED, true));
  for (auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::UNAUTHENTICATED,
                    grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::UNIMPLEMENTED, grpc::StatusCode::INTERNAL}) {
    EXPECT_FALSE(otlp_retryable(code, true)) << code;
  }
}

// otlpd's table of gRPC status codes against gRPC's enum and Abseil's names (gRPC's spelling);
// Go's names are the same words in CamelCase, "Canceled" with one l.
TEST(GrpcStatusCodes, MatchGrpcAndAbseil) {
  for (int code = 0; code <= 16; ++code) {
    EXPECT_EQ(static_cast<int>(static_cast<grpc::StatusCode>(code)), code);
    EXPECT_EQ(grpc_code_name(code), absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) << code;
    std::string camel;
    bool upper = true;
    for (const char c : grpc_code_name(code)) {
      if (c == '_') {
        upper = true;
        continue;
      }
      camel += upper ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      upper = false;
    }
    if (camel == "Cancelled") camel = "Canceled";
    if (camel == "Ok") camel = "OK";
    EXPECT_EQ(grpc_go_code_name(code), camel) << code;
  }
  EXPECT_EQ(static_cast<int>(GrpcCode::unauthenticated), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(static_cast<int>(GrpcCode::resource_exhausted), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(grpc_code_name(17), "17");
  EXPECT_EQ(grpc_go_code_name(-1), "-1");
}

}  // namespace
}  // namespace otlpd
