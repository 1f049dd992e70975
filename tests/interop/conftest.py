import importlib.util
import sys
from pathlib import Path

# Reuse the end-to-end tests' fixtures (start_otlpd) and helpers.
E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))
_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
_e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_e2e)
start_otlpd = _e2e.start_otlpd
