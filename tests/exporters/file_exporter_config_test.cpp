#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporters/file/file_exporter.h"
#include "support/config_support.h"

namespace otlpd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

Parsed<FileExporterFactory> parse(const std::string& yaml) {
  return parse_with(FileExporterFactory(), yaml, "exporters::file");
}

TEST(FileExporterConfig, OtelcolDefaults) {
  auto p = parse("{path: ./out.jsonl}");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.file.path, "./out.jsonl");
  EXPECT_FALSE(c.proto);  // format: json
  EXPECT_EQ(c.file.framing, FileFraming::lines);
  EXPECT_FALSE(c.file.append);
  EXPECT_EQ(c.flush_interval, 1s);
  EXPECT_FALSE(c.file.rotation.has_value());  // no rotation unless asked for
  EXPECT_TRUE(c.queue.enabled);
  EXPECT_EQ(c.queue.num_consumers, 1);
  EXPECT_EQ(c.queue.queue_size, 1000);
  // rotation: {} takes otelcol's rotation defaults.
  auto r = parse("{path: out, rotation: {}}");
  ASSERT_THAT(r.errors, IsEmpty());
  ASSERT_TRUE(r.config.file.rotation.has_value());
  EXPECT_EQ(r.config.file.rotation->max_megabytes, 100);
  EXPECT_EQ(r.config.file.rotation->max_days, 0);
  EXPECT_EQ(r.config.file.rotation->max_backups, 100);
  EXPECT_FALSE(r.config.file.rotation->localtime);
}

TEST(FileExporterConfig, FullConfigParses) {
  auto p = parse(R"({path: /var/out.bin, format: proto, append: true, flush_interval: 10ms, compression: none,
                    rotation: {max_megabytes: 5, max_days: 3, max_backups: 2, localtime: true},
                    sending_queue: {queue_size: 10}})");
  ASSERT_THAT(p.errors, IsEmpty());
  const auto& c = p.config;
  EXPECT_EQ(c.file.path, "/var/out.bin");
  EXPECT_TRUE(c.proto);
  EXPECT_EQ(c.file.framing, FileFraming::length_prefixed);
  EXPECT_TRUE(c.file.append);
  EXPECT_EQ(c.flush_interval, 10ms);
  ASSERT_TRUE(c.file.rotation.has_value());
  EXPECT_EQ(c.file.rotation->max_megabytes, 5);
  EXPECT_EQ(c.file.rotation->max_days, 3);
  EXPECT_EQ(c.file.rotation->max_backups, 2);
  EXPECT_TRUE(c.file.rotation->localtime);
  EXPECT_EQ(c.queue.queue_size, 10);
}

TEST(FileExporterConfig, EachRuleNamesItsKey) {
  EXPECT_THAT(parse("{}").errors, ElementsAre("exporters::file::path: is required (the file to write to)"));
  EXPECT_THAT(parse("{path: o, flush_interval: 0s}").errors,
              ElementsAre("exporters::file::flush_interval: must be greater than zero"));
  EXPECT_THAT(parse("{path: o, rotation: {max_megabytes: 0, max_days: -1, max_backups: -1}}").errors,
              ElementsAre("exporters::file::rotation::max_megabytes: must be > 0",
                          "exporters::file::rotation::max_days: must be >= 0",
                          "exporters::file::rotation::max_backups: must be >= 0"));
  EXPECT_THAT(parse("{path: o, sending_queue: {num_consumers: 0}}").errors,
              ElementsAre("exporters::file::sending_queue::num_consumers: must be between 1 and 1024"));
  // Refused while reading: a format or codec otlpd does not write.
  EXPECT_THAT(parse("{path: o, compression: gzip}").errors,
              ElementsAre("exporters::file::compression: 'gzip' is not supported (none, zstd)"));
  EXPECT_THAT(parse("{path: o, compression: zstd, compression_params: {level: 30}}").errors,
              ElementsAre("exporters::file::compression_params::level: 30 is not a level of zstd (1 to 22, or 0 for "
                          "the default)"));
  {
    auto zstd = parse("{path: o, compression: zstd}");
    ASSERT_THAT(zstd.errors, IsEmpty());
    EXPECT_EQ(zstd.config.compression.encoding, Encoding::zstd);
    EXPECT_EQ(zstd.config.file.framing, FileFraming::zstd_frames);
  }
  EXPECT_THAT(parse("{path: o, format: csv}").errors,
              ElementsAre("exporters::file::format: 'csv' is not one of: json, proto"));

  FileExporterConfig c;  // built in code
  c.file.path = "out";
  EXPECT_THAT(c.validate(), IsEmpty());
  c.file.rotation = FileRotationConfig{};
  c.file.rotation->max_megabytes = -1;
  c.flush_interval = 0ms;
  EXPECT_THAT(c.validate(), ElementsAre(ConfigProblem{"flush_interval", "must be greater than zero"},
                                        ConfigProblem{"rotation::max_megabytes", "must be > 0"}));
}

}  // namespace
}  // namespace otlpd
