#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/otlp/otlp_http_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<OtlpHttpExporterFactory> parse(const std::string& yaml) {
  return parse_with(OtlpHttpExporterFactory(), yaml, "exporters::otlphttp");
}

TEST(OtlpHttpExporterConfig, OtelcolDefaults) {
  auto p = parse("{endpoint: 'http://collector:4318/'}");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.endpoint, "http://collector:4318");
  EXPECT_EQ(c.url(Signal::traces), "http://collector:4318/v1/traces");
  EXPECT_EQ(c.url(Signal::metrics), "http://collector:4318/v1/metrics");
  EXPECT_EQ(c.url(Signal::logs), "http://collector:4318/v1/logs");
  EXPECT_FALSE(c.json);
  EXPECT_EQ(c.net.compression.encoding, Encoding::gzip);
  EXPECT_EQ(c.net.timeout, 30s);
  EXPECT_TRUE(c.net.retry.enabled);
  EXPECT_EQ(c.net.queue.num_consumers, 10);
  EXPECT_EQ(c.net.queue.queue_size, 1000);
  EXPECT_EQ(c.tls.ca_file, "");
  EXPECT_FALSE(c.tls.insecure_skip_verify);
}

TEST(OtlpHttpExporterConfig, FullConfigParses) {
  auto p = parse(R"({endpoint: "https://api.example:443", traces_endpoint: "https://t.example/in",
                    encoding: json, compression: none, timeout: 3s, headers: {X-Key: v},
                    tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, insecure_skip_verify: true}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.url(Signal::traces), "https://t.example/in");
  EXPECT_EQ(c.url(Signal::metrics), "https://api.example:443/v1/metrics");
  EXPECT_TRUE(c.json);
  EXPECT_FALSE(c.net.compression.enabled());
  EXPECT_EQ(c.net.timeout, 3s);
  EXPECT_EQ(c.net.headers.at("X-Key"), "v");
  EXPECT_EQ(c.tls.ca_file, "ca.pem");
  EXPECT_EQ(c.tls.cert_file, "c.pem");
  EXPECT_TRUE(c.tls.insecure_skip_verify);
  // Every signal with its own endpoint: the base endpoint is not needed.
  EXPECT_THAT(parse("{traces_endpoint: 'http://a/t', metrics_endpoint: 'http://a/m', logs_endpoint: 'http://a/l'}").errors,
              IsEmpty());
}

TEST(OtlpHttpExporterConfig, CompressionAndLevel) {
  auto zstd = parse("{endpoint: 'http://c:4318', compression: zstd, compression_params: {level: 9}}");
  ASSERT_THAT(zstd.errors, IsEmpty());
  EXPECT_EQ(zstd.config.net.compression.encoding, Encoding::zstd);
  EXPECT_EQ(zstd.config.net.compression.effective_level(), 9);
  EXPECT_EQ(zstd.config.net.compression.content_encoding(), "zstd");
  auto deflate = parse("{endpoint: 'http://c:4318', compression: deflate}");
  ASSERT_THAT(deflate.errors, IsEmpty());
  EXPECT_EQ(deflate.config.net.compression.content_encoding(), "deflate");
  EXPECT_EQ(deflate.config.net.compression.effective_level(), 6);
  EXPECT_EQ(parse("{endpoint: 'http://c:4318'}").config.net.compression.effective_level(), 6);  // gzip
  EXPECT_THAT(parse("{endpoint: 'http://c:4318', compression: snappy}").errors,
              ElementsAre("exporters::otlphttp::compression: 'snappy' is not supported (none, gzip, zlib, deflate, zstd)"));
  EXPECT_THAT(parse("{endpoint: 'http://c:4318', compression: gzip, compression_params: {level: 13}}").errors,
              ElementsAre("exporters::otlphttp::compression_params::level: 13 is not a level of gzip (1 to 12, or 0 for "
                          "the default)"));
  EXPECT_THAT(parse("{endpoint: 'http://c:4318', compression: zstd, compression_params: {level: 23}}").errors,
              ElementsAre("exporters::otlphttp::compression_params::level: 23 is not a level of zstd (1 to 22, or 0 "
                          "for the default)"));
}

TEST(OtlpHttpExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{}").errors,
              ElementsAre("exporters::otlphttp::endpoint: is required (the base URL, e.g. http://collector:4318)"));
  EXPECT_THAT(parse("{traces_endpoint: 'http://a/t'}").errors,
              ElementsAre("exporters::otlphttp::endpoint: is required (the base URL, e.g. http://collector:4318)"));
  EXPECT_THAT(parse("{endpoint: 'collector:4318'}").errors,
              ElementsAre("exporters::otlphttp::endpoint: 'collector:4318/v1/traces' must be a URL starting with "
                          "http:// or https://"));
  EXPECT_THAT(parse("{endpoint: 'http://c:4318', logs_endpoint: 'c:4318/logs'}").errors,
              ElementsAre("exporters::otlphttp::logs_endpoint: 'c:4318/logs' must be a URL starting with http:// or "
                          "https://"));
  // A signal's own endpoint is checked even when there is no base endpoint.
  EXPECT_THAT(parse("{traces_endpoint: 'a/t', metrics_endpoint: 'http://a/m', logs_endpoint: 'http://a/l'}").errors,
              ElementsAre("exporters::otlphttp::traces_endpoint: 'a/t' must be a URL starting with http:// or https://"));
  EXPECT_THAT(parse("{endpoint: 'http://c', tls: {key_file: k.pem}}").errors,
              ElementsAre("exporters::otlphttp::tls::cert_file: cert_file and key_file go together"));
  EXPECT_THAT(parse("{endpoint: 'http://c', timeout: 0s, sending_queue: {max_size_mib: 0}}").errors,
              ElementsAre("exporters::otlphttp::timeout: must be greater than zero",
                          "exporters::otlphttp::sending_queue::max_size_mib: must be > 0"));
  EXPECT_THAT(parse("{endpoint: 'http://c', encoding: xml}").errors,
              ElementsAre("exporters::otlphttp::encoding: 'xml' is not one of: proto, json"));

  OtlpHttpExporterConfig c;  // built in code
  c.endpoint = "http://c:4318";
  EXPECT_THAT(c.validate(), IsEmpty());
  c.signal_endpoints[1] = "ftp://m";
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"metrics_endpoint", "'ftp://m' must be a URL starting with http:// "
                                                                          "or https://"}));
}

}  // namespace
}  // namespace otlpd
