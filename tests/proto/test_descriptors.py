"""Our proto/ schema must match the official OTLP descriptors shipped in the Python package
opentelemetry-proto, field for field, for every message, enum and service."""
import importlib
import os
from pathlib import Path

from google.protobuf import descriptor_pb2

OFFICIAL = {
    "opentelemetry/proto/common/v1/common.proto": "opentelemetry.proto.common.v1.common_pb2",
    "opentelemetry/proto/resource/v1/resource.proto": "opentelemetry.proto.resource.v1.resource_pb2",
    "opentelemetry/proto/trace/v1/trace.proto": "opentelemetry.proto.trace.v1.trace_pb2",
    "opentelemetry/proto/metrics/v1/metrics.proto": "opentelemetry.proto.metrics.v1.metrics_pb2",
    "opentelemetry/proto/logs/v1/logs.proto": "opentelemetry.proto.logs.v1.logs_pb2",
    "opentelemetry/proto/collector/trace/v1/trace_service.proto": "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
    "opentelemetry/proto/collector/metrics/v1/metrics_service.proto": "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
    "opentelemetry/proto/collector/logs/v1/logs_service.proto": "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
}


def ours():
    path = os.environ.get("OTLPD_DESCRIPTOR_SET",
                          str(Path(__file__).resolve().parents[2] / "build" / "proto" / "otlp_descriptor_set.pb"))
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(Path(path).read_bytes())
    return {f.name: f for f in fds.file}


def official(name):
    proto = descriptor_pb2.FileDescriptorProto()
    importlib.import_module(OFFICIAL[name]).DESCRIPTOR.CopyToProto(proto)
    return proto


def shape(file):
    """Everything that defines the wire format and the generated API, as comparable data."""
    def enum(e):
        return (e.name, [(v.name, v.number) for v in e.value])

    def message(m):
        fields = []
        for f in m.field:
            oneof = m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None
            fields.append((f.name, f.number, f.type, f.label, f.type_name, oneof, f.proto3_optional, f.json_name))
        return {
            "name": m.name,
            "fields": sorted(fields, key=lambda x: x[1]),
            "oneofs": [o.name for o in m.oneof_decl],
            "nested": sorted((message(n) for n in m.nested_type), key=lambda x: x["name"]),
            "enums": sorted(enum(e) for e in m.enum_type),
        }

    return {
        "package": file.package,
        "syntax": file.syntax,
        "dependencies": sorted(file.dependency),
        "messages": sorted((message(m) for m in file.message_type), key=lambda x: x["name"]),
        "enums": sorted(enum(e) for e in file.enum_type),
        "services": [(s.name, [(x.name, x.input_type, x.output_type, x.client_streaming, x.server_streaming)
                               for x in s.method]) for s in file.service],
    }


def test_every_official_file_is_in_our_schema():
    assert set(OFFICIAL) <= set(ours())


def without_json_names(shape_dict):
    """The official descriptors copied from Python may omit json_name (it is derived from the
    field name anyway), so the comparison leaves it out."""
    def strip(msg):
        return {**msg, "fields": [f[:-1] for f in msg["fields"]], "nested": [strip(n) for n in msg["nested"]]}
    return {**shape_dict, "messages": [strip(m) for m in shape_dict["messages"]]}


def test_schema_matches_the_official_descriptors_field_for_field():
    mine = ours()
    for name in OFFICIAL:
        a, b = without_json_names(shape(mine[name])), without_json_names(shape(official(name)))
        assert a["messages"], name
        for key in ("package", "syntax", "dependencies", "enums", "services"):
            assert a[key] == b[key], f"{name}: {key}"
        assert [m["name"] for m in a["messages"]] == [m["name"] for m in b["messages"]], name
        for got, want in zip(a["messages"], b["messages"]):
            assert got == want, f"{name}: message {want['name']}"


def test_recent_fields_are_present():
    mine = ours()

    def find(file, *path):
        msgs = mine[file].message_type
        for part in path[:-1]:
            msg = next(x for x in msgs if x.name == part)
            msgs = msg.nested_type
        return msg

    span = find("opentelemetry/proto/trace/v1/trace.proto", "Span", "x")
    assert {f.name: f.number for f in span.field}["flags"] == 16
    link = next(n for n in span.nested_type if n.name == "Link")
    assert {f.name: f.number for f in link.field}["flags"] == 6
    record = find("opentelemetry/proto/logs/v1/logs.proto", "LogRecord", "x")
    assert {f.name: f.number for f in record.field}["event_name"] == 12
    resource = find("opentelemetry/proto/resource/v1/resource.proto", "Resource", "x")
    assert {f.name: f.number for f in resource.field}["entity_refs"] == 3
    metric = find("opentelemetry/proto/metrics/v1/metrics.proto", "Metric", "x")
    assert {f.name: f.number for f in metric.field}["metadata"] == 12
