"""otlpd's trace viewer in a real browser: with the To-Do demo running, searching by the tag
http.target=/add finds the trace of adding a task, and its page shows the child spans."""
import json
import subprocess
import time
import urllib.request

from test_todo_demo import HERE, SCREENSHOTS, demo  # noqa: F401 (the fixture)


def test_viewer_finds_the_add_trace_by_tag(demo):  # noqa: F811
    SCREENSHOTS.mkdir(exist_ok=True)
    app = demo("viewer")
    app.wait_ready()
    title = "water the plants"
    drive = subprocess.run(["node", HERE / "drive_todo.mjs", app.url, SCREENSHOTS, title], cwd=HERE,
                           capture_output=True, text=True, timeout=120)
    assert drive.returncode == 0, drive.stderr
    viewer = f"http://127.0.0.1:{app.ports['DEMO_VIEWER_PORT']}"
    # The spans reach the store through the SDK's and otlpd's batching: wait for them (bounded).
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{viewer}/api/traces?service=todo&tag=http.target:/add", timeout=10) as r:
            found = json.load(r)["data"]
        if found and len(found[0]["spans"]) >= 2:
            break
        assert time.monotonic() < deadline, "the /add trace never reached the store"
        time.sleep(0.2)

    drive = subprocess.run(["node", HERE / "drive_viewer.mjs", f"{viewer}/", SCREENSHOTS, "http.target=/add",
                            "adding_task"], cwd=HERE, capture_output=True, text=True, timeout=120)
    assert drive.returncode == 0, drive.stderr
    page = json.loads(drive.stdout.strip().splitlines()[-1])
    assert page["pageErrors"] == []
    assert page["results"] == ["todo: POST /add"]  # only the trace that has the tag
    assert page["title"] == "todo: POST /add"
    rows = page["rows"]
    assert [(r["service"], r["operation"]) for r in rows] == [("todo", "POST /add"), ("todo", "adding_task")]
    assert rows[1]["indent"] > rows[0]["indent"]  # the child is nested under the request
    assert not any(r["error"] for r in rows)
    assert "todo.title" in page["detail"] and title in page["detail"] and "db.system" in page["detail"]
    for shot in ("4-viewer-search.png", "5-viewer-trace.png"):
        assert (SCREENSHOTS / shot).stat().st_size > 1000
    assert app.ctrl_c() in (0, 130)
