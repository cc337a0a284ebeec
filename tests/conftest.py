import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_CUT = ROOT / "tests" / "fixtures" / "valid_cut"


@pytest.fixture(scope="session")
def demo_reports(tmp_path_factory):
    """``run-all data/cuts --force`` once for the whole session: the reports of the three demo cuts
    (pages, results, alerts and the PDF packet), as a board would receive them."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("demo-reports")
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run-all", str(ROOT / "data" / "cuts"),
                           "--out", str(out), "--force"], capture_output=True, text=True)
    assert proc.returncode == 0, f"run-all on the demo cuts failed:\n{proc.stdout}\n{proc.stderr}"
    return out


@pytest.fixture(scope="session")
def fixture_cut():
    from msc_analysis import load_cut

    return load_cut(FIXTURE_CUT)
