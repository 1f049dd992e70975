#include "receiver/otlp/otlp_grpc_server.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "net/tcp_listener.h"
#include "receiver/otlp/grpc_message.h"
#include "receiver/otlp/ingest.h"

#include "opentelemetry/proto/collector/logs/v1/logs_service.grpc.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

// libgrpc 1.51 exports these (src/core/lib/surface/call_test_only.h) without declaring them in
// its public headers: the flags of the last message received on a call (bit 31: the message
// is compressed) and the algorithm its grpc-encoding names (GRPC_COMPRESS_NONE for a name
// gRPC's core does not know, whose text it does not keep). With per-message decompression off,
// they are how otlpd learns that a message is compressed, and with what.
std::uint32_t grpc_call_test_only_get_message_flags(grpc_call* call);
grpc_compression_algorithm grpc_call_test_only_get_compression_algorithm(grpc_call* call);

namespace otlpd {
namespace {

namespace collector = opentelemetry::proto::collector;

}  // namespace

std::size_t transport_memory_quota(std::int64_t max_recv_msg_size_mib) {
  return static_cast<std::size_t>(std::max<std::int64_t>(128, 32 * max_recv_msg_size_mib)) << 20;
}

// Decodes each Export call once and hands it to the signal's consumer.
class OtlpGrpcServer::Handler {
 public:
  Handler(SignalConsumers consumers, ReceiverCounters* counters, std::size_t max_message_bytes,
          std::shared_ptr<spdlog::logger> logger)
      : consumers_(consumers), counters_(counters), max_message_bytes_(max_message_bytes), logger_(std::move(logger)) {}

  // What the client hears for a result.
  static grpc::Status status_of(const ConsumeResult& result) {
    switch (result.code) {
      case ConsumeResult::Code::ok: return grpc::Status::OK;
      case ConsumeResult::Code::retryable: return {grpc::StatusCode::UNAVAILABLE, result.message};
      // Permanent: no RetryInfo, so a client following the OTLP specification does not retry.
      case ConsumeResult::Code::too_large: return {grpc::StatusCode::RESOURCE_EXHAUSTED, result.message};
      case ConsumeResult::Code::invalid:
      case ConsumeResult::Code::permanent: return {grpc::StatusCode::INVALID_ARGUMENT, result.message};
    }
    return grpc::Status::OK;
  }

  // Calls answered later (a persistent queue syncing): shutdown waits for them, because their
  // answer needs the completion queue.
  void deferred_begin() {
    std::lock_guard lock(deferred_mutex_);
    ++deferred_;
  }
  void deferred_end() {
    std::lock_guard lock(deferred_mutex_);
    if (--deferred_ == 0) deferred_cv_.notify_all();
  }
  void wait_deferred() {
    std::unique_lock lock(deferred_mutex_);
    deferred_cv_.wait(lock, [&] { return deferred_ == 0; });
  }

  // The answer to one call; with *pending set, the answer comes when it completes.
  grpc::Status handle(Signal signal, grpc::ServerContext& context, grpc::ByteBuffer& in, grpc::ByteBuffer* out,
                      std::shared_ptr<PendingResult>* pending) noexcept {
    WireBytes bytes;
    if (grpc_call_test_only_get_message_flags(context.c_call()) & kCompressedFlag) {
      // Decompressed from gRPC's slices as they are (no joining copy); each slice is let go
      // once read, and the request holds nothing more.
      std::vector<grpc::Slice> slices;
      if (!in.Dump(&slices).ok()) return {grpc::StatusCode::INTERNAL, "could not read the request body"};
      in.Clear();
      std::vector<std::string_view> pieces;
      for (const auto& slice : slices) pieces.emplace_back(reinterpret_cast<const char*>(slice.begin()), slice.size());
      auto plain = std::make_shared<std::string>();
      grpc::Status status =
          decompress_grpc_message(grpc_call_test_only_get_compression_algorithm(context.c_call()), pieces,
                                  max_message_bytes_, plain.get(), [&slices](std::size_t i) { slices[i] = grpc::Slice(); });
      if (!status.ok()) return status;
      bytes = WireBytes{reinterpret_cast<const std::uint8_t*>(plain->data()), plain->size(), plain};
    } else {
      // One contiguous, reference-counted slice (copied only if gRPC received it in pieces),
      // kept alive by the request for lazy decoding and byte forwarding.
      auto slice = std::make_shared<grpc::Slice>();
      if (!in.DumpToSingleSlice(slice.get()).ok()) {
        return {grpc::StatusCode::INTERNAL, "could not read the request body"};
      }
      in.Clear();
      bytes = WireBytes{slice->begin(), slice->size(), slice};
    }
    ConsumeResult result = ingest(signal, bytes, *consumer_for(consumers_, signal), *counters_, *logger_);
    if (!result.is_ok()) return status_of(result);
    // Full success: an empty Export*ServiceResponse (partial_success unset) is zero bytes.
    grpc::Slice empty;
    *out = grpc::ByteBuffer(&empty, 1);
    *pending = std::move(result.pending);
    return grpc::Status::OK;
  }

 private:
  static constexpr std::uint32_t kCompressedFlag = 0x80000000u;  // GRPC_WRITE_INTERNAL_COMPRESS

  SignalConsumers consumers_;  // pipeline entries: owned by the Service, which stops receivers first
  ReceiverCounters* counters_;  // owned by the OtlpReceiver, which outlives this server
  std::size_t max_message_bytes_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex deferred_mutex_;
  std::condition_variable deferred_cv_;
  std::size_t deferred_ = 0;
};

// One Export call: requested from gRPC, handled when it arrives, finished, then deleted.
// A completion-queue tag; only ever touched by the thread polling its queue.
class OtlpGrpcServer::Call {
 public:
  using RequestFn = void (*)(grpc::Service*, grpc::ServerContext*, grpc::ByteBuffer*,
                             grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>*,
                             grpc::ServerCompletionQueue*, void*);

  // Asks gRPC for the next call of this signal on `queue`.
  static void expect(Signal signal, grpc::Service* service, RequestFn request_fn,
                     grpc::ServerCompletionQueue* queue, Handler* handler) {
    auto* call = new Call(signal, service, request_fn, queue, handler);
    request_fn(service, &call->context_, &call->request_, &call->responder_, queue, call);
  }

  // Called with the completion of this call's current step.
  void proceed(bool ok) {
    if (finished_ || !ok) {  // finished, or cancelled / shutting down
      delete this;
      return;
    }
    expect(signal_, service_, request_fn_, queue_, handler_);  // keep one call waiting
    std::shared_ptr<PendingResult> pending;
    grpc::Status status = handler_->handle(signal_, context_, request_, &response_, &pending);
    finished_ = true;
    if (pending) {
      // Answered when the disk has it, from the thread that syncs (gRPC allows Finish from any
      // thread); this thread goes on polling, so that other calls share the same fdatasync.
      handler_->deferred_begin();
      pending->then([this](ConsumeResult result) {
        Handler* handler = handler_;  // `this` may be gone once Finish returns
        responder_.Finish(response_, Handler::status_of(result), this);
        handler->deferred_end();
      });
      return;
    }
    responder_.Finish(response_, status, this);
  }

 private:
  Call(Signal signal, grpc::Service* service, RequestFn request_fn, grpc::ServerCompletionQueue* queue,
       Handler* handler)
      : signal_(signal), service_(service), request_fn_(request_fn), queue_(queue), handler_(handler),
        responder_(&context_) {}

  Signal signal_;
  grpc::Service* service_;
  RequestFn request_fn_;
  grpc::ServerCompletionQueue* queue_;
  Handler* handler_;
  grpc::ServerContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  bool finished_ = false;
};

namespace {

template <typename Generated>
using RawExportService = typename Generated::template WithRawMethod_Export<typename Generated::Service>;

template <typename Generated>
void request_export(grpc::Service* service, grpc::ServerContext* context, grpc::ByteBuffer* request,
                    grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder,
                    grpc::ServerCompletionQueue* queue, void* tag) {
  static_cast<RawExportService<Generated>*>(service)->RequestExport(context, request, responder, queue, queue, tag);
}

constexpr OtlpGrpcServer::Call::RequestFn kRequestFns[3] = {
    &request_export<collector::trace::v1::TraceService>,
    &request_export<collector::metrics::v1::MetricsService>,
    &request_export<collector::logs::v1::LogsService>,
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Reads the PEM files and checks them with OpenSSL, because gRPC reports a bad certificate or
// key only as a failure to bind the port.
bool read_pem_files(const ServerTlsConfig& tls, std::string* cert, std::string* key, std::string* client_ca,
                    std::string* error) {
  *cert = read_file(tls.cert_file);
  *key = read_file(tls.key_file);
  if (!tls.client_ca_file.empty()) *client_ca = read_file(tls.client_ca_file);
  const auto bio = [](const std::string& pem) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                     &BIO_free);
  };
  std::unique_ptr<X509, decltype(&X509_free)> x509(PEM_read_bio_X509(bio(*cert).get(), nullptr, nullptr, nullptr),
                                                   &X509_free);
  if (!x509) {
    *error = fmt::format("cannot use cert_file '{}': not a PEM certificate", tls.cert_file);
    return false;
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(bio(*key).get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!pkey) {
    *error = fmt::format("cannot use key_file '{}': not a PEM private key", tls.key_file);
    return false;
  }
  if (X509_check_private_key(x509.get(), pkey.get()) != 1) {
    *error = fmt::format("key_file '{}' does not belong to cert_file '{}'", tls.key_file, tls.cert_file);
    return false;
  }
  if (!tls.client_ca_file.empty() &&
      !std::unique_ptr<X509, decltype(&X509_free)>(PEM_read_bio_X509(bio(*client_ca).get(), nullptr, nullptr, nullptr),
                                                   &X509_free)) {
    *error = fmt::format("cannot use client_ca_file '{}': not a PEM certificate", tls.client_ca_file);
    return false;
  }
  ERR_clear_error();
  return true;
}

}  // namespace

OtlpGrpcServer::OtlpGrpcServer(OtlpGrpcConfig config, SignalConsumers consumers,
                               ReceiverCounters* counters, std::shared_ptr<spdlog::logger> logger)
    : config_(std::move(config)),
      handler_(std::make_unique<Handler>(consumers, counters, config_.max_recv_msg_size_mib * 1024 * 1024, logger)),
      logger_(std::move(logger)) {
  if (consumer_for(consumers, Signal::traces)) {
    services_[0] = std::make_unique<RawExportService<collector::trace::v1::TraceService>>();
  }
  if (consumer_for(consumers, Signal::metrics)) {
    services_[1] = std::make_unique<RawExportService<collector::metrics::v1::MetricsService>>();
  }
  if (consumer_for(consumers, Signal::logs)) {
    services_[2] = std::make_unique<RawExportService<collector::logs::v1::LogsService>>();
  }
}

OtlpGrpcServer::~OtlpGrpcServer() { shutdown(); }

bool OtlpGrpcServer::start(std::string* error) {
  std::string host;
  int port = 0;
  if (!split_endpoint(config_.endpoint, &host, &port)) {
    *error = fmt::format("invalid endpoint '{}'", config_.endpoint);
    return false;
  }
  // ":4317" means every interface, as in otelcol.
  const std::string address = host.empty() ? fmt::format("0.0.0.0:{}", port) : config_.endpoint;

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (config_.tls) {
    grpc::SslServerCredentialsOptions options;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read_pem_files(*config_.tls, &pair.cert_chain, &pair.private_key, &options.pem_root_certs, error)) {
      *error = "OTLP/gRPC TLS: " + *error;
      return false;
    }
    options.pem_key_cert_pairs.push_back(std::move(pair));
    if (!config_.tls->client_ca_file.empty()) {
      options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    credentials = grpc::SslServerCredentials(options);
  }
  // otlpd listens and accepts itself and hands each connection to gRPC: gRPC 1.51's listener
  // stops accepting for good after an accept error such as EMFILE (issue 13), the accept loop
  // of TcpListener waits and accepts again. (And no SO_REUSEPORT, which gRPC sets by default:
  // a second collector on the same port must be an error, not take half of the traffic.)
  auto listener = std::make_unique<TcpListener>("OTLP/gRPC receiver", logger_);
  if (std::string why; !listener->bind(host, port, &why)) {
    *error = fmt::format("cannot listen for OTLP/gRPC on {}: {}", address, why);
    return false;
  }
  grpc::ServerBuilder builder;
  acceptor_ = builder.experimental().AddExternalConnectionAcceptor(
      grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, credentials);
  // otlpd decompresses messages itself (Handler::handle), bounded by max_recv_msg_size_mib:
  // gRPC's own decompression inflates a whole message before it checks its size.
  builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config_.max_recv_msg_size_mib * 1024 * 1024));
  // gRPC 1.51 checks a message's size only once it has arrived whole, and grants flow-control
  // window for all of it: a length prefix of 4 GiB followed by a trickle of bytes made it
  // buffer 64 MiB (and more, as long as the peer sent) without answering. A memory quota on
  // the receiver's transports bounds that: at the quota, gRPC closes idle connections, then
  // cancels streams ("Buffers full"). Its size leaves room for 32 messages of the largest size
  // in flight at once.
  grpc::ResourceQuota quota("otlpd OTLP/gRPC receiver " + config_.endpoint);
  quota.Resize(transport_memory_quota(config_.max_recv_msg_size_mib));
  builder.SetResourceQuota(quota);
  if (config_.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               static_cast<int>(config_.max_concurrent_streams));
  }
  for (auto& service : services_) {
    if (service) builder.RegisterService(service.get());
  }
  const int threads = config_.num_threads > 0 ? static_cast<int>(config_.num_threads)
                                              : 1;
  for (int i = 0; i < threads; ++i) queues_.push_back(builder.AddCompletionQueue());
  server_ = builder.BuildAndStart();
  if (!server_) {
    *error = fmt::format("cannot start the OTLP/gRPC server for {}", address);
    acceptor_.reset();
    for (auto& queue : queues_) queue->Shutdown();
    for (auto& queue : queues_) {
      void* tag;
      bool ok;
      while (queue->Next(&tag, &ok)) {
      }
    }
    queues_.clear();
    return false;
  }
  for (auto& queue : queues_) {
    // A few calls waiting per signal and queue, so that bursts need not wait for a re-arm.
    for (std::size_t s = 0; s < 3; ++s) {
      if (!services_[s]) continue;
      for (int i = 0; i < 4; ++i) {
        Call::expect(static_cast<Signal>(s), services_[s].get(), kRequestFns[s], queue.get(), handler_.get());
      }
    }
    threads_.emplace_back([this, q = queue.get()] { poll(q); });
  }
  listener_ = std::move(listener);
  bound_port_ = listener_->port();
  listener_->start(
      [acceptor = acceptor_.get()](int fd, int listener_fd) {
        grpc::experimental::ExternalConnectionAcceptor::NewConnectionParameters connection;
        connection.listener_fd = listener_fd;
        connection.fd = fd;
        acceptor->HandleNewConnection(&connection);  // gRPC owns fd from here
      },
      on_accept_state_);
  logger_->info("OTLP/gRPC receiver listening on {}{}", listener_->addresses(), config_.tls ? " (TLS)" : "");
  return true;
}

void OtlpGrpcServer::poll(grpc::ServerCompletionQueue* queue) noexcept {
  void* tag;
  bool ok;
  while (queue->Next(&tag, &ok)) static_cast<Call*>(tag)->proceed(ok);
}

void OtlpGrpcServer::shutdown() noexcept {
  if (!server_) return;
  listener_->stop();  // no new connections
  // New calls are refused; calls in flight get a grace period to finish handing their data
  // on. Then the queues drain (waiting calls come back cancelled and are deleted).
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  handler_->wait_deferred();  // their answers still go through the queues
  for (auto& queue : queues_) queue->Shutdown();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  server_.reset();
  acceptor_.reset();
  listener_.reset();
  queues_.clear();
}

}  // namespace otlpd
