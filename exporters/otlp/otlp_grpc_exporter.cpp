#include "exporters/otlp/otlp_grpc_exporter.h"

#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cctype>
#include <cstring>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>

#include "exporters/common/network_options.h"
#include "exporters/otlp/otlp_response.h"
#include "google/rpc/status.pb.h"

namespace otlpd {
namespace {

constexpr const char* kMethods[3] = {
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
};

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The delay a server asked for in a google.rpc.RetryInfo detail, if any.
std::optional<std::chrono::milliseconds> retry_delay_of(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const auto& any : details.details()) {
    google::rpc::RetryInfo info;
    if (any.UnpackTo(&info)) {
      return std::chrono::milliseconds(info.retry_delay().seconds() * 1000 + info.retry_delay().nanos() / 1'000'000);
    }
  }
  return std::nullopt;
}

std::string hint_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return " (the backend did not accept the credentials: check exporters::<id>::headers, e.g. "
             "Authorization: \"Bearer ${env:TOKEN}\")";
    case grpc::StatusCode::PERMISSION_DENIED: return " (the credentials lack permission to write)";
    case grpc::StatusCode::UNIMPLEMENTED: return " (the endpoint does not accept this signal over OTLP/gRPC)";
    default: return "";
  }
}

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

class OtlpGrpcSender final : public BatchSender {
 public:
  OtlpGrpcSender(const OtlpGrpcExporterConfig& config, CreateSettings settings)
      : config_(config), settings_(std::move(settings)), retrier_(config.net.retry, settings_.logger, settings_.status) {}

  MetricLabels metric_labels(Signal) const override {
    const std::size_t colon = config_.target.rfind(':');
    return {{"server.address", config_.target.substr(0, colon)},
            {"server.port", colon == std::string::npos ? "" : config_.target.substr(colon + 1)}};
  }

  bool start(std::string* error) override {
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (config_.insecure) {
      credentials = grpc::InsecureChannelCredentials();
    } else {
      grpc::SslCredentialsOptions tls;
      for (auto [path, target] : {std::pair{&config_.ca_file, &tls.pem_root_certs},
                                  std::pair{&config_.cert_file, &tls.pem_cert_chain},
                                  std::pair{&config_.key_file, &tls.pem_private_key}}) {
        if (path->empty()) continue;
        auto text = read_text_file(*path);
        if (!text) {
          *error = fmt::format("cannot read TLS file '{}': {}", *path, std::strerror(errno));
          return false;
        }
        *target = *text;
      }
      credentials = grpc::SslCredentials(tls);
    }
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    // gRPC's reconnect backoff grows to 120 s: after a long outage the backlog would wait up
    // to two minutes after the backend is back (measured: 127 s after a 5-minute outage).
    // Probe a down backend at most every 5 s instead.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    if (!config_.server_name_override.empty()) {
      args.SetSslTargetNameOverride(config_.server_name_override);
    }
    // Announces gzip (grpc-encoding); the messages are compressed by otlpd (already_compressed).
    if (config_.net.compression.enabled()) args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
    channel_ = grpc::CreateCustomChannel(config_.target, credentials, args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    settings_.logger->info("exporting OTLP/gRPC to {} ({}{})", config_.target,
                           config_.insecure ? "insecure" : "TLS",
                           config_.net.compression.enabled()
                               ? fmt::format(", gzip level {}", config_.net.compression.effective_level())
                               : "");
    return true;
  }

  ConsumeResult send(const Batch& batch) noexcept override {
    // The body: every request's bytes, appended (protobuf merges them into one request).
    std::vector<grpc::Slice> slices;
    std::vector<std::string> encoded;  // for requests built in memory (no received bytes)
    encoded.reserve(batch.requests.size());
    for (const RequestPtr& request : batch.requests) {
      std::string_view wire = request->wire();
      if (wire.empty()) wire = encoded.emplace_back(request->message().SerializeAsString());
      slices.emplace_back(wire.data(), wire.size(), grpc::Slice::STATIC_SLICE);
    }
    grpc::ByteBuffer body;
    std::string compressed;
    if (config_.net.compression.enabled()) {
      // One buffer for the compressor (a copy, cheap beside the compression).
      std::string whole;
      for (const grpc::Slice& slice : slices) whole.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      if (!thread_compressor(config_.net.compression).compress(whole, &compressed)) {
        return ConsumeResult::permanent("gzip compression failed");
      }
      grpc::Slice slice(compressed.data(), compressed.size(), grpc::Slice::STATIC_SLICE);
      body = grpc::ByteBuffer(&slice, 1);
    } else {
      body = grpc::ByteBuffer(slices.data(), slices.size());
    }

    return retrier_.run([&]() -> ConsumeResult {
      grpc::ByteBuffer response;
      const grpc::Status status = call(batch.signal, body, &response);
      if (status.ok()) {
        std::string bytes;
        if (std::vector<grpc::Slice> parts; response.Dump(&parts).ok()) {
          for (const auto& part : parts) bytes.append(reinterpret_cast<const char*>(part.begin()), part.size());
        }
        if (auto [rejected, message] = partial_success(batch.signal, bytes); rejected > 0 || !message.empty()) {
          settings_.logger->warn("{} rejected {} of {} {} (partial success, not retried): {}", config_.target,
                                 rejected, batch.item_count(), item_name(batch.signal), message);
        }
        return ConsumeResult::ok();
      }
      const auto retry_info = retry_delay_of(status);
      std::string what = fmt::format("export to {} failed: {}: {}", config_.target, code_name(status.error_code()),
                                     status.error_message());
      std::string type = go_code_name(status.error_code());
      if (!otlp_retryable(status.error_code(), retry_info.has_value())) {
        return ConsumeResult::permanent(what + hint_for(status.error_code())).typed(std::move(type));
      }
      return ConsumeResult::retryable(std::move(what), retry_info).typed(std::move(type));
    });
  }

  void stop() noexcept override { retrier_.stop(); }
  void interrupt_retries() noexcept override { retrier_.stop(); }

 private:
  // The status code as Go's gRPC names it: otelcol's error.type for gRPC exporters.
  static std::string go_code_name(grpc::StatusCode code) {
    static constexpr const char* kNames[] = {
        "OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
        "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
        "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
    const auto i = static_cast<std::size_t>(code);
    return i < std::size(kNames) ? kNames[i] : std::to_string(i);
  }

  static std::string code_name(grpc::StatusCode code) {
    static constexpr const char* kNames[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    const auto i = static_cast<std::size_t>(code);
    return i < std::size(kNames) ? kNames[i] : std::to_string(i);
  }

  grpc::Status call(Signal signal, const grpc::ByteBuffer& body, grpc::ByteBuffer* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + config_.net.timeout);
    for (const auto& [key, value] : config_.net.headers) context.AddMetadata(key, value);
    ExportCall call(*stub_, kMethods[static_cast<std::size_t>(signal)], context, body,
                    config_.net.compression.enabled() ? already_compressed() : grpc::WriteOptions());
    return call.wait(response);
  }

  OtlpGrpcExporterConfig config_;
  CreateSettings settings_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  Retrier retrier_;
};

}  // namespace

bool otlp_retryable(int grpc_code, bool has_retry_info) {
  switch (static_cast<grpc::StatusCode>(grpc_code)) {
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return true;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return has_retry_info;
    default:
      return false;
  }
}

OtlpGrpcExporterConfig OtlpGrpcExporterConfig::parse(ConfigNode& node) {
  OtlpGrpcExporterConfig config;
  std::string endpoint = node.get_string("endpoint", "");
  // otelcol accepts a URL: http:// implies an insecure connection, https:// TLS.
  bool scheme_insecure = false;
  if (endpoint.rfind("http://", 0) == 0) {
    endpoint = endpoint.substr(7);
    scheme_insecure = true;
  } else if (endpoint.rfind("https://", 0) == 0) {
    endpoint = endpoint.substr(8);
  }
  if (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  config.target = endpoint;
  ConfigNode tls = node.child("tls");
  config.insecure = tls.get_bool("insecure", scheme_insecure);
  config.ca_file = tls.get_string("ca_file", "");
  config.cert_file = tls.get_string("cert_file", "");
  config.key_file = tls.get_string("key_file", "");
  config.server_name_override = tls.get_string("server_name_override", "");
  if (tls.get_bool("insecure_skip_verify", false)) {  // an option otlpd refuses, not a value it keeps
    tls.error("insecure_skip_verify", "is not supported; give the server's CA with ca_file instead");
  }
  tls.finish();
  config.net = NetworkExporterOptions::parse(node, std::chrono::seconds(5), "none, gzip");
  std::map<std::string, std::string> headers;
  for (const auto& [key, value] : config.net.headers) {
    std::string lower = key;  // gRPC metadata keys must be lowercase
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    headers[lower] = value;
  }
  config.net.headers = std::move(headers);
  node.finish();
  return config;
}

ConfigProblems OtlpGrpcExporterConfig::validate() const {
  ConfigProblems problems;
  if (target.empty()) {
    problems.push_back({"endpoint", "is required (host:port of the OTLP/gRPC server)"});
  } else if (target.find('/') != std::string::npos || target.rfind(':') == std::string::npos) {
    problems.push_back({"endpoint", fmt::format("'{}' is not host:port (a URL path is not used by OTLP/gRPC)", target)});
  }
  if (cert_file.empty() != key_file.empty()) problems.push_back({"tls::cert_file", "cert_file and key_file go together"});
  add_nested(problems, "", net.validate());
  // zstd is refused when parsed (gzip or none): gRPC 1.51's core cannot announce it.
  return problems;
}

std::unique_ptr<Exporter> OtlpGrpcExporterFactory::make(const CreateSettings& settings,
                                                        const OtlpGrpcExporterConfig& c) const {
  return std::make_unique<QueuedExporter>(settings, c.net.queue, std::make_unique<OtlpGrpcSender>(c, settings));
}

}  // namespace otlpd
