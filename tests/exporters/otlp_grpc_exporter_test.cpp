#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "exporters/otlp/otlp_grpc_exporter.h"

namespace otlpd {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

std::unique_ptr<OtlpGrpcExporterConfig> parse(const std::string& yaml, ConfigErrors* errors) {
  ConfigNode node(YAML::Load(yaml), "exporters::otlp", errors);
  return OtlpGrpcExporterConfig::parse(node);
}

TEST(OtlpGrpcExporterConfigTest, OtelcolDefaults) {
  ConfigErrors errors;
  auto c = parse("{endpoint: collector:4317}", &errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(c->target, "collector:4317");
  EXPECT_FALSE(c->insecure);
  EXPECT_TRUE(c->net.gzip);
  EXPECT_EQ(c->net.timeout.count(), 5000);
  EXPECT_TRUE(c->net.retry.enabled);
  EXPECT_EQ(c->net.retry.initial_interval.count(), 5000);
  EXPECT_EQ(c->net.retry.max_interval.count(), 30000);
  EXPECT_EQ(c->net.retry.max_elapsed_time.count(), 300000);
  EXPECT_EQ(c->net.queue.num_consumers, 10);
  EXPECT_EQ(c->net.queue.queue_size, 1000);
}

TEST(OtlpGrpcExporterConfigTest, UrlEndpointsHeadersAndTls) {
  ConfigErrors errors;
  auto c = parse(R"({endpoint: "http://jaeger:4317/", headers: {Authorization: "Bearer s3cret"},
                    compression: none, tls: {server_name_override: apm.example}})", &errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(c->target, "jaeger:4317");
  EXPECT_TRUE(c->insecure);  // http:// means no TLS
  EXPECT_EQ(c->net.headers.at("authorization"), "Bearer s3cret");  // gRPC metadata keys are lowercase
  EXPECT_FALSE(c->net.gzip);
  EXPECT_EQ(c->server_name_override, "apm.example");
}

TEST(OtlpGrpcExporterConfigTest, MistakesAreReportedWithTheirPaths) {
  ConfigErrors errors;
  parse(R"({endpoint: "collector/v1/traces", compression: snappy, timeout: 0s,
           tls: {insecure_skip_verify: true, cert_file: a.pem},
           retry_on_failure: {multiplier: 0.5, max_interval: 1s, initial_interval: 5s}})", &errors);
  const auto& all = errors.all();
  EXPECT_THAT(all, Contains(HasSubstr("exporters::otlp::endpoint: 'collector/v1/traces' is not host:port")));
  EXPECT_THAT(all, Contains("exporters::otlp::compression: 'snappy' is not supported (gzip or none)"));
  EXPECT_THAT(all, Contains("exporters::otlp::timeout: must be greater than zero"));
  EXPECT_THAT(all, Contains(HasSubstr("exporters::otlp::tls::insecure_skip_verify: is not supported")));
  EXPECT_THAT(all, Contains("exporters::otlp::tls::cert_file: cert_file and key_file go together"));
  EXPECT_THAT(all, Contains("exporters::otlp::retry_on_failure::multiplier: must be >= 1"));
  EXPECT_THAT(all, Contains("exporters::otlp::retry_on_failure::max_interval: must be >= initial_interval"));
  ConfigErrors missing;
  parse("{}", &missing);
  EXPECT_THAT(missing.all(), Contains("exporters::otlp::endpoint: is required (host:port of the OTLP/gRPC server)"));
}

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
