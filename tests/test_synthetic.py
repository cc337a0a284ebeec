"""Rules for the SYNTHETIC cut generator (``python -m msc_analysis.synthetic``)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from msc_analysis import load_cut
from msc_analysis.io.spec import TABLES, table_columns
from msc_analysis.synthetic import ROW_KEYS, cut_at, simulate_trial, write_cut
from msc_analysis.synthetic.__main__ import main

DEMO = ["cut-2020-09-15", "cut-2020-10-30", "cut-2020-12-30"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cuts")
    assert main(["demo", "--out", str(out)]) == 0
    return out


def _text_tables(folder) -> dict[str, pd.DataFrame]:
    """The cells of a cut folder exactly as written (strings; empty string = missing)."""
    return {t: pd.read_csv(folder / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


def corrected_values(earlier: dict, later: dict) -> list[tuple]:
    """Cells of the earlier cut whose value the later cut changed, other than follow-up updates.

    Rows are matched on :data:`ROW_KEYS`. A *follow-up update* is not a correction:
    ``discharged_on``, ``died_on`` or an adverse event's ``resolved_on`` that was empty and is
    now filled; ``last_known_alive_on`` that moved to a later date; an adverse event's grade
    4 -> 5 for a subject whose ``died_on`` was empty and is now filled. Every other changed
    cell is a corrected value. Returns ``(table, key, column, earlier, later)`` tuples.
    """
    died_now = set(later["subjects"].loc[later["subjects"]["died_on"] != "", "subject_id"])
    died_before = set(earlier["subjects"].loc[earlier["subjects"]["died_on"] != "", "subject_id"])
    changes = []
    for table in TABLES:
        key = list(ROW_KEYS[table])
        both = earlier[table].merge(later[table], on=key, how="inner", suffixes=("_e", "_l"))
        assert len(both) == len(earlier[table]), f"{table}: rows of the earlier cut are missing"
        for column in (c for c in earlier[table].columns if c not in key):
            e, lt = both[f"{column}_e"], both[f"{column}_l"]
            update = pd.Series(False, index=both.index)
            if column in ("discharged_on", "died_on", "resolved_on"):
                update = (e == "") & (lt != "")
            elif column == "last_known_alive_on":
                update = lt > e  # ISO dates compare as text
            elif table == "adverse_events" and column == "grade":
                newly_dead = both["subject_id"].isin(died_now - died_before)
                update = (e == "4") & (lt == "5") & newly_dead
            for i in both.index[(e != lt) & ~update]:
                changes.append((table, tuple(both.loc[i, key]), column, e[i], lt[i]))
    return changes


def test_same_seed_gives_byte_identical_files(tmp_path, monkeypatch):
    written = []
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        monkeypatch.chdir(tmp_path / run)
        assert main(["--subjects", "150", "--seed", "7", "--out", "cuts"]) == 0
        folder = tmp_path / run / "cuts" / "synthetic-n150-s7"
        written.append({p.name: p.read_bytes() for p in sorted(folder.iterdir())})
    assert set(written[0]) == {"cut.yaml", "README.md"} | {f"{t}.csv" for t in TABLES}
    assert written[0] == written[1]


def test_later_demo_cut_contains_every_subject_of_the_earlier_cut(demo_dir):
    ids = [set(_text_tables(demo_dir / c)["subjects"]["subject_id"]) for c in DEMO]
    assert ids[0] < ids[1] <= ids[2]


def test_each_later_demo_cut_corrects_exactly_one_value_named_in_its_description(demo_dir):
    for earlier, later in zip(DEMO, DEMO[1:]):
        changes = corrected_values(_text_tables(demo_dir / earlier), _text_tables(demo_dir / later))
        assert len(changes) == 1, changes
        table, key, column, was, now = changes[0]
        description = yaml.safe_load((demo_dir / later / "cut.yaml").read_text())["description"]
        assert f"{table}.{column}" in description and key[0] in description
        assert f"from {was} to {now}" in description


def test_mortality_at_60_days_among_treated_is_15_to_35_pct_for_2000_subjects():
    trial = simulate_trial(2000, seed=1)
    treated = trial["infusions"].merge(trial["subjects"][["subject_id", "died_on"]], on="subject_id")
    days = (treated["died_on"] - treated["infused_on"]).dt.days
    assert (days >= 1).sum() == days.notna().sum()  # nobody dies before their infusion
    assert 15 <= 100 * (days <= 60).mean() <= 35


@pytest.mark.parametrize("cut_id", DEMO)
def test_no_value_is_dated_after_the_cutoff(demo_dir, cut_id):
    cutoff = str(yaml.safe_load((demo_dir / cut_id / "cut.yaml").read_text())["cutoff_date"])
    tables = _text_tables(demo_dir / cut_id)
    for t in TABLES:
        for spec in table_columns(t):
            if spec.type in ("date", "datetime"):
                assert (tables[t][spec.column].str[:10] <= cutoff).all(), f"{t}.{spec.column}"


@pytest.mark.parametrize("cut_id", DEMO)
def test_description_and_readme_say_synthetic_and_give_the_command(demo_dir, cut_id):
    meta = yaml.safe_load((demo_dir / cut_id / "cut.yaml").read_text())
    assert meta["cut_id"] == cut_id and meta["study_id"] == "MSC-COVID19-HCPA"
    assert "SYNTHETIC" in meta["description"]
    assert meta["synthetic"] is True  # the key that puts the banner on the report
    readme = (demo_dir / cut_id / "README.md").read_text()
    assert "synthetic" in readme.lower()
    assert f"python -m msc_analysis.synthetic demo --out {demo_dir}" in readme


def test_write_cut_refuses_a_description_that_does_not_say_synthetic(tmp_path):
    tables = cut_at(simulate_trial(5, seed=1), "2020-12-30")
    with pytest.raises(ValueError, match="SYNTHETIC"):
        write_cut(tables, tmp_path, "x", "2020-12-30", "interim cut")


def test_write_cut_refuses_a_cut_id_that_could_become_a_path(tmp_path):
    tables = cut_at(simulate_trial(5, seed=1), "2020-12-30")
    with pytest.raises(ValueError, match="not a valid name"):
        write_cut(tables, tmp_path, "../x", "2020-12-30", "SYNTHETIC data")
    assert list(tmp_path.iterdir()) == []


def test_cut_at_does_not_modify_the_trial():
    trial = simulate_trial(100, seed=3)
    before = {name: frame.copy() for name, frame in trial.items()}
    cut_at(trial, dt.date(2020, 9, 1))
    for name, frame in trial.items():
        pd.testing.assert_frame_equal(frame, before[name])


@pytest.mark.parametrize("cut_id", DEMO)
def test_demo_cut_loads_and_enrolled_subjects_are_exactly_the_eligible(demo_dir, cut_id):
    subjects = load_cut(demo_dir / cut_id).subjects
    assert (subjects["eligible"] == subjects["enrolled"]).all()


def test_final_demo_cut_shows_every_screen_failure_reason(demo_dir):
    eligibility = load_cut(demo_dir / DEMO[-1]).eligibility
    assert set(eligibility.loc[~eligibility["met"], "criterion"]) == set(eligibility["criterion"])
