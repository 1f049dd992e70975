"""The To-Do list of the talk: a Flask app on SQLite.

Run it alone (python app.py), with the SDK's console exporters, or pointed at otlpd
(../../scripts/demo.sh); the README's "The To-Do demo" walks through all three.

The OpenTelemetry parts are the API only: tracer, meter and logger come from whatever SDK
opentelemetry-instrument configured (none when run alone: then they do nothing).
"""
import logging
import os
import signal
import sqlite3
import sys

from flask import Flask, redirect, render_template, request, url_for
from opentelemetry import metrics, trace

app = Flask(__name__)
DATABASE = os.environ.get("TODO_DATABASE", os.path.join(os.path.dirname(os.path.abspath(__file__)), "todo.db"))

tracer = trace.get_tracer("todo")
meter = metrics.get_meter("todo")
tasks_added = meter.create_counter("tasks_added", unit="{task}", description="Tasks added to the list")

# Records go to the root logger's handlers: the console, and OTLP when logging
# auto-instrumentation is on (they then carry the trace and span ids of the request).
log = logging.getLogger("todo")
log.setLevel(logging.INFO)


def db():
    connection = sqlite3.connect(DATABASE)
    connection.execute("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL)")
    return connection


@app.route("/")
def index():
    with tracer.start_as_current_span("querying_tasks") as span:
        span.set_attribute("db.system", "sqlite")
        with db() as connection:
            tasks = connection.execute("SELECT id, title FROM tasks ORDER BY id").fetchall()
        span.set_attribute("todo.task_count", len(tasks))
    log.info("listed %d tasks", len(tasks))
    return render_template("index.html", tasks=tasks)


@app.route("/add", methods=["POST"])
def add():
    title = request.form.get("task", "").strip()
    if not title:
        log.warning("refused an empty task")
        return redirect(url_for("index"))
    with tracer.start_as_current_span("adding_task") as span:
        span.set_attribute("db.system", "sqlite")
        span.set_attribute("todo.title", title)
        with db() as connection:
            task_id = connection.execute("INSERT INTO tasks (title) VALUES (?)", (title,)).lastrowid
        span.set_attribute("todo.task_id", task_id)
    tasks_added.add(1)
    log.info("added task %d: %s", task_id, title)
    return redirect(url_for("index"))


@app.route("/delete/<int:task_id>")
def delete(task_id):
    with tracer.start_as_current_span("deleting_task") as span:
        span.set_attribute("db.system", "sqlite")
        span.set_attribute("todo.task_id", task_id)
        with db() as connection:
            deleted = connection.execute("DELETE FROM tasks WHERE id = ?", (task_id,)).rowcount
    log.info("deleted task %d", task_id) if deleted else log.warning("no task %d to delete", task_id)
    return redirect(url_for("index"))


if __name__ == "__main__":
    # Ctrl+C and `kill` both end the app through Python's shutdown, where the SDK exports what
    # it still holds (also when started with SIGINT ignored, as background jobs of scripts are).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app.run(host=os.environ.get("TODO_HOST", "127.0.0.1"), port=int(os.environ.get("TODO_PORT", "5000")),
            debug=False, use_reloader=False)
