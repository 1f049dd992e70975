// The module grpc_client: GrpcClientModule (grpc_client.h) with gRPC's C++ library. Built as a
// loadable module, not into otlpd.
#include <absl/synchronization/mutex.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "exporters/otlp/grpc_client.h"

namespace otlpd {
namespace {

// gRPC's core compresses a message with zlib at a fixed level (6), unless the message says it
// is already compressed: the write flag GRPC_WRITE_INTERNAL_COMPRESS (src/core/lib/transport/
// transport.h in gRPC 1.51), which the core accepts from callers and which makes its
// compression filter let the message through and the transport set its compressed flag. The
// C++ API has no setter for it, so the options are written as the core reads them: a uint32
// of flags first. otlpd compresses with libdeflate (2x faster than zlib at the same level and
// ratio, BM_Compress); the channel still announces gzip (grpc-encoding). The e2e and interop
// tests (an otlpd, Python's grpcio and otelcol as receivers) catch a gRPC whose layout differs.
constexpr std::uint32_t kWriteAlreadyCompressed = 0x80000000u;
static_assert(sizeof(grpc::WriteOptions) == 8, "grpc::WriteOptions is not {uint32_t flags; bool last}: check the gzip path");

grpc::WriteOptions already_compressed() {
  grpc::WriteOptions options;
  std::memcpy(static_cast<void*>(&options), &kWriteAlreadyCompressed, sizeof kWriteAlreadyCompressed);
  return options;
}

// One Export call: the request as one message, then the response and the status. (A unary
// method on the wire; the streaming API is the one whose writes take options.)
class ExportCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  ExportCall(grpc::GenericStub& stub, const char* method, grpc::ClientContext& context, const grpc::ByteBuffer& request,
             const grpc::WriteOptions& options) {
    stub.PrepareBidiStreamingCall(&context, method, grpc::StubOptions(), this);
    StartWriteLast(&request, options);
    StartRead(&response_);
    StartCall();
  }
  void OnReadDone(bool ok) override { got_response_ = ok; }
  void OnDone(const grpc::Status& status) override { done_.set_value(status); }

  // Waits for the call's end; the response, if the server sent one, is in *response.
  grpc::Status wait(grpc::ByteBuffer* response) {
    grpc::Status status = done_.get_future().get();
    if (got_response_) response->Swap(&response_);
    return status;
  }

 private:
  grpc::ByteBuffer response_;
  bool got_response_ = false;
  std::promise<grpc::Status> done_;
};

struct Channel {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
  bool gzip = false;
};

void* create_channel(const GrpcChannelConfig& config, std::string*) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: every
  // lock gRPC takes would update a global lock graph (GraphCycles, a few % of the CPU).
  static std::once_flag abseil;
  std::call_once(abseil, [] { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); });
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (config.insecure) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = config.ca_pem;
    tls.pem_cert_chain = config.cert_pem;
    tls.pem_private_key = config.key_pem;
    credentials = grpc::SslCredentials(tls);
  }
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  // gRPC's reconnect backoff grows to 120 s: after a long outage the backlog would wait up
  // to two minutes after the backend is back (measured: 127 s after a 5-minute outage).
  // Probe a down backend at most every 5 s instead.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (!config.server_name_override.empty()) args.SetSslTargetNameOverride(config.server_name_override);
  // Announces gzip (grpc-encoding); the messages are compressed by otlpd (already_compressed).
  if (config.gzip) args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  auto channel = std::make_unique<Channel>();
  channel->channel = grpc::CreateCustomChannel(config.target, credentials, args);
  channel->stub = std::make_unique<grpc::GenericStub>(channel->channel);
  channel->gzip = config.gzip;
  return channel.release();
}

void destroy_channel(void* channel) { delete static_cast<Channel*>(channel); }

GrpcCallOutcome call(void* opaque, const char* method, std::span<const std::string_view> body,
                     const std::map<std::string, std::string>& metadata, std::chrono::milliseconds timeout) {
  Channel& channel = *static_cast<Channel*>(opaque);
  std::vector<grpc::Slice> slices;
  slices.reserve(body.size());
  for (std::string_view piece : body) slices.emplace_back(piece.data(), piece.size(), grpc::Slice::STATIC_SLICE);
  const grpc::ByteBuffer request(slices.data(), slices.size());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
  grpc::ByteBuffer response;
  ExportCall export_call(*channel.stub, method, context, request,
                         channel.gzip ? already_compressed() : grpc::WriteOptions());
  const grpc::Status status = export_call.wait(&response);
  GrpcCallOutcome outcome;
  outcome.code = static_cast<int>(status.error_code());
  outcome.message = status.error_message();
  outcome.error_details = status.error_details();
  if (status.ok()) {
    if (std::vector<grpc::Slice> parts; response.Dump(&parts).ok()) {
      for (const auto& part : parts) outcome.response.append(reinterpret_cast<const char*>(part.begin()), part.size());
    }
  }
  return outcome;
}

const GrpcClientModule kApi{{OTLPD_MODULE_VERSION, GrpcClientModule::kApiName.data(), GrpcClientModule::kApiRevision},
                            &create_channel, &destroy_channel, &call};

}  // namespace
}  // namespace otlpd

OTLPD_MODULE_ENTRY(otlpd::kApi)
