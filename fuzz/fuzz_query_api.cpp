// libFuzzer target: the trace_store's Jaeger query API. The input is a request target (path
// and query string, as a client could send it) against a store holding a few traces; every
// answer must be a complete HTTP response whose body, for /api paths, is JSON simdjson accepts.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "extensions/jaeger_query/query_api.h"
#include "tracestore/trace_store.h"

using namespace otlpd;

namespace {

RequestPtr sample_request() {
  otlp::TracesRequest req;
  auto* rs = req.add_resource_spans();
  auto* kv = rs->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("todo");
  auto* ss = rs->add_scope_spans();
  ss->mutable_scope()->set_name("fuzz");
  for (int i = 0; i < 6; ++i) {
    auto* span = ss->add_spans();
    span->set_trace_id(std::string(15, '\x01') + static_cast<char>(i / 2));
    span->set_span_id(std::string(7, '\x02') + static_cast<char>(i));
    if (i % 2) span->set_parent_span_id(std::string(7, '\x02') + static_cast<char>(i - 1));
    span->set_name(i % 2 ? "adding_task" : "POST /add");
    span->set_kind(i % 2 ? opentelemetry::proto::trace::v1::Span::SPAN_KIND_INTERNAL
                         : opentelemetry::proto::trace::v1::Span::SPAN_KIND_SERVER);
    span->set_start_time_unix_nano(1'700'000'000'000'000'000ULL + static_cast<std::uint64_t>(i) * 1000);
    span->set_end_time_unix_nano(1'700'000'000'001'000'000ULL);
    auto* attr = span->add_attributes();
    attr->set_key("http.target");
    attr->mutable_value()->set_string_value("/add");
    auto* event = span->add_events();
    event->set_name("saved");
    span->mutable_status()->set_code(i == 3 ? opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR
                                            : opentelemetry::proto::trace::v1::Status::STATUS_CODE_UNSET);
  }
  auto bytes = std::make_shared<std::string>(req.SerializeAsString());
  std::string error;
  return Request::receive(Signal::traces,
                          WireBytes{reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size(), bytes}, &error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static TraceStore* store = [] {
    auto* s = new TraceStore(100, 1 << 20);
    s->add(sample_request());
    return s;
  }();
  static const QueryApi api(*store, "<!doctype html>");
  HttpRequest request;
  request.method = HTTP_GET;
  request.url.assign(reinterpret_cast<const char*>(data), size);
  std::string out;
  api.handle(request, &out);
  const std::size_t head_end = out.find("\r\n\r\n");
  if (out.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) std::abort();
  if (request.url.rfind("/api/", 0) == 0) {
    simdjson::dom::parser parser;
    simdjson::dom::element json;
    if (parser.parse(out.substr(head_end + 4)).get(json)) std::abort();  // always valid JSON
  }
  return 0;
}
