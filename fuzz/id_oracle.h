#pragma once

// An oracle for the fuzz targets, independent of the wire walker (otlp/wire_scan.cpp): the id
// lengths of a request that protobuf has decoded, read through the generated classes. The
// walker must agree with it on every input.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "otlp/request.h"

namespace otlpd::oracle {

template <typename Fn>
void for_each_id(Signal signal, const google::protobuf::Message& message, Fn&& check) {
  switch (signal) {
    case Signal::traces: {
      const auto& req = static_cast<const otlp::TracesRequest&>(message);
      for (int r = 0; r < req.resource_spans_size(); ++r) {
        const auto& rs = req.resource_spans(r);
        for (int s = 0; s < rs.scope_spans_size(); ++s) {
          const auto& ss = rs.scope_spans(s);
          for (int i = 0; i < ss.spans_size(); ++i) {
            const auto& span = ss.spans(i);
            auto where = [&](std::string_view field) {
              return fmt::format("resource_spans[{}].scope_spans[{}].spans[{}].{}", r, s, i, field);
            };
            if (!check(span.trace_id(), 16, where, "trace_id")) return;
            if (!check(span.span_id(), 8, where, "span_id")) return;
            if (!check(span.parent_span_id(), 8, where, "parent_span_id")) return;
            for (int l = 0; l < span.links_size(); ++l) {
              const std::string link = fmt::format("links[{}].", l);
              if (!check(span.links(l).trace_id(), 16, where, link + "trace_id")) return;
              if (!check(span.links(l).span_id(), 8, where, link + "span_id")) return;
            }
          }
        }
      }
      break;
    }
    case Signal::logs: {
      const auto& req = static_cast<const otlp::LogsRequest&>(message);
      for (int r = 0; r < req.resource_logs_size(); ++r) {
        const auto& rl = req.resource_logs(r);
        for (int s = 0; s < rl.scope_logs_size(); ++s) {
          const auto& sl = rl.scope_logs(s);
          for (int i = 0; i < sl.log_records_size(); ++i) {
            const auto& record = sl.log_records(i);
            auto where = [&](std::string_view field) {
              return fmt::format("resource_logs[{}].scope_logs[{}].log_records[{}].{}", r, s, i,
                                 field);
            };
            if (!check(record.trace_id(), 16, where, "trace_id")) return;
            if (!check(record.span_id(), 8, where, "span_id")) return;
          }
        }
      }
      break;
    }
    case Signal::metrics:
      break;  // exemplar ids are optional and otelcol does not reject them either
  }
}


// An empty string when every trace id is 16 bytes and every span id 8 (or empty), else which is not.
inline std::string validate_ids(Signal signal, const google::protobuf::Message& message) {
  std::string error;
  for_each_id(signal, message,
              [&](const std::string& id, std::size_t expected, auto&& where, std::string_view name) {
                if (id.empty() || id.size() == expected) return true;
                error = fmt::format("field {}: must be {} bytes or empty, got {}", where(name),
                                    expected, id.size());
                return false;
              });
  return error;
}

}  // namespace otlpd::oracle
