"""Starts and stops a real otlpd process for the end-to-end tests."""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"OTLP/gRPC receiver listening on ([^\s]+):(\d+)")


def otlpd_binary() -> str:
    return os.environ.get("OTLPD_BIN", str(REPO / "build" / "app" / "otlpd"))


class Otlpd:
    """An otlpd child process. stderr (its log) is collected line by line; stdout goes to a file.

    Endpoints in test configs use port 0; the bound ports are read from the log lines.
    """

    def __init__(self, workdir: Path, config_text: str = None, args=(), env=None, limits=None):
        """limits: resource limits to start under, e.g. {"fsize": (soft, hard), "nofile": (soft, hard)},
        set by util-linux's prlimit, which then executes otlpd (same pid). Not a preexec_fn: a
        fork that runs Python code calls grpcio's fork handlers, which can wait forever on the
        test's own gRPC threads (CI hung in Popen)."""
        self.workdir = Path(workdir)
        self.stdout_path = self.workdir / "otlpd.stdout"
        cmd = [otlpd_binary()]
        if limits:
            cmd = ["prlimit", *(f"--{name}={soft}:{hard}" for name, (soft, hard) in limits.items()), "--", *cmd]
        if config_text is not None:
            self.config_path = self.workdir / "otlpd.yaml"
            self.config_path.write_text(config_text)
            cmd += ["--config", str(self.config_path)]
        cmd += list(args)
        # Self-telemetry serves localhost:8888 by default; tests run side by side, so unless a
        # test configures it itself, each otlpd serves its metrics on a free port (metrics_port()).
        configured = config_text is not None and ("readers:" in config_text or "address:" in config_text)
        if not configured and not any("telemetry" in str(a) for a in args):
            cmd.append("--set=service::telemetry::metrics::address=127.0.0.1:0")
        self._stdout = open(self.stdout_path, "wb")
        self.lines = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=self._stdout, stderr=subprocess.PIPE, cwd=self.workdir,
                                     env={**os.environ, **(env or {})})
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_log(self, pattern, start=0, timeout=60.0):
        """Returns the first match of `pattern` in log lines from index `start` on.

        The timeout is only an upper bound for a hung process; tests never sleep for it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    m = regex.search(line)
                    if m:
                        return m
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"otlpd exited ({self.proc.returncode}) before logging "
                                         f"{pattern!r}; log:\n" + "\n".join(self.lines))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"otlpd never logged {pattern!r}; log:\n" + "\n".join(self.lines))
                self._cond.wait(min(remaining, 0.5))

    def grpc_port(self, start=0) -> int:
        return int(self.wait_for_log(LISTENING.pattern, start).group(2))

    def http_port(self, start=0) -> int:
        return int(self.wait_for_log(r"OTLP/HTTP receiver listening on [^\s]+:(\d+)", start).group(1))

    def metrics_port(self, start=0) -> int:
        return int(self.wait_for_log(r"self-telemetry metrics listening on [^\s]+:(\d+)", start).group(1))

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port()}"

    def stop(self, timeout=60.0) -> int:
        """SIGTERM, then wait: otlpd drains its pipelines before it exits."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=10)
            self._stdout.close()
        return code

    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._stdout.close()


def file_pipeline_config(path, signals=("traces", "metrics", "logs"), extra_exporter="", grpc_extra=""):
    pipelines = "\n".join(
        f"    {s}:\n      receivers: [otlp]\n      exporters: [file{', ' + extra_exporter if extra_exporter else ''}]"
        for s in signals)
    return f"""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:0
{grpc_extra}
exporters:
  file:
    path: {path}
    flush_interval: 50ms
  debug:
    verbosity: basic
service:
  pipelines:
{pipelines}
"""


def free_port():
    """A port free now, below the kernel's ephemeral range: the tests running beside this one
    bind port 0, which the kernel answers from that range, so none of them can take this port
    before the process it is meant for binds it (a port picked by binding port 0 could be)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(1000):
        port = random.randrange(max(1024, low - 20000), low)
        if port in _PICKED:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _PICKED.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


_PICKED = set()  # handed out by free_port() in this process: never twice
