#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "receiver/otlp/otlp_receiver.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr const char* kPath = "receivers::otlp";

Parsed<OtlpReceiverFactory> parse(const std::string& yaml) { return parse_with(OtlpReceiverFactory(), yaml, kPath); }

TEST(OtlpReceiverConfig, EmptyProtocolsTakeOtelcolDefaults) {
  auto p = parse("{protocols: {grpc: , http: }}");
  ASSERT_THAT(p.errors, IsEmpty());
  ASSERT_TRUE(p.config.grpc.has_value());
  ASSERT_TRUE(p.config.http.has_value());
  const OtlpGrpcConfig& g = *p.config.grpc;
  EXPECT_EQ(g.endpoint, "localhost:4317");
  EXPECT_EQ(g.max_recv_msg_size_mib, 4);
  EXPECT_EQ(g.max_concurrent_streams, 0);
  EXPECT_EQ(g.num_threads, 1);
  EXPECT_FALSE(g.tls.has_value());
  const OtlpHttpConfig& h = *p.config.http;
  EXPECT_EQ(h.endpoint, "localhost:4318");
  EXPECT_EQ(h.max_request_body_size, 20 * 1024 * 1024);
  EXPECT_EQ(h.paths, (std::array<std::string, 3>{"/v1/traces", "/v1/metrics", "/v1/logs"}));
  EXPECT_EQ(h.read_timeout, 30s);
  EXPECT_EQ(h.idle_timeout, 1min);
  EXPECT_EQ(h.handler_threads, 2);
  EXPECT_THAT(h.cors.allowed_origins, IsEmpty());
  EXPECT_EQ(h.cors.max_age, 0);
  EXPECT_FALSE(h.tls.has_value());
}

TEST(OtlpReceiverConfig, OnlyTheProtocolsGivenAreEnabled) {
  auto p = parse("{protocols: {http: {endpoint: 0.0.0.0:4318}}}");
  ASSERT_THAT(p.errors, IsEmpty());
  EXPECT_FALSE(p.config.grpc.has_value());
  ASSERT_TRUE(p.config.http.has_value());
  EXPECT_EQ(p.config.http->endpoint, "0.0.0.0:4318");
}

TEST(OtlpReceiverConfig, FullConfigParses) {
  auto p = parse(R"({protocols: {
      grpc: {endpoint: "0.0.0.0:14317", max_recv_msg_size_mib: 16, max_concurrent_streams: 100, num_threads: 4},
      http: {endpoint: "127.0.0.1:14318", max_request_body_size: 1000, traces_url_path: custom/traces,
             metrics_url_path: /m, logs_url_path: /l, read_timeout: 5s, idle_timeout: 10s, handler_threads: 0,
             cors: {allowed_origins: ["https://*.example.com", "http://localhost:3000"],
                    allowed_headers: [X-Custom], max_age: 7200}}}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const OtlpGrpcConfig& g = *p.config.grpc;
  EXPECT_EQ(g.endpoint, "0.0.0.0:14317");
  EXPECT_EQ(g.max_recv_msg_size_mib, 16);
  EXPECT_EQ(g.max_concurrent_streams, 100);
  EXPECT_EQ(g.num_threads, 4);
  const OtlpHttpConfig& h = *p.config.http;
  EXPECT_EQ(h.endpoint, "127.0.0.1:14318");
  EXPECT_EQ(h.max_request_body_size, 1000);
  EXPECT_EQ(h.paths, (std::array<std::string, 3>{"/custom/traces", "/m", "/l"}));  // a leading '/' is added
  EXPECT_EQ(h.read_timeout, 5s);
  EXPECT_EQ(h.idle_timeout, 10s);
  EXPECT_EQ(h.handler_threads, 0);
  EXPECT_THAT(h.cors.allowed_origins, ElementsAre("https://*.example.com", "http://localhost:3000"));
  EXPECT_THAT(h.cors.allowed_headers, ElementsAre("X-Custom"));
  EXPECT_EQ(h.cors.max_age, 7200);
  EXPECT_TRUE(h.cors.origin_allowed("https://app.example.com"));
  EXPECT_FALSE(h.cors.origin_allowed("https://example.org"));
}

TEST(OtlpReceiverConfig, ProtocolsAreRequiredAndKnown) {
  EXPECT_THAT(parse("{}").errors, ElementsAre("receivers::otlp::protocols: must enable at least one protocol (grpc, http)"));
  EXPECT_THAT(parse("{protocols: {grpc: , thrift: }}").errors,
              ElementsAre("receivers::otlp::protocols::thrift: unknown protocol (known protocols: grpc, http)"));
  EXPECT_THAT(OtlpReceiverConfig().validate(),
              ElementsAre(ConfigProblem{"protocols", "must enable at least one protocol (grpc, http)"}));
}

TEST(OtlpReceiverConfig, GrpcRulesNameTheirKeys) {
  EXPECT_THAT(parse("{protocols: {grpc: {endpoint: 'localhost:99999'}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::endpoint: 'localhost:99999' is not host:port"));
  EXPECT_THAT(parse("{protocols: {grpc: {max_recv_msg_size_mib: 0}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::max_recv_msg_size_mib: must be between 1 and 2047"));
  EXPECT_THAT(parse("{protocols: {grpc: {max_recv_msg_size_mib: 2048}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::max_recv_msg_size_mib: must be between 1 and 2047"));
  EXPECT_THAT(parse("{protocols: {grpc: {max_concurrent_streams: -1}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::max_concurrent_streams: must be >= 0"));
  EXPECT_THAT(parse("{protocols: {grpc: {num_threads: 0}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::num_threads: must be between 1 and 64"));
  EXPECT_THAT(parse("{protocols: {grpc: {num_threads: 65}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::num_threads: must be between 1 and 64"));
  OtlpGrpcConfig g;
  g.max_recv_msg_size_mib = 2047;
  g.num_threads = 64;
  EXPECT_THAT(g.validate(), IsEmpty());  // the bounds themselves are allowed
  g.endpoint = "nohost";
  EXPECT_THAT(g.validate(), ElementsAre(ConfigProblem{"endpoint", "'nohost' is not host:port"}));
}

TEST(OtlpReceiverConfig, HttpRulesNameTheirKeys) {
  EXPECT_THAT(parse("{protocols: {http: {endpoint: 'a:b'}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::endpoint: 'a:b' is not host:port"));
  EXPECT_THAT(parse("{protocols: {http: {max_request_body_size: 0}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::max_request_body_size: must be > 0 (bytes)"));
  EXPECT_THAT(parse("{protocols: {http: {read_timeout: 0s}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::read_timeout: must be > 0 (a request must end some time)"));
  EXPECT_THAT(parse("{protocols: {http: {idle_timeout: 0s}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::idle_timeout: must be > 0"));
  EXPECT_THAT(parse("{protocols: {http: {handler_threads: 65}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::handler_threads: must be 0 to 64"));
  EXPECT_THAT(parse("{protocols: {http: {handler_threads: -1}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::handler_threads: must be 0 to 64"));
  EXPECT_THAT(parse("{protocols: {http: {cors: {max_age: -5}}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::cors::max_age: must be >= 0 (seconds)"));
  EXPECT_THAT(parse("{protocols: {http: {cors: {allowed_origins: ['https://*.*.example.com']}}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::cors::allowed_origins: 'https://*.*.example.com' may "
                          "hold at most one '*'"));
  OtlpReceiverConfig c;
  c.http.emplace();
  c.http->max_request_body_size = -1;
  c.http->cors.max_age = -1;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"protocols::http::max_request_body_size", "must be > 0 (bytes)"},
                                        ConfigProblem{"protocols::http::cors::max_age", "must be >= 0 (seconds)"}));
}

TEST(OtlpReceiverConfig, TlsNeedsReadableCertificateAndKey) {
  EXPECT_THAT(parse("{protocols: {http: {tls: {min_version: '1.3'}}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::tls::cert_file: is required to serve TLS",
                          "receivers::otlp::protocols::http::tls::key_file: is required to serve TLS"));
  EXPECT_THAT(parse("{protocols: {grpc: {tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::tls::cert_file: cannot read '/nonexistent/c.pem': No such "
                          "file or directory",
                          "receivers::otlp::protocols::grpc::tls::key_file: cannot read '/nonexistent/k.pem': No such "
                          "file or directory"));
  const std::string file = ::testing::TempDir() + "otlp_receiver_config_test.pem";
  std::FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  const std::string files = "cert_file: '" + file + "', key_file: '" + file + "'";
  auto ok = parse("{protocols: {http: {tls: {" + files + ", min_version: '1.3'}}}}");
  EXPECT_THAT(ok.errors, IsEmpty());
  ASSERT_TRUE(ok.config.http->tls.has_value());
  EXPECT_EQ(ok.config.http->tls->cert_file, file);
  EXPECT_EQ(ok.config.http->tls->min_version, "1.3");
  EXPECT_THAT(parse("{protocols: {http: {tls: {" + files + ", min_version: '1.1'}}}}").errors,
              ElementsAre("receivers::otlp::protocols::http::tls::min_version: '1.1' is not a TLS version otlpd "
                          "serves (1.2, 1.3)"));
  EXPECT_THAT(parse("{protocols: {grpc: {tls: {" + files + ", min_version: '1.3'}}}}").errors, IsEmpty());
  std::remove(file.c_str());
}

TEST(OtlpReceiverConfig, TypeErrorsComeFromReading) {
  EXPECT_THAT(parse("{protocols: {grpc: {num_threads: many, bogus: 1}}}").errors,
              ElementsAre("receivers::otlp::protocols::grpc::num_threads: must be an integer, got 'many'",
                          "receivers::otlp::protocols::grpc::bogus: unknown key (known keys: endpoint, "
                          "max_concurrent_streams, max_recv_msg_size_mib, num_threads, tls)"));
}

}  // namespace
}  // namespace otlpd
