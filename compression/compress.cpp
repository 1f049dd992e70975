#include "compression/compress.h"

#include <libdeflate.h>
#include <zstd.h>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace otlpd {

int CompressionSetting::effective_level() const {
  if (level != 0) return level;
  return encoding == Encoding::zstd ? 3 : 6;
}

std::string_view CompressionSetting::content_encoding() const {
  if (encoding == Encoding::zlib) return "deflate";  // HTTP's name for the zlib format
  return enabled() ? encoding_name(encoding) : std::string_view{};
}

bool parse_compression(std::string_view name, std::string_view allowed, Encoding* encoding, std::string* why) {
  const std::string_view given = name.empty() ? std::string_view("none") : name;
  bool listed = false;
  for (std::size_t at = 0; at <= allowed.size() && !listed;) {
    const std::size_t end = std::min(allowed.find(", ", at), allowed.size());
    listed = allowed.substr(at, end - at) == given;
    at = end + 2;
  }
  const std::optional<Encoding> e = given == "none" ? Encoding::identity : parse_encoding(given);
  if (!listed || !e) {
    *why = fmt::format("'{}' is not supported ({})", name, allowed);
    return false;
  }
  *encoding = *e;
  return true;
}

bool valid_compression_level(Encoding encoding, int level, std::string* why) {
  if (level == 0 || encoding == Encoding::identity) return true;
  const int max = encoding == Encoding::zstd ? ZSTD_maxCLevel() : 12;
  if (level >= 1 && level <= max) return true;
  *why = fmt::format("{} is not a level of {} (1 to {}, or 0 for the default)", level, encoding_name(encoding), max);
  return false;
}

struct Compressor::State {
  libdeflate_compressor* deflate = nullptr;
  ZSTD_CCtx* zstd = nullptr;
  ~State() {
    if (deflate) libdeflate_free_compressor(deflate);
    if (zstd) ZSTD_freeCCtx(zstd);
  }
};

Compressor::Compressor(CompressionSetting setting) : setting_(setting), state_(std::make_unique<State>()) {
  const int level = setting_.effective_level();
  if (setting_.encoding == Encoding::zstd) {
    state_->zstd = ZSTD_createCCtx();
    if (state_->zstd) ZSTD_CCtx_setParameter(state_->zstd, ZSTD_c_compressionLevel, level);
  } else if (setting_.enabled()) {
    state_->deflate = libdeflate_alloc_compressor(level);
  }
}

Compressor::~Compressor() = default;

bool Compressor::compress(std::string_view data, std::string* out) {
  const std::size_t at = out->size();
  switch (setting_.encoding) {
    case Encoding::identity:
      out->append(data);
      return true;
    case Encoding::zstd: {
      if (!state_->zstd) return false;
      out->resize(at + ZSTD_compressBound(data.size()));
      const std::size_t n = ZSTD_compress2(state_->zstd, out->data() + at, out->size() - at, data.data(), data.size());
      if (ZSTD_isError(n)) {
        out->resize(at);
        return false;
      }
      out->resize(at + n);
      return true;
    }
    case Encoding::gzip:
    case Encoding::zlib: {
      if (!state_->deflate) return false;
      const bool gzip = setting_.encoding == Encoding::gzip;
      const std::size_t bound = gzip ? libdeflate_gzip_compress_bound(state_->deflate, data.size())
                                     : libdeflate_zlib_compress_bound(state_->deflate, data.size());
      out->resize(at + bound);
      const std::size_t n =
          gzip ? libdeflate_gzip_compress(state_->deflate, data.data(), data.size(), out->data() + at, bound)
               : libdeflate_zlib_compress(state_->deflate, data.data(), data.size(), out->data() + at, bound);
      out->resize(at + n);
      return n > 0;
    }
    default:
      return false;
  }
}

Compressor& thread_compressor(CompressionSetting setting) {
  // A thread uses one or two settings (one per exporter it serves): a short list.
  thread_local std::vector<std::unique_ptr<Compressor>> compressors;
  for (const auto& c : compressors) {
    if (c->setting().encoding == setting.encoding && c->setting().effective_level() == setting.effective_level()) {
      return *c;
    }
  }
  return *compressors.emplace_back(std::make_unique<Compressor>(setting));
}

}  // namespace otlpd
