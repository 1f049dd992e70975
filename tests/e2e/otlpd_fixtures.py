"""The start_otlpd fixture, shared by the end-to-end and the hostile-input suites."""
import pytest

from otlpd_process import Otlpd


@pytest.fixture
def start_otlpd(tmp_path):
    """start_otlpd(config_text, args=..., env=...) -> a running Otlpd; stopped after the test."""
    started = []

    def start(config_text=None, **kwargs):
        workdir = tmp_path / f"otlpd-{len(started)}"  # each instance its own config and stdout
        workdir.mkdir()
        o = Otlpd(workdir, config_text, **kwargs)
        started.append(o)
        return o

    yield start
    for o in started:
        o.kill()
