#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/jaeger/jaeger_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<JaegerExporterFactory> parse(const std::string& yaml) {
  return parse_with(JaegerExporterFactory(), yaml, "exporters::jaeger");
}

TEST(JaegerExporterConfig, DefaultsToOtlpGrpcOnJaegersPortInPlainText) {
  auto p = parse("{}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_EQ(p.config.protocol(), "otlp_grpc");
  const auto& grpc = std::get<OtlpGrpcExporterConfig>(p.config.options);
  EXPECT_EQ(grpc.target, "localhost:4317");
  EXPECT_TRUE(grpc.insecure);
  EXPECT_EQ(grpc.net.timeout, 5s);
  EXPECT_EQ(grpc.net.queue.num_consumers, 10);
}

TEST(JaegerExporterConfig, EachProtocolHasItsDefaultEndpoint) {
  auto http = parse("{protocol: otlp_http}");
  ASSERT_THAT(http.errors, IsEmpty());
  EXPECT_EQ(http.config.protocol(), "otlp_http");
  EXPECT_EQ(std::get<OtlpHttpExporterConfig>(http.config.options).url(Signal::traces), "http://localhost:4318/v1/traces");
  auto thrift = parse("{protocol: thrift_http}");
  ASSERT_THAT(thrift.errors, IsEmpty());
  EXPECT_EQ(thrift.config.protocol(), "thrift_http");
  const auto& t = std::get<JaegerThriftConfig>(thrift.config.options);
  EXPECT_EQ(t.url, "http://localhost:14268/api/traces");
  EXPECT_FALSE(t.net.compression.enabled());  // jaeger.thrift over HTTP has no compression option
  EXPECT_EQ(t.net.timeout, 5s);
}

TEST(JaegerExporterConfig, FullConfigParses) {
  auto p = parse(R"({protocol: otlp_grpc, endpoint: "jaeger:4317", tls: {insecure: false, ca_file: ca.pem},
                    timeout: 10s, headers: {tenant: a}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& grpc = std::get<OtlpGrpcExporterConfig>(p.config.options);
  EXPECT_EQ(grpc.target, "jaeger:4317");
  EXPECT_FALSE(grpc.insecure);
  EXPECT_EQ(grpc.ca_file, "ca.pem");
  EXPECT_EQ(grpc.net.timeout, 10s);
  EXPECT_EQ(grpc.net.headers.at("tenant"), "a");
  auto t = parse("{protocol: thrift_http, endpoint: 'https://j:14268/api/traces', headers: {a: b}, timeout: 1s}");
  ASSERT_THAT(t.errors, IsEmpty());
  EXPECT_EQ(std::get<JaegerThriftConfig>(t.config.options).url, "https://j:14268/api/traces");
  EXPECT_EQ(std::get<JaegerThriftConfig>(t.config.options).net.timeout, 1s);
}

TEST(JaegerExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{protocol: zipkin}").errors,
              ElementsAre("exporters::jaeger::protocol: 'zipkin' is not one of: otlp_grpc, otlp_http, thrift_http"));
  EXPECT_THAT(parse("{protocol: thrift_http, endpoint: 'jaeger:14268'}").errors,
              ElementsAre("exporters::jaeger::endpoint: 'jaeger:14268' must be a URL such as "
                          "http://jaeger:14268/api/traces"));
  EXPECT_THAT(parse("{protocol: thrift_http, compression: gzip}").errors,
              ElementsAre("exporters::jaeger::compression: unknown key (known keys: endpoint, headers, "
                          "retry_on_failure, sending_queue, timeout, tls)"));
  EXPECT_THAT(parse("{protocol: thrift_http, timeout: 0s, tls: {cert_file: c.pem}}").errors,
              ElementsAre("exporters::jaeger::timeout: must be greater than zero",
                          "exporters::jaeger::tls::cert_file: cert_file and key_file go together"));
  EXPECT_THAT(parse("{endpoint: 'jaeger'}").errors,
              ElementsAre("exporters::jaeger::endpoint: 'jaeger' is not host:port (a URL path is not used by OTLP/gRPC)"));
  EXPECT_THAT(parse("{protocol: otlp_http, endpoint: 'jaeger:4318'}").errors,
              ElementsAre("exporters::jaeger::endpoint: 'jaeger:4318/v1/traces' must be a URL starting with http:// or "
                          "https://"));

  JaegerConfig c;  // built in code: the protocol's own rules
  JaegerThriftConfig thrift;
  thrift.net.timeout = 0ms;
  c.options = thrift;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"endpoint", "'' must be a URL such as http://jaeger:14268/api/traces"},
                                        ConfigProblem{"timeout", "must be greater than zero"}));
}

}  // namespace
}  // namespace otlpd
