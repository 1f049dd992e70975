import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from otlpd_process import Otlpd  # noqa: E402


@pytest.fixture
def start_otlpd(tmp_path):
    """start_otlpd(config_text, args=..., env=...) -> a running Otlpd; stopped after the test."""
    started = []

    def start(config_text=None, **kwargs):
        o = Otlpd(tmp_path, config_text, **kwargs)
        started.append(o)
        return o

    yield start
    for o in started:
        o.kill()


def read_json_lines(path):
    """Every line of an OTLP/JSON file; fails on a torn or invalid line."""
    text = Path(path).read_text()
    assert text == "" or text.endswith("\n"), "file does not end with a whole line"
    return [json.loads(line) for line in text.splitlines()]
