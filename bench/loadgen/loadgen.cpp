// otlpd-loadgen: sends pre-built OTLP trace or log requests (gRPC, HTTP/protobuf or HTTP/JSON)
// to any OTLP endpoint (otlpd, the OpenTelemetry Collector, Rotel, ...) at a fixed rate or as
// fast as possible, and reports what was accepted and refused, the export latency, and, given
// the collector's pid, its CPU time per million spans (or log records) and its peak RSS, read
// from /proc.
//
//   otlpd-loadgen --endpoint 127.0.0.1:4317 --rate 10000 --spans-per-request 100
//                 --span-bytes 145 --duration 30 --pid $(pidof otlpd) --json out.json
//   otlpd-loadgen --signal logs ...   (LogsService/Export, or /v1/logs over HTTP)
//
// With --signal logs, "spans" in the options and in the JSON keys stand for log records (the
// keys keep their names so that scripts read either; "signal" in the JSON says which).
#include <CLI/CLI.hpp>
#include <curl/curl.h>
#include <fmt/format.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "otlp/json_transcoder.h"
#include "loadgen/requests.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string endpoint = "127.0.0.1:4317";
  std::string signal = "traces";  // traces or logs
  std::string protocol = "grpc";  // grpc, http/protobuf or http/json
  double rate = 0;  // spans per second; 0: as fast as possible
  int spans_per_request = 100;
  int attributes = 3;
  int span_bytes = 0;  // pad spans to about this many bytes of protobuf; 0: no padding
  int connections = 4;
  int concurrency = 4;  // requests in flight per connection
  double duration = 10;
  double warmup = 2;
  int distinct_requests = 64;
  int pid = 0;
  std::string json_path;
  std::string label;
};

// `distinct_requests` distinct requests (different trace and span ids), serialized once.
std::vector<std::string> build_requests(const Options& o, bool logs, double* bytes_per_span) {
  std::mt19937_64 rng(42);
  const otlpd::loadgen::RequestShape shape{o.spans_per_request, o.attributes, o.span_bytes};
  std::vector<std::string> out;
  for (int r = 0; r < o.distinct_requests; ++r) {
    out.push_back(logs ? otlpd::loadgen::log_request(rng, shape) : otlpd::loadgen::trace_request(rng, shape));
  }
  *bytes_per_span = static_cast<double>(out[0].size()) / o.spans_per_request;
  return out;
}

struct ProcessSample {
  double cpu_seconds = 0;
  std::uint64_t rss_kib = 0, peak_rss_kib = 0, anon_rss_kib = 0;
  bool ok = false;
};

ProcessSample sample_process(int pid) {
  ProcessSample s;
  if (pid <= 0) return s;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return s;
  // Fields after the command name (which may contain spaces) start after the last ')'.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;  // utime + stime
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_kib = std::stoull(line.substr(6));
    if (line.rfind("RssAnon:", 0) == 0) s.anon_rss_kib = std::stoull(line.substr(8));
  }
  s.ok = true;
  return s;
}

// The machine's CPU time (/proc/stat's first line, in ticks): all of it, what was idle, and
// what the hypervisor gave to others (steal).
struct MachineSample {
  double total = 0, idle = 0, steal = 0;
};

MachineSample sample_machine() {
  MachineSample m;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;  // "cpu": user nice system idle iowait irq softirq steal ...
  double value = 0;
  for (int i = 0; i < 8 && stat >> value; ++i) {
    m.total += value;
    if (i == 3 || i == 4) m.idle += value;
    if (i == 7) m.steal += value;
  }
  return m;
}

struct Totals {
  std::uint64_t requests = 0, accepted_spans = 0, refused_spans = 0, failed_spans = 0;
  std::map<std::string, std::uint64_t> codes;
  std::vector<std::uint32_t> latencies_us;
};

// One connection's worth of load: claims request numbers from the shared counter at the
// configured rate, keeps up to `concurrency` of them in flight, and counts the outcomes.
class Worker {
 public:
  Worker(const Options& o, std::atomic<std::uint64_t>* issued, Clock::time_point start, Clock::time_point measure_from,
         Clock::time_point end)
      : o_(o), issued_(issued), start_(start), measure_from_(measure_from), end_(end) {}
  virtual ~Worker() = default;

  void run() {
    const auto interval = o_.rate > 0 ? std::chrono::duration<double>(o_.spans_per_request / o_.rate)
                                      : std::chrono::duration<double>(0);
    for (;;) {
      const auto now = Clock::now();
      bool sending = now < end_;
      // Claim and start calls that are due, up to the concurrency.
      while (sending && in_flight_ < o_.concurrency) {
        std::uint64_t n = issued_->load();
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(n));
        if (o_.rate > 0 && due > Clock::now()) break;
        if (!issued_->compare_exchange_weak(n, n + 1)) continue;
        start_call(n, Clock::now());
        ++in_flight_;
      }
      if (!sending && in_flight_ == 0) return;
      // Wait for completions, or until the next call is due.
      auto deadline = Clock::now() + std::chrono::milliseconds(50);
      if (o_.rate > 0 && sending) {
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(issued_->load()));
        deadline = std::min(deadline, std::max(due, Clock::now()));
      }
      wait(deadline);
    }
  }

  Totals totals;

 protected:
  enum class Outcome { ok, refused, failed };

  virtual void start_call(std::uint64_t n, Clock::time_point now) = 0;
  // Waits until `deadline` at most, calling finished() for every call that ended.
  virtual void wait(Clock::time_point deadline) = 0;

  void finished(Clock::time_point started, Outcome outcome, const std::string& code) {
    --in_flight_;
    const auto done = Clock::now();
    if (started < measure_from_ || started >= end_) return;
    ++totals.requests;
    const auto spans = static_cast<std::uint64_t>(o_.spans_per_request);
    switch (outcome) {
      case Outcome::ok:
        totals.accepted_spans += spans;
        totals.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(done - started).count()));
        break;
      case Outcome::refused: totals.refused_spans += spans; break;
      case Outcome::failed: totals.failed_spans += spans; break;
    }
    ++totals.codes[code];
  }

  const Options& o_;

 private:
  std::atomic<std::uint64_t>* issued_;
  Clock::time_point start_, measure_from_, end_;
  int in_flight_ = 0;
};

// OTLP/gRPC: one channel (TCP connection), calls on a completion queue.
class GrpcWorker final : public Worker {
 public:
  GrpcWorker(const Options& o, const std::vector<grpc::ByteBuffer>& requests, std::atomic<std::uint64_t>* issued,
             Clock::time_point start, Clock::time_point measure_from, Clock::time_point end)
      : Worker(o, issued, start, measure_from, end), requests_(requests) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per worker
    args.SetMaxSendMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(o.endpoint, grpc::InsecureChannelCredentials(), args);
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer response;
    grpc::Status status;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
    Clock::time_point started;
  };

  void start_call(std::uint64_t n, Clock::time_point now) override {
    auto* call = new Call();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    call->started = now;
    call->reader = stub_->PrepareUnaryCall(&call->context,
                                           o_.signal == "logs" ? "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
                                                               : "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                                           requests_[n % requests_.size()], &cq_);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
  }

  void wait(Clock::time_point deadline) override {
    void* tag;
    bool ok;
    const auto system_deadline = std::chrono::system_clock::now() + (deadline - Clock::now());
    if (cq_.AsyncNext(&tag, &ok, system_deadline) != grpc::CompletionQueue::GOT_EVENT) return;
    std::unique_ptr<Call> call(static_cast<Call*>(tag));
    const auto code = call->status.error_code();
    finished(call->started,
             call->status.ok() ? Outcome::ok
             : code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::RESOURCE_EXHAUSTED ? Outcome::refused
                                                                                                      : Outcome::failed,
             std::to_string(static_cast<int>(code)));
  }

  const std::vector<grpc::ByteBuffer>& requests_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue cq_;
};

// OTLP/HTTP (protobuf or JSON bodies): `concurrency` keep-alive connections driven by one
// libcurl multi handle (HTTP/1.1 has one request in flight per connection).
class HttpWorker final : public Worker {
 public:
  HttpWorker(const Options& o, const std::vector<std::string>& bodies, std::atomic<std::uint64_t>* issued,
             Clock::time_point start, Clock::time_point measure_from, Clock::time_point end)
      : Worker(o, issued, start, measure_from, end), bodies_(bodies), multi_(curl_multi_init()) {
    url_ = fmt::format("http://{}/v1/{}", o.endpoint, o.signal);
    headers_ = curl_slist_append(nullptr, o.protocol == "http/json" ? "Content-Type: application/json"
                                                                     : "Content-Type: application/x-protobuf");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
    for (int i = 0; i < o.concurrency; ++i) {
      CURL* easy = curl_easy_init();
      curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(easy, CURLOPT_TIMEOUT, 30L);
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
      idle_.push_back(easy);
    }
  }

  ~HttpWorker() override {
    for (auto& [easy, started] : busy_) {
      curl_multi_remove_handle(multi_, easy);
      idle_.push_back(easy);
    }
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_slist_free_all(headers_);
    curl_multi_cleanup(multi_);
  }

 private:
  void start_call(std::uint64_t n, Clock::time_point now) override {
    CURL* easy = idle_.back();
    idle_.pop_back();
    const std::string& body = bodies_[n % bodies_.size()];
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    busy_[easy] = now;
    curl_multi_add_handle(multi_, easy);
  }

  void wait(Clock::time_point deadline) override {
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    bool any = false;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      const CURLcode result = msg->data.result;
      curl_multi_remove_handle(multi_, easy);
      const auto started = busy_[easy];
      busy_.erase(easy);
      idle_.push_back(easy);
      any = true;
      finished(started,
               result == CURLE_OK && status == 200                 ? Outcome::ok
               : result == CURLE_OK && (status == 503 || status == 429) ? Outcome::refused
                                                                         : Outcome::failed,
               result == CURLE_OK ? fmt::format("http_{}", status) : fmt::format("curl_{}", static_cast<int>(result)));
    }
    if (any) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::max<std::int64_t>(ms, 0)), nullptr);
  }

  const std::vector<std::string>& bodies_;
  CURLM* multi_;
  std::string url_;
  curl_slist* headers_ = nullptr;
  std::vector<CURL*> idle_;
  std::map<CURL*, Clock::time_point> busy_;
};

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"otlpd-loadgen: OTLP trace or log load (gRPC or HTTP) against any OTLP endpoint", "otlpd-loadgen"};
  app.add_option("--signal", o.signal, "traces or logs (log records stand for spans in the other options and the JSON)")
      ->check(CLI::IsMember({"traces", "logs"}));
  app.add_option("--endpoint", o.endpoint, "host:port of the OTLP receiver (gRPC, or HTTP for http/*)");
  app.add_option("--protocol", o.protocol, "grpc, http/protobuf or http/json (as OTEL_EXPORTER_OTLP_PROTOCOL)")
      ->check(CLI::IsMember({"grpc", "http/protobuf", "http/json"}));
  app.add_option("--rate", o.rate, "spans per second; 0: as fast as possible");
  app.add_option("--spans-per-request,--records-per-request", o.spans_per_request)->check(CLI::Range(1, 100000));
  app.add_option("--attributes", o.attributes, "attributes per span (or log record)")->check(CLI::Range(0, 1000));
  app.add_option("--span-bytes,--record-bytes", o.span_bytes,
                 "pad each span (log record: its body) to about this many bytes (0: no padding)");
  app.add_option("--connections", o.connections, "gRPC connections, or HTTP workers (threads)")->check(CLI::Range(1, 256));
  app.add_option("--concurrency", o.concurrency, "requests in flight per gRPC connection, or keep-alive connections per HTTP worker")->check(CLI::Range(1, 1024));
  app.add_option("--duration", o.duration, "measured seconds");
  app.add_option("--warmup", o.warmup, "seconds of load before measuring");
  app.add_option("--distinct-requests", o.distinct_requests)->check(CLI::Range(1, 100000));
  app.add_option("--pid", o.pid, "the collector's pid: report its CPU time and RSS");
  app.add_option("--json", o.json_path, "also write the results as JSON to this file");
  app.add_option("--label", o.label, "a name for this run in the JSON");
  std::string write_batch;
  int batch_requests = 82;
  app.add_option("--write-batch", write_batch,
                 "write the payload as the batch processor exports it (--batch-requests requests in one, as "
                 "protobuf) to this file and exit: for measuring compression ratios");
  app.add_option("--batch-requests", batch_requests, "requests in that batch (82: 8200 spans at 100 per request)")
      ->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);

  double bytes_per_span = 0;
  const bool logs = o.signal == "logs";
  const std::vector<std::string> serialized = build_requests(o, logs, &bytes_per_span);
  if (!write_batch.empty()) {
    // Concatenated requests are one request holding all their resources (a repeated field).
    std::ofstream file(write_batch, std::ios::binary | std::ios::trunc);
    for (int i = 0; i < batch_requests; ++i) file << serialized[static_cast<std::size_t>(i) % serialized.size()];
    return file.good() ? 0 : 1;
  }
  std::vector<grpc::ByteBuffer> requests;
  std::vector<std::string> bodies;
  if (o.protocol == "grpc") {
    for (const std::string& bytes : serialized) {
      grpc::Slice slice(bytes);
      requests.emplace_back(&slice, 1);
    }
  } else if (o.protocol == "http/json") {
    for (const std::string& bytes : serialized) {
      bodies.emplace_back();
      otlpd::transcode_otlp_json(bodies.back(), logs ? otlpd::Signal::logs : otlpd::Signal::traces,
                                 reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
  } else {
    bodies = serialized;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const auto start = Clock::now();
  const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  std::atomic<std::uint64_t> issued{0};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.connections; ++i) {
    if (o.protocol == "grpc") {
      workers.push_back(std::make_unique<GrpcWorker>(o, requests, &issued, start, measure_from, end));
    } else {
      workers.push_back(std::make_unique<HttpWorker>(o, bodies, &issued, start, measure_from, end));
    }
  }
  ProcessSample before, self_before;
  MachineSample machine_before;
  std::thread sampler([&] {
    std::this_thread::sleep_until(measure_from);
    before = sample_process(o.pid);
    self_before = sample_process(getpid());
    machine_before = sample_machine();
  });
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  for (auto& t : threads) t.join();
  sampler.join();
  const ProcessSample after = sample_process(o.pid);
  const ProcessSample self_after = sample_process(getpid());
  const MachineSample machine_after = sample_machine();

  Totals all;
  for (auto& w : workers) {
    all.requests += w->totals.requests;
    all.accepted_spans += w->totals.accepted_spans;
    all.refused_spans += w->totals.refused_spans;
    all.failed_spans += w->totals.failed_spans;
    for (auto& [code, n] : w->totals.codes) all.codes[code] += n;
    all.latencies_us.insert(all.latencies_us.end(), w->totals.latencies_us.begin(), w->totals.latencies_us.end());
  }
  const double p50 = percentile(all.latencies_us, 0.50), p99 = percentile(all.latencies_us, 0.99);
  const double accepted_rate = static_cast<double>(all.accepted_spans) / o.duration;
  const double refused_rate = static_cast<double>(all.refused_spans) / o.duration;

  std::string json = fmt::format(
      R"({{"label":"{}","signal":"{}","endpoint":"{}","protocol":"{}","target_rate_spans_per_s":{},"spans_per_request":{},"bytes_per_span":{:.0f},)"
      R"("connections":{},"concurrency":{},"duration_s":{},"requests":{},"accepted_spans_per_s":{:.0f},)"
      R"("refused_spans_per_s":{:.0f},"failed_spans":{},"latency_p50_ms":{:.3f},"latency_p99_ms":{:.3f})",
      o.label, o.signal, o.endpoint, o.protocol, o.rate, o.spans_per_request, bytes_per_span, o.connections, o.concurrency, o.duration,
      all.requests, accepted_rate, refused_rate, all.failed_spans, p50, p99);
  std::string codes;
  for (auto& [code, n] : all.codes) codes += fmt::format("{}\"{}\":{}", codes.empty() ? "" : ",", code, n);
  json += fmt::format(R"(,"status_codes":{{{}}})", codes);
  const char* items = logs ? "log records" : "spans";
  const char* item = logs ? "record" : "span";
  fmt::print("{} {}/s accepted, {} {}/s refused, {} failed {}; {} requests, {:.0f} bytes/{}; "
             "latency p50 {:.2f} ms, p99 {:.2f} ms\n",
             static_cast<std::uint64_t>(accepted_rate), items, static_cast<std::uint64_t>(refused_rate), items,
             all.failed_spans, items, all.requests, bytes_per_span, item, p50, p99);
  if (before.ok && after.ok) {
    const double cpu = after.cpu_seconds - before.cpu_seconds;
    const double cpu_per_million = all.accepted_spans ? cpu / (static_cast<double>(all.accepted_spans) / 1e6) : 0;
    const double core_percent = 100.0 * cpu / o.duration;
    json += fmt::format(R"(,"collector_cpu_seconds":{:.3f},"collector_cpu_percent_of_core":{:.2f},)"
                        R"("collector_cpu_seconds_per_million_spans":{:.3f},"collector_rss_mib":{:.1f},)"
                        R"("collector_peak_rss_mib":{:.1f},"collector_anon_rss_mib":{:.1f})",
                        cpu, core_percent, cpu_per_million, after.rss_kib / 1024.0, after.peak_rss_kib / 1024.0,
                        after.anon_rss_kib / 1024.0);
    fmt::print("collector: {:.2f}% of a core, {:.3f} CPU-s per million {}, RSS {:.1f} MiB (peak {:.1f} MiB, "
               "anonymous {:.1f} MiB)\n",
               core_percent, cpu_per_million, items, after.rss_kib / 1024.0, after.peak_rss_kib / 1024.0,
               after.anon_rss_kib / 1024.0);
  }
  // Where the collector shares the machine with this load generator, its CPU per span at
  // saturation depends on how the two split the cores: the load generator's own CPU and the
  // machine's idle and stolen time tell whether they were all in use.
  const double ticks = machine_after.total - machine_before.total;
  if (self_before.ok && self_after.ok && ticks > 0) {
    const double self_percent = 100.0 * (self_after.cpu_seconds - self_before.cpu_seconds) / o.duration;
    const double idle = 100.0 * (machine_after.idle - machine_before.idle) / ticks;
    const double steal = 100.0 * (machine_after.steal - machine_before.steal) / ticks;
    json += fmt::format(R"(,"loadgen_cpu_percent_of_core":{:.2f},"machine_idle_percent":{:.2f},)"
                        R"("machine_steal_percent":{:.2f})",
                        self_percent, idle, steal);
    fmt::print("load generator: {:.2f}% of a core; the machine's cores {:.1f}% idle, {:.1f}% stolen\n", self_percent,
               idle, steal);
  }
  json += "}\n";
  if (!o.json_path.empty()) std::ofstream(o.json_path) << json;
  return all.failed_spans == 0 ? 0 : 2;
}
