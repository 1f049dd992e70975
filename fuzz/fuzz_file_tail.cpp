// The file exporter's torn-tail repair (FileWriter::open with append: true) reads a file that a
// crash, a user or another program may have left in any state: JSON lines, length-prefixed
// protobuf records, or zstd frames (compression: zstd). Whatever the file holds, open() must
// either keep a prefix of it made of whole records (and then append after it) or refuse it,
// and never crash, loop or read past the file.
//
// Input: the first byte picks the framing, the rest is the file's content.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "exporters/file/file_writer.h"

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const fs::path path = fs::temp_directory_path() / ("otlpd-fuzz-file-tail-" + std::to_string(getpid()));
  const auto framing = static_cast<otlpd::FileFraming>(data[0] % 3);
  const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;

  otlpd::FileWriter writer({path.string(), true, framing, {}});
  std::string error;
  if (writer.open(&error)) {
    // What stays is a prefix of what was there.
    if (writer.size() > content.size() || writer.repaired_bytes() + writer.size() != content.size()) std::abort();
    if (!writer.write("x\n", &error)) std::abort();
    writer.close();
    std::ifstream in(path, std::ios::binary);
    const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (after.compare(0, after.size() - 2, content, 0, after.size() - 2) != 0) std::abort();
  } else if (error.empty()) {
    std::abort();  // a refusal says why
  }
  return 0;
}
