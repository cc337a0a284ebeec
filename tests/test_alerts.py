"""Safety alerts: a boundary crossing, new deaths and severe events, failed pages come first."""
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from msc_analysis.run.alerts import build_alerts

from .conftest import ROOT

CLI = [sys.executable, "-m", "msc_analysis.cli"]


def _results(crossed: int) -> pd.DataFrame:
    return pd.DataFrame({"measure": ["toxicity_rate_exceeds_threshold_prob", "monitoring_boundary_crossed",
                                     "toxicity_subjects"],
                         "estimate": [0.901, crossed, 2], "n": [5, 5, 5]})


def _events(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["event", "subject_id", "date", "days_since_infusion", "detail"])


AES = pd.DataFrame({"subject_id": ["S01", "S02", "S03"], "term": ["Sepsis", "Nausea", "Headache"],
                    "onset_on": pd.to_datetime(["2020-08-10", "2020-08-11", "2020-08-12"]),
                    "grade": [4, 3, 1], "serious": [True, False, False], "days_since_infusion": [8, 9, 10]})
NEW_AES = _events(("adverse event", "S01", pd.Timestamp("2020-08-10"), 8, "Sepsis, grade 4"),
                  ("adverse event", "S02", pd.Timestamp("2020-08-11"), 9, "Nausea, grade 3"),
                  ("adverse event", "S03", pd.Timestamp("2020-08-12"), 10, "Headache, grade 1"))


def _kinds(alerts):
    return [a["kind"] for a in alerts]


def test_a_first_crossing_says_it_is_the_first_time_since_the_previous_cut():
    [alert] = build_alerts("cut-b", _results(1), previous_cut_id="cut-a", previous_results=_results(0))
    assert alert["kind"] == "boundary_crossed" and alert["cut_id"] == "cut-b"
    assert "first time" in alert["message"] and "cut-a" in alert["message"]
    assert "2 of 5 evaluable" in alert["message"] and "0.901" in alert["message"]


def test_a_crossing_already_seen_at_the_previous_cut_says_so():
    [alert] = build_alerts("cut-b", _results(1), previous_cut_id="cut-a", previous_results=_results(1))
    assert "already crossed at the previous cut cut-a" in alert["message"]
    assert "first time" not in alert["message"]


def test_a_new_death_names_the_subject_and_day():
    events = _events(("death", "S07", pd.Timestamp("2020-09-06"), 4, ""),
                     ("discharge", "S08", pd.Timestamp("2020-09-06"), 5, ""))
    [alert] = build_alerts("cut-b", _results(0), previous_cut_id="cut-a", new_events=events)
    assert alert["kind"] == "new_deaths" and alert["subjects"] == ["S07"]
    assert "S07 (day 4)" in alert["message"] and "since the previous cut cut-a" in alert["message"]


def test_a_new_serious_adverse_event_is_an_alert_of_its_own():
    alerts = build_alerts("cut-b", _results(0), previous_cut_id="cut-a", new_events=NEW_AES, adverse_events=AES)
    sae = next(a for a in alerts if a["kind"] == "new_serious_adverse_events")
    assert sae["subjects"] == ["S01"] and "S01 Sepsis, grade 4 (day 8)" in sae["message"]


def test_a_new_grade_3_event_alerts_and_grade_1_does_not():
    alerts = build_alerts("cut-b", _results(0), previous_cut_id="cut-a", new_events=NEW_AES, adverse_events=AES)
    severe = next(a for a in alerts if a["kind"] == "new_grade3_adverse_events")
    assert severe["subjects"] == ["S02"] and "S02 Nausea, grade 3 (day 9)" in severe["message"]
    assert not any("S03" in a["subjects"] for a in alerts)


def test_an_adverse_event_known_before_is_not_new():
    alerts = build_alerts("cut-b", _results(0), new_events=NEW_AES.iloc[:0], adverse_events=AES)
    assert alerts == []


def test_a_failed_page_is_an_alert():
    [alert] = build_alerts("cut-b", _results(0), failed_pages=["08_safety"])
    assert alert["kind"] == "failed_pages" and "08_safety" in alert["message"]


def test_no_crossing_no_new_events_no_failure_means_no_alerts():
    assert build_alerts("cut-b", _results(0), previous_cut_id="cut-a", new_events=_events(),
                        adverse_events=AES, failed_pages=[]) == []


def test_the_inputs_are_not_modified():
    events, aes, results = NEW_AES.copy(), AES.copy(), _results(1)
    build_alerts("cut-b", results, new_events=events, adverse_events=aes)
    pd.testing.assert_frame_equal(events, NEW_AES)
    pd.testing.assert_frame_equal(aes, AES)
    pd.testing.assert_frame_equal(results, _results(1))


@pytest.fixture(scope="module")
def crossing_run(tmp_path_factory):
    """The real notebooks on the demo cut where the boundary is crossed, run once."""
    tmp = tmp_path_factory.mktemp("alerts")
    cut = shutil.copytree(ROOT / "data" / "cuts" / "cut-2020-09-15", tmp / "cuts" / "cut-2020-09-15")
    out = tmp / "reports"
    proc = subprocess.run(CLI + ["run", str(cut), "--out", str(out), "--jobs", "2", "--no-pdf"],
                          capture_output=True, text=True, timeout=900)
    return cut, out, proc


def test_the_crossing_run_exits_0_and_prints_a_safety_alert(crossing_run):
    _, _, proc = crossing_run
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("SAFETY ALERT:")]
    assert any("monitoring boundary is crossed" in line for line in lines)
    assert any("HCPA-012 (day 4)" in line for line in lines)


def test_the_crossing_is_in_alerts_json(crossing_run):
    _, out, _ = crossing_run
    alerts = json.loads((out / "cut-2020-09-15" / "alerts.json").read_text())
    assert "boundary_crossed" in _kinds(alerts)
    assert all(set(a) == {"kind", "message", "subjects", "cut_id"} and a["cut_id"] == "cut-2020-09-15"
               for a in alerts)


def test_the_alert_box_comes_before_the_pages_table(crossing_run):
    _, out, _ = crossing_run
    page = (out / "cut-2020-09-15" / "index.html").read_text()
    box = page.index("class='alert'")
    assert box < page.index("<h2>Pages</h2>")
    assert "monitoring boundary is crossed" in page[box:page.index("<h2>Pages</h2>")]


def test_fail_on_alert_exits_3_also_when_the_report_is_unchanged(crossing_run):
    cut, out, _ = crossing_run
    proc = subprocess.run(CLI + ["run", str(cut), "--out", str(out), "--fail-on-alert", "--no-pdf"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 3, proc.stderr
    assert "unchanged since the last run" in proc.stdout
    assert any(line.startswith("SAFETY ALERT:") for line in proc.stdout.splitlines())


def test_previous_results_of_an_older_kit_are_named_as_such_not_silently_ignored(tmp_path):
    from types import SimpleNamespace

    from msc_analysis import load_cut
    from msc_analysis.report.results import V1_COLUMNS, result_rows, write_results
    from msc_analysis.run.alerts import run_alerts

    cuts = ROOT / "data" / "cuts"
    cut = load_cut(cuts / "cut-2020-10-30")
    rows = _results(1).assign(unit=["probability", "1 = crossed, 0 = not crossed", "subjects"], method="rule")
    write_results(result_rows("safety_monitoring", rows, cut_id=cut.cut_id), tmp_path / "work" / "results",
                  "08_safety")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "08_safety.csv").write_text(
        ",".join(V1_COLUMNS) + "\nsafety_monitoring,monitoring_boundary_crossed,evaluable,,0,,,5,flag,rule\n")
    warnings = []
    previous = SimpleNamespace(path=cuts / "cut-2020-09-15", cut_id="cut-2020-09-15")
    alerts = run_alerts(cut, tmp_path / "work", previous, tmp_path / "old", [], warnings.append)
    assert "boundary_crossed" in _kinds(alerts)
    assert any("older version of msc-analysis" in w for w in warnings)


def test_a_crossed_mortality_watch_is_an_alert_of_its_own_beside_the_toxicity_rule():
    import pandas as pd

    from msc_analysis.run.alerts import build_alerts

    results = pd.DataFrame({"measure": ["mortality_watch_boundary_crossed", "mortality_30d_deaths",
                                        "mortality_30d_exceeds_reference_prob", "monitoring_boundary_crossed"],
                            "estimate": [1, 7, 0.93, 0], "n": [21, 21, 21, 22]})
    previous = results.assign(estimate=[0, 2, 0.5, 0])
    alerts = build_alerts("c2", results, previous_cut_id="c1", previous_results=previous)
    kinds = [a["kind"] for a in alerts]
    assert kinds == ["mortality_watch_crossed"]
    message = alerts[0]["message"]
    assert "7 of 21 evaluable subjects died by day 30" in message and "Pr(mortality > reference) = 0.930" in message
    assert "This is the first time" in message
