"""Nothing acknowledged is lost (issue 15): otlpd with a persistent sending queue (file_storage)
is SIGKILLed at random moments at least 20 times while clients keep sending and its backend is
down about a third of the time; every span it acknowledged must reach the backend in the end.

The harness is bench/crash_loop.py (also run against the OpenTelemetry Collector by
bench/compare_crash_loop.sh). CRASH_LOOP_SEED picks another schedule of kills and outages;
the seed is printed either way, so a failure can be replayed."""
import json
import os
import sys
from pathlib import Path

from otlpd_process import otlpd_binary

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import crash_loop  # noqa: E402

KILLS = 20


def test_sigkill_loop_with_backend_outages_loses_nothing_acknowledged(tmp_path):
    seed = int(os.environ.get("CRASH_LOOP_SEED", "15"))
    opts = crash_loop.Options(
        binary=otlpd_binary(),
        kills=KILLS,
        seed=seed,
        max_elapsed_time="0",   # retry forever: only a crash could lose data
        drain_timeout=90.0,     # keeps the test's wall time under ~3 minutes
        workdir=str(tmp_path / "crash_loop"),  # storage, config and the collector's log stay for a post-mortem
        label="otlpd",
    )
    report = crash_loop.run(opts)
    summary = crash_loop.summary(report)
    print(summary)
    print(f"duplicates: {report.get('duplicates')} (seed {seed})")

    details = f"{summary}\n{json.dumps(report, indent=1)}"
    assert report["error"] is None, details
    assert report["kills"] >= KILLS, details
    assert report["spans_acknowledged"] > 0, details
    # the queue was exercised: otlpd acknowledged spans it could not deliver at the time
    assert report["spans_acknowledged_while_backend_down"] > 0, details
    assert report["unknown_or_corrupt_spans"] == 0, details
    assert report["lost"] == 0, details
    assert report["drained"], details
    assert report["exit_code"] == 0, details
