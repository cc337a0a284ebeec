"""Monitoring history across looks: which cuts are looks, and the first crossing."""
import os
from types import SimpleNamespace

import pandas as pd

from msc_analysis.endpoints import monitoring_history as mh


def _cut(tmp_path, name, cutoff, study="S1"):
    return SimpleNamespace(path=tmp_path / name, cut_id=name, study_id=study, cutoff_date=pd.Timestamp(cutoff))


def _measure(probs):
    def measure(cut):
        p = probs[cut.cut_id]
        return dict(n_evaluable=5, n_toxicity=2, prob_exceeds_threshold=p, boundary_crossed=p >= 0.9,
                    mortality_n_evaluable=3, mortality_n_deaths=1, mortality_prob_exceeds_reference=0.5,
                    mortality_boundary_crossed=False)
    return measure


def test_only_earlier_cuts_of_the_same_study_are_looks(tmp_path):
    a, b, c = _cut(tmp_path, "a", "2020-09-15"), _cut(tmp_path, "b", "2020-10-30"), _cut(tmp_path, "c", "2020-12-30")
    other = _cut(tmp_path, "x", "2020-09-01", study="S2")
    looks = [("c", c), ("a", a), ("x", other), ("b", b)]
    h = mh.monitoring_history(b, looks, measure=_measure({"a": 0.95, "b": 0.5}))
    assert h["cut_id"].tolist() == ["a", "b"]
    assert h["current"].tolist() == [False, True]


def test_first_crossing_is_named(tmp_path):
    a, b, c = _cut(tmp_path, "a", "2020-09-15"), _cut(tmp_path, "b", "2020-10-30"), _cut(tmp_path, "c", "2020-12-30")
    h = mh.monitoring_history(c, [("a", a), ("b", b), ("c", c)], measure=_measure({"a": 0.5, "b": 0.92, "c": 0.1}))
    assert mh.first_crossing(h) == "b"
    assert mh.first_crossing(h, "mortality_boundary_crossed") is None


def test_unreadable_sibling_is_listed_not_fatal(tmp_path):
    a = _cut(tmp_path, "a", "2020-09-15")
    h = mh.monitoring_history(a, [("a", a), ("bad", "could not be read: subjects.csv row 2")],
                              measure=_measure({"a": 0.5}))
    assert h["status"].tolist() == ["read", "could not be read: subjects.csv row 2"]
    assert mh.first_crossing(h) is None


def test_sibling_cuts_skips_links_and_bad_names_and_reports_load_errors(tmp_path):
    root = tmp_path / "cuts"
    for name in ("cut-1", "cut-2", "bad name", "no-yaml"):
        (root / name).mkdir(parents=True)
    for name in ("cut-1", "cut-2", "bad name"):
        (root / name / "cut.yaml").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "cut.yaml").write_text("x")
    os.symlink(outside, root / "linked")

    def load(path):
        if path.name == "cut-2":
            raise ValueError("first problem\nsecond")
        return path.name

    got = mh.sibling_cuts(root / "cut-1", load)
    assert got == [("cut-1", "cut-1"), ("cut-2", "could not be read: first problem")]


def test_history_table_shows_unread_looks_in_words(tmp_path):
    from msc_analysis.report import monitoring_tables as mt
    a = _cut(tmp_path, "a", "2020-09-15")
    h = mh.monitoring_history(a, [("a", a), ("bad", "could not be read: x")], measure=_measure({"a": 0.95}))
    cells = mt.format_history(h)
    text = " ".join(cells.astype(str).to_numpy().ravel())
    assert "nan" not in text.lower() and "NaT" not in text and "<NA>" not in text
    assert cells.iloc[0, 5] == "crossed" and cells.iloc[0, 0] == "a (this cut)"
    assert mt.history_sentence("a", None).startswith("The toxicity boundary was first crossed at a.")
