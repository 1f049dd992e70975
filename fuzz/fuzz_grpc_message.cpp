// libFuzzer target: the OTLP/gRPC receive path without the socket, as OtlpGrpcServer runs it on
// a message the gRPC server hands over. A message whose compressed flag is set goes through
// decompress_grpc_message() with the grpc-encoding of its call, then through ingest() for a
// signal; a message without the flag goes to ingest() as it is.
// Input: byte 0 = bits 0-2 the grpc-encoding ("", gzip, deflate, zstd, snappy, lz4, br; 7: not
// compressed), bits 3-4 the signal, bits 5-6 what the pipeline answers; byte 1 = bits 0-1 the
// size limit; the rest is the message.
// Checked: the status is one the server may send, and says why when it is not OK; the output
// stays within the limit; ingest's answer matches what the pipeline said; a request handed on
// has valid ids and the item count of what it decodes to.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

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
  static constexpr std::string_view kEncodings[] = {"", "gzip", "deflate", "zstd", "snappy", "lz4", "br"};
  if (size < 2) return 0;
  const int mode = data[0] & 7;
  const auto signal = static_cast<Signal>(((data[0] >> 3) & 3) % 3);
  fixture.sink.answer = static_cast<Answer>(((data[0] >> 5) & 3) % 3);
  fixture.sink.consumed = 0;
  const std::size_t limit = kLimits[data[1] & 3];
  const std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  WireBytes bytes;
  if (mode == 7) {
    bytes = exact_copy(rest);  // not compressed: the message as it is
  } else {
    // The compressed message in a heap block of exactly its size.
    const WireBytes compressed = exact_copy(rest);
    std::string plain;
    const GrpcStatus status = decompress_grpc_message(
        kEncodings[mode], {reinterpret_cast<const char*>(compressed.data), compressed.size}, limit, &plain);
    if (plain.size() > limit) std::abort();
    if (!status.ok()) {
      if (status.code != GrpcCode::unimplemented && status.code != GrpcCode::invalid_argument &&
          status.code != GrpcCode::resource_exhausted) {
        std::abort();
      }
      if ((mode == 0 || mode == 6) != (status.code == GrpcCode::unimplemented)) std::abort();
      if (status.message.empty()) std::abort();
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
