// libFuzzer target: the bounded decompression shared by both receivers (compression/), on its
// own. The first byte picks the encoding, the limit and whether a release callback is given; the
// second how many of the bytes after it are piece lengths; the rest is the compressed input, cut
// into those pieces (empty ones included) and the remainder, as gRPC hands over a message in
// slices. Each piece is a heap block of its own that is freed when the decoder releases it, so
// that ASan catches a read past a piece or of a piece after its release.
// Checked: the output never passes the limit; a refusal says why; every piece is released
// exactly once; a stream decoded in pieces decodes the same way in one piece (ok, with the same
// output, or not ok); an ok output of n bytes is too_large
// with a limit of n - 1 bytes.
#include <zstd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compression/decompress.h"

using namespace otlpd;

namespace {

constexpr std::array<Encoding, 8> kEncodings = {Encoding::identity, Encoding::gzip,          Encoding::zlib,
                                                Encoding::zstd,     Encoding::snappy,        Encoding::snappy_framed,
                                                Encoding::lz4,      Encoding::snappy};
// Around 0, the decoders' 64 KiB output steps and snappy's 64 KiB chunks.
constexpr std::array<std::size_t, 8> kLimits = {0, 1, 100, 4096, 65535, 65536, 65537, 300000};

// Copies of the input's pieces, each in a block of its own, freed on release.
class Pieces {
 public:
  Pieces(const std::uint8_t* lengths, std::size_t count, std::string_view rest) {
    for (std::size_t i = 0; i <= count; ++i) {
      const std::size_t n = i < count ? std::min<std::size_t>(lengths[i], rest.size()) : rest.size();
      add(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    released_.assign(blocks_.size(), 0);
  }

  std::span<const std::string_view> views() const { return views_; }
  std::string joined() const {
    std::string all;
    for (std::string_view v : views_) all.append(v);
    return all;
  }

  void release(std::size_t i) {
    if (i >= blocks_.size() || released_[i]++ != 0) std::abort();  // an unknown piece, or twice
    blocks_[i].reset();
  }
  bool all_released_once() const {
    for (int r : released_) {
      if (r != 1) return false;
    }
    return true;
  }

 private:
  void add(std::string_view piece) {
    // An empty piece gets a block of its own too, so that its pointer is distinct.
    auto block = std::make_unique<char[]>(std::max<std::size_t>(piece.size(), 1));
    if (!piece.empty()) std::memcpy(block.get(), piece.data(), piece.size());
    views_.emplace_back(block.get(), piece.size());
    blocks_.push_back(std::move(block));
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<std::string_view> views_;
  std::vector<int> released_;
};

void check(const Decompressed& d, const std::string& out, std::size_t limit) {
  if (out.size() > limit) std::abort();                                    // the bound holds
  if (d.code == Decompressed::Code::invalid && d.error.empty()) std::abort();  // a refusal says why
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Encoding encoding = kEncodings[data[0] & 7];
  const std::size_t limit = kLimits[(data[0] >> 3) & 7];
  const bool with_release = (data[0] & 0x40) == 0;
  const std::size_t cuts = std::min<std::size_t>(data[1] & 15, size - 2);
  const std::string_view rest(reinterpret_cast<const char*>(data + 2 + cuts), size - 2 - cuts);

  Pieces pieces(data + 2, cuts, rest);
  const std::string whole = pieces.joined();
  std::string out;
  const Decompressed d =
      with_release ? decompress(encoding, pieces.views(), limit, &out, [&](std::size_t i) { pieces.release(i); })
                   : decompress(encoding, pieces.views(), limit, &out);
  check(d, out, limit);
  if (with_release && !pieces.all_released_once()) std::abort();

  // The same stream in one piece.
  std::string again;
  const Decompressed one = decompress(encoding, whole, limit, &again);
  check(one, again, limit);
  const bool ok = d.code == Decompressed::Code::ok, ok_whole = one.code == Decompressed::Code::ok;
  if (ok != ok_whole) std::abort();
  if (!ok || !ok_whole) return 0;
  if (out != again) std::abort();

  // Just too small a limit.
  if (!out.empty()) {
    std::string smaller;
    const Decompressed d2 = decompress(encoding, whole, out.size() - 1, &smaller);
    check(d2, smaller, out.size() - 1);
    if (d2.code != Decompressed::Code::too_large) std::abort();
  }
  return 0;
}
