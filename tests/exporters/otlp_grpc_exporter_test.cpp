#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "exporters/otlp/otlp_grpc_exporter.h"

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

}  // namespace
}  // namespace otlpd
