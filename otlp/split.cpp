#include "otlp/split.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>

namespace otlpd {
namespace {

namespace pb = google::protobuf;

// All three requests have the same shape, which this walks by field number:
//   request:  1 repeated Resource{Spans,Metrics,Logs}
//   resource: 1 resource, 2 repeated Scope{Spans,Metrics,Logs}, 3 schema_url
//   scope:    1 scope, 2 repeated items (Span / Metric / LogRecord), 3 schema_url
constexpr int kResources = 1, kScopes = 2, kItems = 2;

std::size_t item_cost(Signal signal, const pb::Message& item) {
  if (signal != Signal::metrics) return 1;
  return data_point_count(static_cast<const opentelemetry::proto::metrics::v1::Metric&>(item));
}

// Copies everything of `from` except its repeated children field into a new message.
pb::Message* add_header_copy(pb::Message* parent, int field_number, const pb::Message& from,
                             int children_field) {
  const pb::FieldDescriptor* field = parent->GetDescriptor()->FindFieldByNumber(field_number);
  pb::Message* copy = parent->GetReflection()->AddMessage(parent, field);
  const pb::Reflection* reflection = from.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(from, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->number() == children_field) continue;  // the children are distributed by the caller
    if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      copy->GetReflection()->MutableMessage(copy, f)->CopyFrom(reflection->GetMessage(from, f));
    } else if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      copy->GetReflection()->SetString(copy, f, reflection->GetString(from, f));
    }
  }
  return copy;
}

}  // namespace

std::pair<RequestPtr, RequestPtr> split_request(const Request& request, std::size_t items) {
  const Signal signal = request.signal();
  const pb::Message& src = request.message();
  std::unique_ptr<pb::Message> halves[2] = {std::unique_ptr<pb::Message>(src.New()),
                                            std::unique_ptr<pb::Message>(src.New())};
  const pb::Reflection* rr = src.GetReflection();
  const pb::FieldDescriptor* resources = src.GetDescriptor()->FindFieldByNumber(kResources);
  std::size_t taken = 0;
  for (int r = 0; r < rr->FieldSize(src, resources); ++r) {
    const pb::Message& resource = rr->GetRepeatedMessage(src, resources, r);
    const pb::Reflection* sr = resource.GetReflection();
    const pb::FieldDescriptor* scopes = resource.GetDescriptor()->FindFieldByNumber(kScopes);
    pb::Message* resource_copy[2] = {nullptr, nullptr};
    for (int s = 0; s < sr->FieldSize(resource, scopes); ++s) {
      const pb::Message& scope = sr->GetRepeatedMessage(resource, scopes, s);
      const pb::Reflection* ir = scope.GetReflection();
      const pb::FieldDescriptor* item_field = scope.GetDescriptor()->FindFieldByNumber(kItems);
      pb::Message* scope_copy[2] = {nullptr, nullptr};
      for (int i = 0; i < ir->FieldSize(scope, item_field); ++i) {
        const pb::Message& item = ir->GetRepeatedMessage(scope, item_field, i);
        const std::size_t cost = item_cost(signal, item);
        const int half = (taken == 0 || taken + cost <= items) && taken < items ? 0 : 1;
        if (half == 0) taken += cost;
        if (!resource_copy[half]) {
          resource_copy[half] = add_header_copy(halves[half].get(), kResources, resource, kScopes);
        }
        if (!scope_copy[half]) {
          scope_copy[half] = add_header_copy(resource_copy[half], kScopes, scope, kItems);
        }
        pb::Message* added = scope_copy[half]->GetReflection()->AddMessage(scope_copy[half], item_field);
        added->CopyFrom(item);
      }
    }
  }
  return {Request::adopt(signal, std::move(halves[0])), Request::adopt(signal, std::move(halves[1]))};
}

}  // namespace otlpd
