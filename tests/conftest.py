import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_CUT = ROOT / "tests" / "fixtures" / "valid_cut"


@pytest.fixture(scope="session")
def fixture_cut():
    from msc_analysis import load_cut

    return load_cut(FIXTURE_CUT)
