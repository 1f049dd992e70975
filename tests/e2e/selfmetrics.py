"""Reads otlpd's (or otelcol's) /metrics: the Prometheus text format, parsed by hand."""
import re
import time
import urllib.error
import urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    def __init__(self, text, headers=None):
        self.text = text
        self.headers = headers or {}
        self.types = {}
        self.samples = []  # (name, {labels}, value)
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ", 3)
                self.types[name] = kind
            elif line and not line.startswith("#"):
                m = SAMPLE.match(line)
                assert m, f"not a Prometheus sample line: {line!r}"
                self.samples.append((m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))

    def value(self, name, **labels):
        """The sum of the samples of `name` whose labels include `labels` (None if there is none)."""
        found = [v for n, l, v in self.samples if n == name and all(l.get(k) == w for k, w in labels.items())]
        return sum(found) if found else None

    def names(self):
        return {n for n, _, _ in self.samples}


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return Metrics(response.read().decode(), dict(response.headers))


def wait_for_value(port, name, expected, timeout=60, **labels):
    """Scrapes until `name`{labels} == expected; the timeout only bounds a hung process."""
    deadline = time.monotonic() + timeout
    while True:
        metrics = scrape(port)
        if metrics.value(name, **labels) == expected:
            return metrics
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}{labels} is {metrics.value(name, **labels)}, expected {expected}:\n{metrics.text}")
        time.sleep(0.05)


def http_status(url, method="GET", data=None, headers=None):
    request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
