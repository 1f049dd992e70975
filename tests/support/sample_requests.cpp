#include "support/sample_requests.h"

#include "otlp/request.h"

namespace otlpd {

std::string rich_request(Signal signal, std::mt19937& rng) {
  auto id = [&](int n) {
    std::string s(static_cast<std::size_t>(n), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  auto attrs = [&](auto* msg) {
    auto* kv = msg->add_attributes();
    kv->set_key("k");
    auto* arr = kv->mutable_value()->mutable_array_value();
    arr->add_values()->set_string_value("naïve");
    arr->add_values()->set_int_value(-5);
    arr->add_values()->mutable_kvlist_value()->add_values()->set_key("inner");
  };
  switch (signal) {
    case Signal::traces: {
      otlp::TracesRequest r;
      auto* ss = r.add_resource_spans()->add_scope_spans();
      for (int i = 0; i < 3; ++i) {
        auto* s = ss->add_spans();
        s->set_trace_id(id(16));
        s->set_span_id(id(8));
        s->set_parent_span_id(id(8));
        s->set_name("span é");
        s->set_flags(0x301);
        attrs(s);
        s->add_events()->set_name("ev");
        s->add_links()->set_trace_id(id(16));
      }
      return r.SerializeAsString();
    }
    case Signal::metrics: {
      otlp::MetricsRequest r;
      auto* sm = r.add_resource_metrics()->add_scope_metrics();
      auto* h = sm->add_metrics()->mutable_histogram()->add_data_points();
      h->add_bucket_counts(1);
      h->add_bucket_counts(2);
      h->add_explicit_bounds(0.5);
      h->set_sum(3.5);
      attrs(h);
      auto* e = sm->add_metrics()->mutable_exponential_histogram()->add_data_points();
      e->mutable_positive()->add_bucket_counts(300);
      e->mutable_positive()->add_bucket_counts(1);
      auto* g = sm->add_metrics()->mutable_gauge()->add_data_points();
      g->set_as_double(1.5);
      g->add_exemplars()->set_trace_id(id(16));
      return r.SerializeAsString();
    }
    case Signal::logs: {
      otlp::LogsRequest r;
      auto* sl = r.add_resource_logs()->add_scope_logs();
      for (int i = 0; i < 2; ++i) {
        auto* l = sl->add_log_records();
        l->set_trace_id(id(16));
        l->set_span_id(id(8));
        l->mutable_body()->set_string_value("body");
        l->set_event_name("e");
        attrs(l);
      }
      return r.SerializeAsString();
    }
  }
  return {};
}


std::string mutate(std::string bytes, std::mt19937& rng) {
  const int mutations = 1 + static_cast<int>(rng() % 3);
  for (int m = 0; m < mutations && !bytes.empty(); ++m) {
    const std::size_t at = rng() % bytes.size();
    switch (rng() % 4) {
      case 0: bytes[at] = static_cast<char>(rng()); break;
      case 1: bytes[at] = static_cast<char>(bytes[at] ^ (1 << (rng() % 8))); break;
      case 2: bytes.resize(at); break;
      case 3: bytes.insert(at, 1, static_cast<char>(rng())); break;
    }
  }
  return bytes;
}

}  // namespace otlpd
