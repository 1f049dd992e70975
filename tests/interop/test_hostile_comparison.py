"""Runs hostile_comparison.py (the hostile payloads of tests/hostile against the real otelcol
v0.159.0 and against otlpd, each probe on a fresh pair of processes) as a script, prints its
Markdown table, and checks that where the two answer differently, otlpd's answer is the safer
one. The rules:

1. otlpd never accepts what otelcol refuses: for every probe otelcol does not answer with
   success (gRPC OK, HTTP 2xx), otlpd does not either.
2. otlpd refuses what otelcol accepts only where listed in STRICTER, each with its reason:
   a new difference in that direction (a request otelcol takes and otlpd would turn away) fails
   until it is understood and listed.
3. otlpd answers every probe with a status (a gRPC status or an HTTP status line): never a
   connection reset without one, never silence until the client gives up. Where HTTP/2 itself
   refuses a probe (listed in GOAWAY, each with its reason), the answer is a GOAWAY with its
   error code.
4. otlpd's peak RSS growth during a probe is at most otelcol's + 12 MiB, three times gRPC's
   4 MiB message limit (what a bounded decompressor may hold at once: the received message,
   gRPC's own copy of it and the output up to the limit). For a gRPC deflate or lz4 bomb otelcol
   decompresses nothing (it has no such decompressor) while otlpd decompresses up to the limit;
   on HTTP, where both decompress up to 20 MiB, the margin is far below the limit. Not checked
   for a sanitized otlpd (ASan's quarantine keeps freed memory).
5. After every probe otlpd still serves a valid request on the same transport, and exits 0 on
   SIGTERM.

Answer times are reported, not checked. With INTEROP_REPORT_DIR set, the table is also written
there (hostile-comparison.md)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import selftel

OTELCOL_BIN = selftel.binary_from_env("OTELCOL_BIN")
OTLPD_BIN = os.environ.get("OTLPD_BIN", str(Path(__file__).resolve().parents[2] / "build" / "app" / "otlpd"))
pytestmark = pytest.mark.skipif(not OTELCOL_BIN, reason="OTELCOL_BIN is not set: run scripts/interop.sh")
SCRIPT = Path(__file__).resolve().parent / "hostile_comparison.py"
RSS_MARGIN_MIB = 12

# Probes otelcol accepts and otlpd refuses, on purpose (rule 2).
STRICTER = {
    "HTTP 10,000 headers (valid request)":
        "otlpd's HTTP parser (http_parser, HTTP_MAX_HEADER_SIZE) allows 80 KiB of request head, Go's "
        "net/http 1 MiB; 10,000 short headers are about 170 KB: refused with 400 before any body is read",
    "gRPC 10,000 headers (valid request)": "sent in 16 KiB frames, the header block is a HEADERS and 9 "
        "CONTINUATION frames; nghttp2 takes at most 8 (Debian's fix for CVE-2024-28182)",
}

# Probes HTTP/2 refuses before gRPC sees them: the GOAWAY error code otlpd answers with (rule 3).
GOAWAY = {"gRPC 10,000 headers (valid request)": "GOAWAY ENHANCE_YOUR_CALM"}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile-comparison")
    table, raw = out / "table.md", out / "results.json"
    run = subprocess.run([sys.executable, str(SCRIPT), str(table), "--json", str(raw), "--workdir", str(out / "work")],
                         env={**os.environ, "OTELCOL_BIN": OTELCOL_BIN, "OTLPD_BIN": OTLPD_BIN},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-5000:]
    text = table.read_text()
    assert run.stdout.strip().endswith(text.strip())  # printed as written
    print("\n" + text)
    report = os.environ.get("INTEROP_REPORT_DIR")
    if report:
        Path(report).mkdir(parents=True, exist_ok=True)
        (Path(report) / "hostile-comparison.md").write_text(text)
    result = json.loads(raw.read_text())
    assert len(result["rows"]) >= 20 and text.count("\n|") == len(result["rows"]) + 1
    return result


def accepted(a):
    return a["kind"] == "status" and (a["status"] == "OK" if a["transport"] == "grpc" else 200 <= a["status"] < 300)


def test_otlpd_never_accepts_what_otelcol_refuses(comparison):
    wrong = [(r["probe"], r["otelcol"]["status"], r["otlpd"]["status"]) for r in comparison["rows"]
             if not accepted(r["otelcol"]) and accepted(r["otlpd"])]
    assert not wrong, wrong


def test_otlpd_refuses_what_otelcol_accepts_only_where_listed(comparison):
    stricter = {r["probe"] for r in comparison["rows"] if accepted(r["otelcol"]) and not accepted(r["otlpd"])}
    assert stricter == set(STRICTER), {"unlisted": stricter - set(STRICTER), "no longer": set(STRICTER) - stricter}


def test_otlpd_answers_every_probe_with_a_status(comparison):
    def answered(r):
        if r["probe"] in GOAWAY:
            return r["otlpd"]["kind"] == "goaway" and r["otlpd"]["status"] == GOAWAY[r["probe"]]
        return r["otlpd"]["kind"] == "status" and r["otlpd"]["status"] is not None
    silent = [(r["probe"], r["otlpd"]["kind"], r["otlpd"]["seconds"]) for r in comparison["rows"] if not answered(r)]
    assert not silent, silent


def test_otlpd_peak_rss_growth_is_not_larger_than_otelcols_by_more_than_the_margin(comparison):
    if comparison["otlpd_sanitized"]:
        pytest.skip("sanitized otlpd: ASan's quarantine keeps freed memory")
    worse = [(r["probe"], r["otelcol"]["peak_rss_growth_mib"], r["otlpd"]["peak_rss_growth_mib"])
             for r in comparison["rows"]
             if r["otlpd"]["peak_rss_growth_mib"] is None
             or r["otlpd"]["peak_rss_growth_mib"] > (r["otelcol"]["peak_rss_growth_mib"] or 0) + RSS_MARGIN_MIB]
    assert not worse, worse


def test_otlpd_serves_after_every_probe_and_exits_cleanly(comparison):
    bad = [(r["probe"], r["otlpd"]["serves_after"], r["otlpd"]["exit_code"]) for r in comparison["rows"]
           if not r["otlpd"]["serves_after"] or r["otlpd"]["exit_code"] != 0]
    assert not bad, bad
