#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/otlp/otlp_grpc_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<OtlpGrpcExporterFactory> parse(const std::string& yaml) {
  return parse_with(OtlpGrpcExporterFactory(), yaml, "exporters::otlp");
}

TEST(OtlpGrpcExporterConfig, OtelcolDefaults) {
  auto p = parse("{endpoint: collector:4317}");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.target, "collector:4317");
  EXPECT_FALSE(c.insecure);
  EXPECT_EQ(c.ca_file, "");
  EXPECT_EQ(c.cert_file, "");
  EXPECT_THAT(c.net.headers, IsEmpty());
  EXPECT_EQ(c.net.compression.encoding, Encoding::gzip);
  EXPECT_EQ(c.net.timeout, 5s);
  EXPECT_TRUE(c.net.retry.enabled);
  EXPECT_EQ(c.net.retry.initial_interval, 5s);
  EXPECT_EQ(c.net.retry.max_interval, 30s);
  EXPECT_EQ(c.net.retry.max_elapsed_time, 300s);
  EXPECT_DOUBLE_EQ(c.net.retry.multiplier, 1.5);
  EXPECT_DOUBLE_EQ(c.net.retry.randomization_factor, 0.5);
  EXPECT_TRUE(c.net.queue.enabled);
  EXPECT_EQ(c.net.queue.num_consumers, 10);
  EXPECT_EQ(c.net.queue.queue_size, 1000);
  EXPECT_EQ(c.net.queue.sizer, SendingQueueConfig::Sizer::requests);
  EXPECT_FALSE(c.net.queue.block_on_overflow);
}

TEST(OtlpGrpcExporterConfig, FullConfigParses) {
  auto p = parse(R"({endpoint: "http://jaeger:4317/", headers: {Authorization: "Bearer s3cret"}, compression: none,
                    timeout: 2s, tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, server_name_override: apm},
                    retry_on_failure: {enabled: false, initial_interval: 1s, max_interval: 2s, max_elapsed_time: 0s},
                    sending_queue: {num_consumers: 2, queue_size: 50, sizer: items, block_on_overflow: true}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.target, "jaeger:4317");
  EXPECT_TRUE(c.insecure);  // http:// means no TLS
  EXPECT_EQ(c.net.headers.at("authorization"), "Bearer s3cret");  // gRPC metadata keys are lowercase
  EXPECT_FALSE(c.net.compression.enabled());
  EXPECT_EQ(c.net.timeout, 2s);
  EXPECT_EQ(c.ca_file, "ca.pem");
  EXPECT_EQ(c.cert_file, "c.pem");
  EXPECT_EQ(c.key_file, "k.pem");
  EXPECT_EQ(c.server_name_override, "apm");
  EXPECT_FALSE(c.net.retry.enabled);
  EXPECT_EQ(c.net.retry.max_elapsed_time, 0s);
  EXPECT_EQ(c.net.queue.num_consumers, 2);
  EXPECT_EQ(c.net.queue.queue_size, 50);
  EXPECT_EQ(c.net.queue.sizer, SendingQueueConfig::Sizer::items);
  EXPECT_TRUE(c.net.queue.block_on_overflow);
  EXPECT_FALSE(parse("{endpoint: 'https://x:443'}").config.insecure);
}

TEST(OtlpGrpcExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{}").errors, ElementsAre("exporters::otlp::endpoint: is required (host:port of the OTLP/gRPC server)"));
  EXPECT_THAT(parse("{endpoint: collector/v1/traces}").errors,
              ElementsAre("exporters::otlp::endpoint: 'collector/v1/traces' is not host:port (a URL path is not used by "
                          "OTLP/gRPC)"));
  EXPECT_THAT(parse("{endpoint: collector}").errors,
              ElementsAre("exporters::otlp::endpoint: 'collector' is not host:port (a URL path is not used by OTLP/gRPC)"));
  EXPECT_THAT(parse("{endpoint: 'c:1', tls: {cert_file: a.pem}}").errors,
              ElementsAre("exporters::otlp::tls::cert_file: cert_file and key_file go together"));
  EXPECT_THAT(parse("{endpoint: 'c:1', timeout: 0s}").errors, ElementsAre("exporters::otlp::timeout: must be greater than zero"));
  EXPECT_THAT(parse("{endpoint: 'c:1', sending_queue: {queue_size: 0}}").errors,
              ElementsAre("exporters::otlp::sending_queue::queue_size: must be > 0"));
  // Refused while reading: values that otlpd does not support at all.
  EXPECT_THAT(parse("{endpoint: 'c:1', compression: snappy}").errors,
              ElementsAre("exporters::otlp::compression: 'snappy' is not supported (none, gzip)"));
  // zstd: gRPC 1.51's core cannot announce it (grpc-encoding); said, not ignored.
  EXPECT_THAT(parse("{endpoint: 'c:1', compression: zstd}").errors,
              ElementsAre("exporters::otlp::compression: 'zstd' is not supported (none, gzip)"));
  EXPECT_THAT(parse("{endpoint: 'c:1', compression_params: {level: 13}}").errors,
              ElementsAre("exporters::otlp::compression_params::level: 13 is not a level of gzip (1 to 12, or 0 for "
                          "the default)"));
  EXPECT_THAT(parse("{endpoint: 'c:1', compression_params: {level: 1}}").errors, IsEmpty());
  EXPECT_THAT(parse("{endpoint: 'c:1', tls: {insecure_skip_verify: true}}").errors,
              ElementsAre("exporters::otlp::tls::insecure_skip_verify: is not supported; give the server's CA with "
                          "ca_file instead"));
  EXPECT_THAT(parse("{endpoint: 'c:1', retry_on_failure: {multiplier: 0.5}}").errors,
              ElementsAre("exporters::otlp::retry_on_failure::multiplier: must be >= 1"));

  OtlpGrpcExporterConfig c;  // built in code
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"endpoint", "is required (host:port of the OTLP/gRPC server)"}));
  c.target = "collector:4317";
  c.key_file = "k.pem";
  c.net.timeout = 0ms;
  c.net.queue.num_consumers = 0;
  c.net.retry.max_interval = 1ms;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"tls::cert_file", "cert_file and key_file go together"},
                                        ConfigProblem{"timeout", "must be greater than zero"},
                                        ConfigProblem{"retry_on_failure::max_interval", "must be >= initial_interval"},
                                        ConfigProblem{"sending_queue::num_consumers", "must be between 1 and 1024"}));
}

}  // namespace
}  // namespace otlpd
