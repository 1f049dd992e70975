// libFuzzer target: the OTLP/gRPC receive path without the socket, as OtlpGrpcServer's handler
// runs it. A message whose compressed flag is set goes through decompress_grpc_message() (the
// grpc-encoding gRPC's core read, or none: then zstd, snappy and lz4 are told by their magic
// numbers), in pieces as gRPC's slices, then through ingest() for a signal; a message without the
// flag goes to ingest() as it is.
// Input: byte 0 = bits 0-1 the algorithm (NONE, DEFLATE, GZIP; 3: not compressed), bits 2-3 the
// signal, bits 4-5 what the pipeline answers, bits 6-7 the size limit; byte 1 = how many of
// the following bytes are piece lengths; the rest is the message, cut into those pieces.
// Checked: the status is one the server may send, and says why when it is not OK; the output
// stays within the limit; every piece given to the decoder is released once; ingest's answer matches what the
// pipeline said; a request handed on has valid ids and the item count of what it decodes to.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/id_oracle.h"
#include "receiver/otlp/grpc_message.h"
#include "receiver/otlp/ingest.h"

using namespace otlpd;

namespace {

constexpr std::array<std::size_t, 4> kLimits = {64, 4096, 65536, 4 << 20};

enum class Answer { ok, refuse_admit, refuse_consume };

// Takes or refuses what it is told to, checking each request it is handed.
class CheckingSink final : public Consumer {
 public:
  ConsumeResult admit(Signal, std::size_t) noexcept override {
    return answer == Answer::refuse_admit ? ConsumeResult::retryable("full") : ConsumeResult::ok();
  }
  ConsumeResult consume(Batch&& batch) noexcept override {
    ++consumed;
    for (const auto& request : batch.requests) {
      if (request->signal() != batch.signal) std::abort();
      const google::protobuf::Message& message = request->message();
      if (!oracle::validate_ids(batch.signal, message).empty()) std::abort();  // ids were checked
      const std::size_t decoded_items = count_items(batch.signal, message);
      // The scan counts what is on the wire; protobuf keeps only the last of a oneof's members
      // (a metric's data), so for metrics it may count fewer.
      if (batch.signal == Signal::metrics ? decoded_items > request->item_count()
                                          : decoded_items != request->item_count()) {
        std::abort();
      }
    }
    return answer == Answer::refuse_consume ? ConsumeResult::too_large("too large") : ConsumeResult::ok();
  }
  Answer answer = Answer::ok;
  int consumed = 0;
};

struct Fixture {
  Fixture() { logger->set_level(spdlog::level::trace); }  // the debug messages get formatted too
  CheckingSink sink;
  ReceiverCounters counters;
  std::shared_ptr<spdlog::logger> logger =
      std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
};

// A copy in a heap block of exactly its size (ASan sees a read past it), owned as WireBytes are.
WireBytes exact_copy(std::string_view bytes) {
  std::shared_ptr<std::uint8_t[]> block(new std::uint8_t[std::max<std::size_t>(bytes.size(), 1)]);
  if (!bytes.empty()) std::memcpy(block.get(), bytes.data(), bytes.size());
  return WireBytes{block.get(), bytes.size(), block};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  if (size < 2) return 0;
  const int mode = data[0] & 3;
  const auto signal = static_cast<Signal>(((data[0] >> 2) & 3) % 3);
  fixture.sink.answer = static_cast<Answer>(((data[0] >> 4) & 3) % 3);
  fixture.sink.consumed = 0;
  const std::size_t limit = kLimits[data[0] >> 6];
  const std::size_t cuts = std::min<std::size_t>(data[1] & 15, size - 2);
  std::string_view rest(reinterpret_cast<const char*>(data + 2 + cuts), size - 2 - cuts);

  WireBytes bytes;
  if (mode == 3) {
    bytes = exact_copy(rest);  // not compressed: the message as it is
  } else {
    // gRPC's slices: blocks of their own, let go as the decoder releases them.
    std::vector<std::unique_ptr<char[]>> blocks;
    std::vector<std::string_view> pieces;
    for (std::size_t i = 0; i <= cuts; ++i) {
      const std::size_t n = i < cuts ? std::min<std::size_t>(data[2 + i], rest.size()) : rest.size();
      blocks.push_back(std::make_unique<char[]>(std::max<std::size_t>(n, 1)));
      if (n > 0) std::memcpy(blocks.back().get(), rest.data(), n);
      pieces.emplace_back(blocks.back().get(), n);
      rest.remove_prefix(n);
    }
    std::vector<int> released(pieces.size(), 0);
    const auto algorithm = static_cast<grpc_compression_algorithm>(mode);  // NONE, DEFLATE, GZIP
    std::string plain;
    const grpc::Status status = decompress_grpc_message(algorithm, pieces, limit, &plain, [&](std::size_t i) {
      if (i >= blocks.size() || released[i]++ != 0) std::abort();  // an unknown piece, or twice
      blocks[i].reset();
    });
    // Released once each by the decoder; an encoding otlpd cannot tell never reaches it.
    const int expected = status.error_code() == grpc::StatusCode::UNIMPLEMENTED ? 0 : 1;
    for (int r : released) {
      if (r != expected) std::abort();
    }
    if (plain.size() > limit) std::abort();
    if (!status.ok()) {
      const grpc::StatusCode code = status.error_code();
      if (code != grpc::StatusCode::UNIMPLEMENTED && code != grpc::StatusCode::INVALID_ARGUMENT &&
          code != grpc::StatusCode::RESOURCE_EXHAUSTED) {
        std::abort();
      }
      if (status.error_message().empty()) std::abort();
      return 0;
    }
    bytes = exact_copy(plain);
  }

  const ConsumeResult result = ingest(signal, std::move(bytes), fixture.sink, fixture.counters, *fixture.logger);
  switch (result.code) {
    case ConsumeResult::Code::ok:
      if (fixture.sink.answer == Answer::refuse_admit) std::abort();
      if (fixture.sink.answer == Answer::refuse_consume && fixture.sink.consumed > 0) std::abort();
      break;
    case ConsumeResult::Code::retryable:
      if (fixture.sink.answer != Answer::refuse_admit) std::abort();
      break;
    case ConsumeResult::Code::too_large:
      if (fixture.sink.answer != Answer::refuse_consume || fixture.sink.consumed != 1) std::abort();
      break;
    case ConsumeResult::Code::invalid:
      if (fixture.sink.answer == Answer::refuse_admit || fixture.sink.consumed != 0) std::abort();
      if (result.message.empty()) std::abort();  // a malformed request is told why
      break;
    case ConsumeResult::Code::permanent: std::abort();  // the sink never says that
  }
  return 0;
}
