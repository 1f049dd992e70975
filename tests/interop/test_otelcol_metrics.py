"""otlpd's self-telemetry (/metrics, Prometheus text) side by side with the real OpenTelemetry
Collector v0.159.0: the same config (otlp receiver over gRPC and HTTP, memory_limiter, batch, nop
and an otlp exporter that fails, nop in metrics and logs), the same load from the Python SDK on
both (all three signals over both transports, plus malformed requests), then both /metrics are
scraped and compared for the families otlpd promises: the same family names, TYPEs, raw sample
names (so `_total` or unit suffixes show), label names, and for the receiver counters the same
values. Families otelcol has and otlpd does not promise are reported (stdout and
$SELFTEL_REPORT_DIR/otelcol-metrics-<level>.md), not failed.

Needs OTELCOL_BIN (bench/build_otelcol.sh; scripts/interop.sh sets it) and OTLPD_BIN."""
import os
import time
import urllib.request
from pathlib import Path

import pytest

import selftel

OTELCOL_BIN = selftel.binary_from_env("OTELCOL_BIN")
OTLPD_BIN = os.environ.get("OTLPD_BIN", str(Path(__file__).resolve().parents[2] / "build" / "app" / "otlpd"))
pytestmark = pytest.mark.skipif(not OTELCOL_BIN, reason="OTELCOL_BIN is not set: run scripts/interop.sh")

LOAD = {"grpc": {"spans": 300, "logs": 40, "counter_series": 5, "histogram_series": 3},
        "http": {"spans": 200, "logs": 30, "counter_series": 4, "histogram_series": 2}}
SIGNAL_ITEMS = {"spans": "spans", "log_records": "log_records", "metric_points": "metric_points"}

# The families otlpd promises (prefixes cover the per-signal families).
PROMISED_PREFIXES = (
    "otelcol_receiver_accepted_", "otelcol_receiver_refused_",
    "otelcol_exporter_sent_", "otelcol_exporter_send_failed_", "otelcol_exporter_enqueue_failed_",
)
PROMISED_EXACT = (
    "otelcol_exporter_queue_size", "otelcol_exporter_queue_capacity",
    "otelcol_processor_batch_batch_send_size", "otelcol_processor_batch_timeout_trigger_send",
    "otelcol_process_uptime", "otelcol_process_cpu_seconds", "otelcol_process_memory_rss",
)
# Label names that carry a collector's own identity. In otelcol v0.159.0 they appear only on
# target_info (service_instance_id, service_name, service_version), never on the families above,
# so nothing is ignored there; the list stays for target_info's report.
IDENTITY_LABELS = {"service_instance_id", "service_name", "service_version",
                   "service.instance.id", "service.name", "service.version"}
# the Accept header Prometheus 3.x sends by default
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                     "application/openmetrics-text;version=0.0.1;q=0.5,"
                     "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")


def promised(name):
    return name in PROMISED_EXACT or name.startswith(PROMISED_PREFIXES)


def config(level, grpc_port, http_port, metrics_port, closed_port):
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
processors:
  memory_limiter: {{check_interval: 1s, limit_mib: 512}}
  batch: {{}}
exporters:
  nop: {{}}
  otlp:
    endpoint: "127.0.0.1:{closed_port}"
    tls: {{insecure: true}}
    sending_queue: {{enabled: true}}
    retry_on_failure: {{enabled: true, initial_interval: 100ms, max_interval: 500ms, max_elapsed_time: 2s}}
service:
  telemetry:
    metrics:
      level: {level}
      readers: [{{pull: {{exporter: {{prometheus: {{host: 127.0.0.1, port: {metrics_port}}}}}}}}}]
  pipelines:
    traces: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop, otlp]}}
    metrics: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop]}}
    logs: {{receivers: [otlp], processors: [memory_limiter, batch], exporters: [nop]}}
"""


def scrape(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, dict(r.getheaders()), r.read().decode()


def run_collector(name, binary, level, workdir):
    """Starts `binary` with the shared config, sends LOAD and malformed requests, waits until the
    receiver counters show the load (and, bounded, until the failing exporter gave up), scrapes
    /metrics plainly and with Prometheus' Accept header, stops it."""
    grpc_port, http_port, metrics_port, closed_port = selftel.free_ports(4)
    proc = selftel.Process(binary, config(level, grpc_port, http_port, metrics_port, closed_port), workdir, name)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        proc.wait_ports([grpc_port, http_port, metrics_port])
        started = time.monotonic()
        sent = selftel.send_load(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}", LOAD)
        malformed = selftel.send_malformed(f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}")
        want_spans = sum(v["spans"] for v in sent.values())

        def received():
            fams = selftel.parse_raw(scrape(url)[2])
            for transport, counts in sent.items():
                for item, n in counts.items():
                    got = selftel.total(fams, f"otelcol_receiver_accepted_{item}", transport=transport)
                    if got != n:
                        return False
            return fams

        selftel.wait_until(received, 60, f"{name}'s receiver counters to show the load", proc.proc, proc.log_path)
        try:  # otelcol gives up after max_elapsed_time 2s; a collector that never does is reported
            selftel.wait_until(lambda: selftel.total(selftel.parse_raw(scrape(url)[2]),
                                                     "otelcol_exporter_send_failed_spans", exporter="otlp") == want_spans,
                               15, f"{name}'s otlp exporter to give up", proc.proc, proc.log_path)
        except AssertionError:
            pass
        time.sleep(1.2)  # one memory_limiter check_interval, so process metrics are fresh
        status, headers, text = scrape(url)
        p_status, p_headers, p_text = scrape(url, PROMETHEUS_ACCEPT)
        elapsed = time.monotonic() - started
    finally:
        proc.stop()
    (Path(workdir) / f"{name}-metrics.txt").write_text(text)
    (Path(workdir) / f"{name}-metrics.prometheus-accept.txt").write_text(p_text)
    return {"sent": sent, "malformed": malformed, "status": status, "headers": headers, "text": text,
            "families": selftel.parse_raw(text), "prom_headers": p_headers, "prom_text": p_text,
            "prom_families": selftel.parse_raw(p_text), "elapsed": elapsed, "log": proc.log()}


@pytest.fixture(scope="module", params=["basic", "normal", "detailed"])
def both(request, tmp_path_factory):
    level = request.param
    workdir = tmp_path_factory.mktemp(f"selftel-{level}")
    otelcol = run_collector("otelcol", OTELCOL_BIN, level, workdir)
    otlpd = run_collector("otlpd", OTLPD_BIN, level, workdir)
    return level, otelcol, otlpd


def label_names(fam):
    """{raw sample name: set of frozensets of label names} (le excluded for buckets)."""
    out = {}
    for sample, labels, _ in fam.samples:
        out.setdefault(sample, set()).add(frozenset(k for k in labels if k != "le"))
    return out


def compare_families(ref, got, names):
    """Differences between otelcol's (`ref`) and otlpd's (`got`) families `names`, as lines."""
    problems = []
    for name in sorted(names):
        r = ref[name]
        g = got.get(name)
        if g is None:
            alt = [n for n in got if n.startswith(name) or name.startswith(n)]
            problems.append(f"{name}: missing in otlpd (otelcol: TYPE {r.type}, samples "
                            f"{sorted(label_names(r))}); otlpd has similar: {alt}")
            continue
        if r.type != g.type:
            problems.append(f"{name}: TYPE expected {r.type!r}, got {g.type!r}")
        r_names, g_names = label_names(r), label_names(g)
        if set(r_names) != set(g_names):
            problems.append(f"{name}: sample names expected {sorted(r_names)}, got {sorted(g_names)}")
        for sample in sorted(set(r_names) & set(g_names)):
            r_sets = {tuple(sorted(s - IDENTITY_LABELS)) for s in r_names[sample]}
            g_sets = {tuple(sorted(s - IDENTITY_LABELS)) for s in g_names[sample]}
            if r_sets != g_sets:
                problems.append(f"{sample}: label names expected {sorted(r_sets)}, got {sorted(g_sets)}")
        if r.type == "histogram":
            r_le, g_le = bucket_bounds(r), bucket_bounds(g)
            if r_le != g_le:
                problems.append(f"{name}: bucket bounds (le) expected {r_le}, got {g_le}")
    return problems


def bucket_bounds(fam):
    return sorted({float(labels["le"]) for sample, labels, _ in fam.samples if sample.endswith("_bucket")})


def test_promised_families_names_types_labels(both):
    level, otelcol, otlpd = both
    ref = {n: f for n, f in otelcol["families"].items() if promised(n)}
    problems = compare_families(otelcol["families"], otlpd["families"], ref)
    # a promised family otlpd exposes under a name otelcol does not use (e.g. with _total)
    extra = sorted(n for n in otlpd["families"] if promised(n.removesuffix("_total")) and n not in otelcol["families"]
                   and n.removesuffix("_total") in ref)
    problems += [f"{n}: otlpd exposes it, otelcol has no such family" for n in extra]
    assert not problems, f"level {level}:\n" + "\n".join(problems)


def test_promised_families_with_prometheus_accept_header(both):
    """Prometheus 3 asks for escaping=allow-utf-8; otelcol then writes dotted label names quoted
    ("server.address", "otel.signal"). Compares what Prometheus would store."""
    level, otelcol, otlpd = both
    ref = {n: f for n, f in otelcol["prom_families"].items() if promised(n)}
    problems = compare_families(otelcol["prom_families"], otlpd["prom_families"], ref)
    r_ct = otelcol["prom_headers"].get("Content-Type")
    g_ct = otlpd["prom_headers"].get("Content-Type")
    if r_ct != g_ct:
        problems.append(f"Content-Type for Prometheus' Accept: expected {r_ct!r}, got {g_ct!r}")
    assert not problems, f"level {level}:\n" + "\n".join(problems)


def test_receiver_counters_same_values(both):
    level, otelcol, otlpd = both
    problems = []
    for item in ("spans", "metric_points", "log_records"):
        for kind in ("accepted", "refused"):
            name = f"otelcol_receiver_{kind}_{item}"
            for transport in ("grpc", "http"):
                want = selftel.total(otelcol["families"], name, receiver="otlp", transport=transport)
                got = selftel.total(otlpd["families"], name, receiver="otlp", transport=transport)
                if want != got:
                    problems.append(f"{name}{{receiver=otlp,transport={transport}}}: expected {want}, got {got}")
    assert not problems, f"level {level}:\n" + "\n".join(problems)
    # and otelcol's own counts are what the SDK sent (the reference itself is right)
    for transport, counts in otelcol["sent"].items():
        for item, n in counts.items():
            assert selftel.total(otelcol["families"], f"otelcol_receiver_accepted_{item}", transport=transport) == n


def test_content_type_and_valid_text(both):
    from prometheus_client.parser import text_string_to_metric_families
    level, otelcol, otlpd = both
    list(text_string_to_metric_families(otlpd["text"]))  # the official parser accepts it
    assert otlpd["status"] == 200
    assert otlpd["headers"].get("Content-Type") == otelcol["headers"].get("Content-Type")


def test_process_metrics_plausible(both):
    level, otelcol, otlpd = both
    fams = otlpd["families"]
    uptime = selftel.total(fams, "otelcol_process_uptime")
    cpu = selftel.total(fams, "otelcol_process_cpu_seconds")
    rss = selftel.total(fams, "otelcol_process_memory_rss")
    assert uptime is not None and 0 < uptime < otlpd["elapsed"] + 120, uptime
    assert cpu is not None and 0 < cpu < uptime * 4, cpu
    assert rss is not None and 1 << 20 < rss < 4 << 30, rss


def test_report_unpromised(both):
    """Never fails: writes what otelcol has that otlpd does not promise, and the values of the
    promised non-receiver families side by side."""
    level, otelcol, otlpd = both
    ref, got = otelcol["families"], otlpd["families"]
    lines = [f"# level {level}: otelcol v0.159.0 vs otlpd", "",
             "## families otelcol has that otlpd does not promise", ""]
    for n in sorted(ref):
        if promised(n):
            continue
        mark = "also in otlpd" if n in got else "not in otlpd"
        names = sorted({k for sets in label_names(ref[n]).values() for s in sets for k in s})
        lines.append(f"- {n} ({ref[n].type}, labels {names}): {mark}")
    lines += ["", "## families otlpd has that otelcol does not", ""]
    lines += [f"- {n} ({got[n].type})" for n in sorted(set(got) - set(ref))]
    lines += ["", "## HELP texts that differ (otelcol | otlpd)", ""]
    for n in sorted(set(ref) & set(got)):
        if ref[n].help != got[n].help:
            lines.append(f"- {n}: {ref[n].help!r} | {got[n].help!r}")
    lines += ["", "## promised families: series (label values) and values, otelcol | otlpd", ""]
    for n in sorted(x for x in ref if promised(x)):
        for side, fams in (("otelcol", ref), ("otlpd", got)):
            for sample, labels, value in (fams[n].samples if n in fams else []):
                if sample.endswith("_bucket"):
                    continue
                shown = {k: v for k, v in labels.items() if k != "server_port"}
                lines.append(f"- {side}: {sample}{shown} = {value}")
    lines += ["", f"malformed requests: otelcol {otelcol['malformed']}", f"otlpd {otlpd['malformed']}"]
    report = "\n".join(lines) + "\n"
    print(report)
    out = os.environ.get("SELFTEL_REPORT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / f"otelcol-metrics-{level}.md").write_text(report)
