#include "otlp/json_encoder.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/stubs/strutil.h>

#include "json/json_writer.h"
#include "otlp/json_transcoder.h"

namespace otlpd {

namespace pb = google::protobuf;

namespace {

// Trace, span and parent span ids (in spans, links, log records and exemplars) are the only
// bytes fields OTLP names "*_id"; the JSON mapping writes those as hex.
bool is_id_field(const pb::FieldDescriptor* field) {
  const std::string& name = field->name();
  return name == "trace_id" || name == "span_id" || name == "parent_span_id";
}

void write_message(JsonWriter& w, const pb::Message& message);

void write_bytes(JsonWriter& w, const pb::FieldDescriptor* field, const std::string& bytes) {
  std::string encoded;
  if (is_id_field(field)) append_hex(encoded, bytes);
  else append_base64(encoded, bytes);
  w.string(encoded);
}

void write_scalar(JsonWriter& w, const pb::Message& m, const pb::Reflection* r,
                  const pb::FieldDescriptor* f, int index) {
  const bool rep = index >= 0;
  using FD = pb::FieldDescriptor;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32: w.number(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f)); break;
    case FD::CPPTYPE_UINT32: w.number(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f)); break;
    case FD::CPPTYPE_INT64: w.int64_string(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f)); break;
    case FD::CPPTYPE_UINT64: w.uint64_string(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f)); break;
    case FD::CPPTYPE_DOUBLE: w.number(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f)); break;
    case FD::CPPTYPE_FLOAT: w.number(static_cast<double>(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f))); break;
    case FD::CPPTYPE_BOOL: w.boolean(rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)); break;
    case FD::CPPTYPE_ENUM: w.number(static_cast<std::int64_t>(rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f))); break;
    case FD::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& value = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                     : r->GetStringReference(m, f, &scratch);
      if (f->type() == FD::TYPE_BYTES) write_bytes(w, f, value);
      else w.string(value);
      break;
    }
    case FD::CPPTYPE_MESSAGE:
      write_message(w, rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f));
      break;
  }
}

void write_message(JsonWriter& w, const pb::Message& message) {
  const pb::Reflection* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);  // set fields only, by field number
  w.begin_object();
  for (const pb::FieldDescriptor* field : fields) {
    w.key(field->json_name());
    if (field->is_repeated()) {
      w.begin_array();
      const int n = reflection->FieldSize(message, field);
      for (int i = 0; i < n; ++i) write_scalar(w, message, reflection, field, i);
      w.end_array();
    } else {
      write_scalar(w, message, reflection, field, -1);
    }
  }
  w.end_object();
}

}  // namespace

void append_otlp_json(std::string& out, const pb::Message& message) {
  JsonWriter writer(out);
  write_message(writer, message);
}

void append_otlp_json(std::string& out, const Request& request) {
  // Straight from the received bytes when there are any (no decoding); else from the message.
  const std::string_view wire = request.wire();
  if (!wire.empty() &&
      transcode_otlp_json(out, request.signal(), reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size())) {
    return;
  }
  append_otlp_json(out, request.message());
}

void append_otlp_json_lines(std::string& out, const Batch& batch) {
  for (const RequestPtr& request : batch.requests) {
    append_otlp_json(out, *request);
    out += '\n';
  }
}

void append_hex(std::string& out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + 2 * bytes.size());
  char* p = out.data() + at;
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    *p++ = kDigits[c >> 4];
    *p++ = kDigits[c & 0xf];
  }
}

std::string to_hex(std::string_view bytes) {
  std::string out;
  append_hex(out, bytes);
  return out;
}

void append_base64(std::string& out, std::string_view bytes) {
  std::string encoded;
  pb::Base64Escape(pb::StringPiece(bytes.data(), bytes.size()), &encoded);
  out += encoded;
}

}  // namespace otlpd
