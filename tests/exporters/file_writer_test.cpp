#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "compression/compress.h"
#include "compression/decompress.h"
#include "exporters/file/file_writer.h"

namespace otlpd {
namespace {

namespace fs = std::filesystem;

class FileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("otlpd-fw-{}-{}", getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(FileWriterTest, TruncatesByDefaultAndAppendsWhenAsked) {
  const auto path = dir_ / "out.jsonl";
  std::ofstream(path) << "old\n";
  std::string error;
  {
    FileWriter w({path.string(), false, FileFraming::lines, {}});
    ASSERT_TRUE(w.open(&error)) << error;
    ASSERT_TRUE(w.write("a\n", &error));
  }
  EXPECT_EQ(read(path), "a\n");
  {
    FileWriter w({path.string(), true, FileFraming::lines, {}});
    ASSERT_TRUE(w.open(&error)) << error;
    ASSERT_TRUE(w.write("b\n", &error));
  }
  EXPECT_EQ(read(path), "a\nb\n");
}

TEST_F(FileWriterTest, AppendRepairsATornLastLine) {
  const auto path = dir_ / "out.jsonl";
  std::ofstream(path) << "{\"a\":1}\n{\"b\":2}\n{\"c\":";  // what a crash mid-write leaves
  FileWriter w({path.string(), true, FileFraming::lines, {}});
  std::string error;
  ASSERT_TRUE(w.open(&error)) << error;
  EXPECT_EQ(w.repaired_bytes(), 5u);
  ASSERT_TRUE(w.write("{\"d\":4}\n", &error));
  EXPECT_EQ(read(path), "{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n");
}

TEST_F(FileWriterTest, AppendRepairsATornLengthPrefixedRecord) {
  const auto path = dir_ / "out.pb";
  std::ofstream(path, std::ios::binary) << std::string("\0\0\0\x03" "abc" "\0\0\0\x09" "xy", 13);
  FileWriter w({path.string(), true, FileFraming::length_prefixed, {}});
  std::string error;
  ASSERT_TRUE(w.open(&error)) << error;
  EXPECT_EQ(w.repaired_bytes(), 6u);
  EXPECT_EQ(read(path), std::string("\0\0\0\x03" "abc", 7));
}

// compression: zstd. Each write is a frame; a frame cut short by a crash is cut off at the next
// append, and the file stays one valid zstd stream. A file that is not zstd is not cut.
TEST_F(FileWriterTest, AppendRepairsATornZstdFrameAndRefusesAFileThatIsNotZstd) {
  const auto path = dir_ / "out.jsonl.zst";
  Compressor zstd({Encoding::zstd, 0});
  std::string first, second;
  ASSERT_TRUE(zstd.compress("{\"a\":1}\n", &first));
  ASSERT_TRUE(zstd.compress(std::string(5000, 'b') + "\n", &second));
  std::ofstream(path, std::ios::binary) << first << second.substr(0, second.size() - 3);
  std::string error;
  {
    FileWriter w({path.string(), true, FileFraming::zstd_frames, {}});
    ASSERT_TRUE(w.open(&error)) << error;
    EXPECT_EQ(w.repaired_bytes(), second.size() - 3);
    ASSERT_TRUE(w.write(second, &error));
  }
  std::string text;
  const Decompressed d = decompress(Encoding::zstd, read(path), 1 << 20, &text);
  ASSERT_EQ(d.code, Decompressed::Code::ok) << d.error;
  EXPECT_EQ(text, "{\"a\":1}\n" + std::string(5000, 'b') + "\n");

  const auto plain = dir_ / "plain.jsonl";
  std::ofstream(plain) << "{\"a\":1}\n";
  FileWriter w({plain.string(), true, FileFraming::zstd_frames, {}});
  EXPECT_FALSE(w.open(&error));
  EXPECT_THAT(error, ::testing::HasSubstr("it is not a zstd stream from byte 0 on"));
  EXPECT_EQ(read(plain), "{\"a\":1}\n");  // untouched
}

TEST_F(FileWriterTest, RotatesAndKeepsMaxBackups) {
  const auto path = dir_ / "spans.jsonl";
  FileWriter w({path.string(), false, FileFraming::lines, FileRotationConfig{1, 0, 2, false}});
  std::string error;
  ASSERT_TRUE(w.open(&error)) << error;
  const std::string line = std::string(400 * 1024, 'x') + "\n";
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(w.write(line, &error)) << error;
  w.close();
  int backups = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (name == "spans.jsonl") continue;
    ++backups;
    EXPECT_THAT(name, ::testing::MatchesRegex(
                          R"(spans-[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}\.[0-9]{3}(\.[0-9]+)?\.jsonl)"));
    EXPECT_LE(fs::file_size(e.path()), 1024u * 1024u);
    EXPECT_EQ(fs::file_size(e.path()) % line.size(), 0u);  // whole lines only
  }
  EXPECT_EQ(backups, 2);
  EXPECT_EQ(fs::file_size(path) % line.size(), 0u);
}

// A full disk (here: the file size limit, which fails write() with EFBIG the same way ENOSPC
// does) must leave only whole lines in the file, and later writes that fit still succeed.
TEST_F(FileWriterTest, FailedWriteLeavesNoPartialRecord) {
  const auto path = dir_ / "full.jsonl";
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1000, 1000};
    setrlimit(RLIMIT_FSIZE, &limit);
    FileWriter w({path.string(), false, FileFraming::lines, {}});
    std::string error;
    if (!w.open(&error)) _exit(10);
    const std::string record = std::string(299, 'r') + "\n";
    int failures = 0;
    for (int i = 0; i < 5; ++i) {
      if (!w.write(record, &error)) {
        ++failures;
        if (error.find("File too large") == std::string::npos) _exit(11);
      }
    }
    if (!w.write("small\n", &error)) _exit(12);  // 900 + 6 <= 1000 still fits
    _exit(failures == 2 ? 0 : 13);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const std::string content = read(path);
  EXPECT_EQ(content.size(), 906u);
  EXPECT_EQ(content.back(), '\n');
  EXPECT_EQ(std::count(content.begin(), content.end(), '\n'), 4);
}

}  // namespace
}  // namespace otlpd
