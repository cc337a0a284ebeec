"""Page 06 (Liao score) as a board member reads it: numbered tables with N, the switches in words,
the method naming a switch that differs from its default, clean text on degenerate cuts."""
import re

import pandas as pd
import pytest

from msc_analysis.report import liao_estimand_tables as le
from msc_analysis.report import liao_tables as lq
from msc_analysis.report.page import table_cells

from .conftest import ROOT
from .test_degenerate_cuts import build_cut, visible_text

NOTEBOOK = ROOT / "notebooks" / "06_liao_score.ipynb"
DEMO_CUT = ROOT / "data" / "cuts" / "cut-2020-12-30"
RAW = re.compile(r"\bNaN\b|\bnan\b|<NA>|\binf\b|\bNone\b|rows ×|\.\.\.|\d[eE][+-]\d")


# ------------------------------------------------------------------------------ tables in words

def test_the_switches_table_says_each_switch_in_words_with_its_value_and_defaults():
    switches = dict(age_points=0, age_triggers_single_parameter_rule=False, spo2_scale=1,
                    consciousness_scale="ACVPU", level_rule="total")
    t = lq.switches_table(switches, {"include_incomplete": False, "low_score_max": None},
                          {"age_points": 3, "include_incomplete": False, "low_score_max": None})
    assert list(t.columns) == ["Switch", "Value in this run", "What it means", "Page default", "Documented default"]
    age = t.iloc[0]
    assert age["Switch"] == "Points for age 65 or more (age_points)"
    assert (age["Value in this run"], age["Page default"], age["Documented default"]) == ("0", "3", "3")
    assert t.iloc[1]["Value in this run"] == "no"
    assert t.iloc[-1]["Value in this run"] == "2 as in definitions/trial.yaml"
    assert not table_cells(t).apply(lambda c: c.str.contains(RAW)).any().any()


def test_the_method_names_a_switch_that_differs_from_the_documented_default():
    assert lq.switch_note({"age_points": 3, "level_rule": "total"}) == ""
    note = lq.switch_note({"age_points": 0, "level_rule": "cell"})
    assert "age_points = 0 (documented default 3)" in note and "level_rule = cell (documented default total)" in note
    # one papermill set is named by Page.note already: not twice
    assert "age_points" not in lq.switch_note({"age_points": 0}, already_named={"age_points": 0})


def test_the_improvement_table_counts_add_up_to_the_treated_and_shows_k_of_n():
    p = pd.DataFrame({"horizon_day": [28, 60], "n_subjects": [31, 31], "n_no_baseline": [0, 0],
                      "n_not_yet_evaluable": [0, 2], "n_lost_to_follow_up": [1, 1], "n_evaluable": [30, 28],
                      "n_improved": [19, 0], "n_died": [7, 8], "improved_prop": [19 / 30, 0.0],
                      "ci95_lower": [0.4386, 0.0], "ci95_upper": [0.8007, 0.1234], "not_estimable_reason": ["", ""]})
    t = lq.improvement_table(p)
    parts = ["No baseline", "Not yet evaluable (infused fewer days before the data cutoff)",
             "Lost to follow-up (day passed, not followed to it)", "Evaluable by calendar (denominator)"]
    assert (t[parts].astype(int).sum(axis=1) == t["Treated"].astype(int)).all()
    assert t.loc[0, "Improved, n/N (%)"] == "19/30 (63.3%)"
    assert t.loc[0, "Improved, % (exact 95% CI)"] == "63.3% (43.9% to 80.1%)"
    assert t.loc[1, "Improved, n/N (%)"] == "0/28"


def test_nobody_evaluable_reads_not_estimable_with_the_reason():
    p = pd.DataFrame({"horizon_day": [7], "n_subjects": [0], "n_no_baseline": [0], "n_not_yet_evaluable": [0],
                      "n_lost_to_follow_up": [0], "n_evaluable": [0], "n_improved": [0], "n_died": [0],
                      "improved_prop": [float("nan")], "ci95_lower": [float("nan")], "ci95_upper": [float("nan")],
                      "not_estimable_reason": ["no subject infused yet"]})
    row = lq.improvement_table(p).iloc[0]
    assert row["Improved, n/N (%)"] == "–"
    assert row["Improved, % (exact 95% CI)"] == "not estimable: no subject infused yet"


def test_the_incidence_table_counts_add_up_to_the_treated_on_every_day():
    s = pd.DataFrame({"time_days": [3, 10, 5, 60, 60, 20], "event": [1, 2, 0, 0, 1, 1]})
    i = pd.DataFrame({"time_days": [7, 14, 28, 60], "cumulative_incidence_prop": [0.2, 0.2, 0.4, 0.6],
                      "ci95_lower": [0.01] * 4, "ci95_upper": [0.7] * 4, "not_estimable_reason": [""] * 4})
    t = lq.incidence_table(i, s)
    counts = t[["Sustained low score", "Died in hospital first", "Censored (follow-up of the endpoint ended)",
                "Still followed without either"]].astype(int)
    assert (counts.sum(axis=1) == len(s)).all()


def test_the_variants_table_sets_the_headline_beside_known_so_far_with_their_own_denominators():
    def props(k, n, died):
        ci = {"improved_prop": [k / n], "ci95_lower": [0.1], "ci95_upper": [0.9]}
        return pd.DataFrame({"horizon_day": [60], "n_evaluable": [n], "n_died": [died], "n_improved": [k],
                             **ci, "not_estimable_reason": [""]})
    t = le.improvement_variants_table({"Headline: evaluable by calendar": props(7, 8, 1),
                                       "Secondary: known so far": props(7, 15, 8)})
    assert t["Analysis"].tolist() == ["Headline: evaluable by calendar", "Secondary: known so far"]
    assert t["Improved, n/N (%)"].tolist() == ["7/8 (87.5%)", "7/15 (46.7%)"]
    assert t["of whom died"].tolist() == ["1", "8"]


def test_the_stable_outcomes_add_up_to_the_treated_and_name_discharge_as_its_own_outcome():
    s = pd.DataFrame({"event": [1, 1, 1, 2, 0], "first_event": ["low score held", "discharged alive",
                                                                 "discharged alive", "", ""]})
    t = le.stable_outcomes_table(s).set_index("Outcome")["Subjects, n (%)"]
    assert t["Discharged alive first"] == "2 (40.0%)" and t["Died first (competing event)"] == "1 (20.0%)"
    assert t["Total"] == "5"


def test_the_worst_rank_table_writes_a_quantile_on_a_death_in_words():
    w = pd.DataFrame({"visit": ["Day 28"], "n_evaluable": [3], "n_died": [2], "n_measured": [1], "n_discharged": [0],
                      "n_lost_to_follow_up": [1], "n_no_value": [0], "n_ranked": [3],
                      "worst_rank_median": [float("nan")], "worst_rank_median_state": ["died"],
                      "worst_rank_q1": [float("nan")], "worst_rank_q1_state": ["died"], "worst_rank_q3": [float("nan")],
                      "worst_rank_q3_state": ["died"], "died_prop": [2 / 3], "died_ci95_lower": [0.094],
                      "died_ci95_upper": [0.992], "not_estimable_reason": [""]})
    row = le.worst_rank_table(w).iloc[0]
    assert row["Median (Q1 to Q3), points"] == "died (died to died)"
    assert row["Left out: lost to follow-up"] == "1"
    assert not table_cells(le.worst_rank_table(w)).apply(lambda c: c.str.contains(RAW)).any().any()


# ------------------------------------------------------------------------------ the page, run

def run_page(tmp_path, cut, **parameters):
    import papermill as pm

    from msc_analysis.run.worker import render_html

    out = tmp_path / "06_liao_score.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters={"cut_dir": str(cut), "results_dir": str(tmp_path / "results"), **parameters})
    page = tmp_path / "06_liao_score.html"
    page.write_text(render_html(out, False), encoding="utf-8")
    return visible_text(page), pd.read_csv(tmp_path / "results" / "06_liao_score.csv")


@pytest.fixture(scope="module")
def age_0_run(tmp_path_factory):
    return run_page(tmp_path_factory.mktemp("liao_age0"), DEMO_CUT, age_points=0)


def test_a_run_with_age_points_0_says_so_in_the_method_of_every_result(age_0_run):
    text, results = age_0_run
    assert results["method"].str.contains("age_points = 0 (page default 3)", regex=False).all()
    assert "Value in this run" in text and "Points for age 65 or more (age_points)" in text


def test_the_page_numbers_every_table_and_figure_and_cites_the_reference(age_0_run):
    text, _ = age_0_run
    tables = re.findall(r"Table 6\.(\d+) ", text)
    assert tables == [str(k) for k in range(1, len(tables) + 1)] and len(tables) >= 9
    assert NOTEBOOK.read_text(encoding="utf-8").count("page.figure_title(") == 3  # drawn in the images
    assert "treated population (N = 31)" in text
    assert "docs/reference/liao-2020-score.md" in text and "Intensive Care Med" in text
    assert "Scoring switches:" not in text and "{'" not in text  # no raw dict


def test_the_final_cut_says_lost_to_follow_up_not_not_yet_evaluable(age_0_run):
    text, results = age_0_run
    assert "Lost to follow-up (day passed, not followed to it)" in text
    assert results["n"].notna().all()


def test_the_page_writes_every_headline_secondary_and_sensitivity_measure(age_0_run):
    text, results = age_0_run
    assert {"score_change_median", "score_change_worst_rank_median", "score_change_worst_rank_died_prop",
            "improved_prop", "improved_known_prop", "improved_incl_incomplete_prop",
            "stable_or_discharged_cumulative_incidence_prop",
            "sustained_low_score_cumulative_incidence_prop", "children_scored_adult_bands",
            "improved_prop_adults_only", "stable_or_discharged_cumulative_incidence_prop_adults_only",
            } == set(results["measure"])
    assert "Headline: evaluable by calendar" in text and "Secondary: known so far" in text
    assert "Discharged alive first" in text and "worst-rank analysis" in text


def test_the_final_cut_states_the_children_scored_with_the_adult_bands(age_0_run):
    text, results = age_0_run
    assert "Children: 0 of the 31 treated subjects are younger than 16 years" in text
    assert "Screened children (younger than 16 years) scored with the adult Liao (NEWS-C) bands" in text
    assert "HCPA-003" in text  # the 8-year-old screened (yellow, not eligible) is listed
    assert "Sensitivity: without children (aged 16 or more)" in text
    count = results[results["measure"] == "children_scored_adult_bands"]
    assert count[["estimate", "n"]].values.tolist() == [[0, 31]]


def test_exclude_children_leaves_a_treated_child_out_and_says_so(tmp_path):
    import shutil

    from .conftest import FIXTURE_CUT
    cut = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, cut)
    subjects = pd.read_csv(cut / "subjects.csv", dtype=str, keep_default_na=False)
    subjects.loc[subjects["subject_id"] == "S01", "age_years"] = "8"
    subjects.to_csv(cut / "subjects.csv", index=False)
    (tmp_path / "run").mkdir()
    text, results = run_page(tmp_path / "run", cut, exclude_children=True)
    count = results[results["measure"] == "children_scored_adult_bands"]
    assert count[["estimate", "n"]].values.tolist() == [[1, 2]]  # S01 (8) and S02 treated
    assert "left out of the Liao endpoints" in count["method"].iloc[0]
    assert results["method"].str.contains("exclude_children = True", regex=False).all()
    assert "Children: 1 of the 2 treated subjects" in text and "They are left out" in text
    assert not RAW.search(text), RAW.search(text)


def test_the_page_shows_no_raw_missing_value(age_0_run):
    text, _ = age_0_run
    assert not RAW.search(text), RAW.search(text)


@pytest.mark.parametrize("name", ["no-infusion", "empty-vitals", "combined"])
def test_the_page_renders_degenerate_cuts_cleanly(tmp_path, name):
    text, results = run_page(tmp_path, build_cut(tmp_path, name))
    assert not RAW.search(text), RAW.search(text)
    assert "Table 6.1 " in text and "(N = " in text
    assert results["n"].notna().all()


def test_a_switch_edited_in_the_parameters_cell_is_named_against_its_documented_default(tmp_path):
    """Outside papermill (JupyterLab) nothing is injected: the documented default is the reference."""
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(ROOT / "data")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "\nage_points = 3 " in params.source
    params.source = params.source.replace("\nage_points = 3 ", "\nage_points = 0 ")
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    results = pd.read_csv(tmp_path / "results" / "06_liao_score.csv")
    assert results["method"].str.endswith("age_points = 0 (documented default 3)").all()
