import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
from otlpd_fixtures import start_otlpd  # noqa: E402,F401  (a fixture)
