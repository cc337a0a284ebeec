"""Subgroups (issue 13 item 8): membership, survival and proportions per subgroup, table, forest plot.

Six hand-made treated subjects (and one untreated):

=======  ===  ===  ======  ==============  ======================  ==================
subject  age  sex  Liao    survival        Liao improved by day 28  note
=======  ===  ===  ======  ==============  ======================  ==================
A        40   F    red     died day 10     evaluable, not improved
B        50   F    yellow  censored day 40 evaluable, improved      Liao "other value"
C        50   M    red     died day 20     evaluable, not improved
D        65   F    red     censored day 35 not evaluable (lost)     age exactly 65
E        30   F    red     censored day 5  evaluable, improved
F        45   M    (none)  censored day 60 no outcome row           Liao "missing"
=======  ===  ===  ======  ==============  ======================  ==================

Kaplan-Meier at day 30 by hand: all six: 4/5 at day 10, x 3/4 at day 20 = 0.6 (3 at risk);
red (A, C, D, E): 2/3 x 1/2 = 1/3; male (C, F): 1/2. The orange subgroup is empty, "Age >= 65"
holds D alone. Reference intervals: R 4.x ``survival::survfit(conf.type = "log-log")`` and
``binom.test`` (script ``/tmp/h/E/hand.R`` of the helper; the values are pasted below).
"""
from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from msc_analysis import definitions  # noqa: E402
from msc_analysis.endpoints import subgroups as sg  # noqa: E402
from msc_analysis.report import subgroup_plots, subgroup_tables  # noqa: E402
from msc_analysis.report.results import RESULT_COLUMNS  # noqa: E402

DEFS = pd.DataFrame({
    "variable": ["liao_level_at_entry", "liao_level_at_entry", "age", "age", "sex", "sex"],
    "variable_label": ["Liao level at entry", "Liao level at entry", "Age", "Age", "Sex", "Sex"],
    "column": ["liao_level_at_screening", "liao_level_at_screening", "age_years", "age_years", "sex", "sex"],
    "subgroup": ["orange", "red", "under_65", "65_and_over", "female", "male"],
    "label": ["Liao level orange at entry", "Liao level red at entry", "Age < 65 years", "Age >= 65 years",
              "Female", "Male"],
    "values": ["orange", "red", "", "", "F", "M"],
    "lower": [np.nan, np.nan, np.nan, 65, np.nan, np.nan],
    "upper": [np.nan, np.nan, 65, np.nan, np.nan, np.nan],
})


def subjects() -> pd.DataFrame:
    return pd.DataFrame({
        "subject_id": ["A", "B", "C", "D", "E", "F", "X"],
        "age_years": [40.0, 50, 50, 65, 30, 45, 70],
        "sex": ["F", "F", "M", "F", "F", "M", "F"],
        "liao_level_at_screening": ["red", "yellow", "red", "red", "red", None, "red"],
        "treated": [True] * 6 + [False],
    })


def times() -> pd.DataFrame:
    return pd.DataFrame({"subject_id": list("ABCDEF"), "time_days": [10.0, 40, 20, 35, 5, 60],
                         "event": [1, 0, 1, 0, 0, 0]})


def liao_outcome() -> pd.DataFrame:
    """Two horizons; day 28 as in the table of the module docstring (F has no row)."""
    day28 = pd.DataFrame({"subject_id": list("ABCDE"), "horizon_day": 28,
                          "evaluable": [True, True, True, False, True],
                          "improved": [False, True, False, True, True]})  # D "improved" but not evaluable
    day7 = day28.assign(horizon_day=7, improved=False)
    return pd.concat([day7, day28], ignore_index=True)


def membership() -> pd.DataFrame:
    return sg.subgroup_membership(subjects(), DEFS)


def row(frame: pd.DataFrame, subgroup: str) -> pd.Series:
    hit = frame[frame["subgroup"] == subgroup]
    assert len(hit) == 1, subgroup
    return hit.iloc[0]


def survival() -> pd.DataFrame:
    return sg.survival_by_subgroup(times(), membership(), 30, subgroup_definitions=DEFS)


def proportions() -> pd.DataFrame:
    return sg.proportion_by_subgroup(liao_outcome(), membership(), endpoint="liao_score", measure="improved_prop",
                                     day=28, success="improved", subgroup_definitions=DEFS)


# ------------------------------------------------------------------------------------ membership

def test_every_treated_subject_is_in_exactly_one_subgroup_of_each_variable():
    m = membership()
    assert set(m["subject_id"]) == set("ABCDEF")  # X was not treated
    assert (m.groupby("subgroup_variable")["subject_id"].value_counts() == 1).all()
    assert m.groupby("subgroup_variable").size().to_dict() == {"age": 6, "liao_level_at_entry": 6, "sex": 6}


def test_age_65_belongs_to_the_65_and_over_subgroup():
    m = membership()
    age = m[m["subgroup_variable"] == "age"].set_index("subject_id")["subgroup"]
    assert age["D"] == "Age >= 65 years"
    assert age[["A", "B", "C", "E", "F"]].eq("Age < 65 years").all()


def test_a_value_in_no_listed_subgroup_is_other_value_and_no_value_is_missing():
    m = membership()
    liao = m[m["subgroup_variable"] == "liao_level_at_entry"].set_index("subject_id")
    assert liao.loc["B", "subgroup"] == "Liao level at entry: other value"
    assert liao.loc["B", "value"] == "yellow"
    assert liao.loc["F", "subgroup"] == "Liao level at entry: missing"
    assert liao.loc["F", "value"] == ""
    assert subgroup_tables.other_values(m) == {"Liao level at entry: other value": ["yellow"]}


def test_overlapping_subgroups_are_refused():
    overlapping = DEFS.assign(lower=[np.nan, np.nan, np.nan, 60, np.nan, np.nan])
    overlapping.loc[2, "upper"] = 70
    with pytest.raises(ValueError, match="overlap"):
        sg.subgroup_membership(subjects(), overlapping)


def test_membership_names_a_missing_subject_column():
    with pytest.raises(ValueError, match="sex"):
        sg.subgroup_membership(subjects().drop(columns="sex"), DEFS)


# ------------------------------------------------------------------------------------ survival

def test_overall_row_is_the_kaplan_meier_of_every_treated_subject():
    r = row(survival(), sg.OVERALL_LABEL)
    assert (r["n"], r["n_at_risk"], r["n_events"]) == (6, 3, 2)
    assert r["estimate_prop"] == pytest.approx(0.6, abs=1e-12)
    # R survfit(conf.type = "log-log"): 0.6000000000 0.1257301830 0.8817564074
    assert (r["ci95_lower"], r["ci95_upper"]) == pytest.approx((0.1257301830, 0.8817564074), abs=1e-6)


def test_subgroup_survival_is_the_kaplan_meier_of_its_members_only():
    red, male = row(survival(), "Liao level red at entry"), row(survival(), "Male")
    assert (red["n"], red["n_at_risk"], red["n_events"]) == (4, 1, 2)
    assert red["estimate_prop"] == pytest.approx(1 / 3, abs=1e-12)
    assert (red["ci95_lower"], red["ci95_upper"]) == pytest.approx((0.0089616283, 0.7741486504), abs=1e-6)
    assert male["estimate_prop"] == pytest.approx(0.5, abs=1e-12)
    assert (male["ci95_lower"], male["ci95_upper"]) == pytest.approx((0.0059830876, 0.9104100848), abs=1e-6)


def test_an_empty_subgroup_is_shown_with_n_zero_and_says_why():
    r = row(survival(), "Liao level orange at entry")
    assert r["n"] == 0 and math.isnan(r["estimate_prop"])
    assert r["not_estimable_reason"] == "no subject in this group"


def test_a_subgroup_of_one_alive_at_the_day_has_survival_one_with_an_interval_of_no_width():
    r = row(survival(), "Age >= 65 years")
    assert (r["n"], r["n_at_risk"], r["n_events"]) == (1, 1, 0)
    assert (r["estimate_prop"], r["ci95_lower"], r["ci95_upper"]) == (1.0, 1.0, 1.0)
    assert r["not_estimable_reason"] == ""


def test_nobody_at_risk_at_the_day_is_not_estimable_and_says_so():
    r = row(sg.survival_by_subgroup(times(), membership(), 50, subgroup_definitions=DEFS), "Female")
    # A died day 10; B, D, E censored at 40, 35, 5: nobody followed to day 50
    assert math.isnan(r["estimate_prop"]) and r["not_estimable_reason"] == "nobody at risk at day 50"


def test_other_and_missing_rows_appear_only_when_someone_is_in_them():
    shown = survival()["subgroup"].tolist()
    assert shown == [sg.OVERALL_LABEL, "Liao level orange at entry", "Liao level red at entry",
                     "Liao level at entry: other value", "Liao level at entry: missing", "Age < 65 years",
                     "Age >= 65 years", "Female", "Male"]
    assert "Age: missing" not in shown and "Sex: other value" not in shown


# ----------------------------------------------------------------------------------- proportions

def test_proportion_counts_the_evaluable_subjects_with_an_exact_interval():
    r = row(proportions(), sg.OVERALL_LABEL)
    assert (r["n"], r["n_evaluable"], r["n_success"]) == (6, 4, 2)
    assert r["estimate_prop"] == 0.5
    # R binom.test(2, 4)$conf.int
    assert (r["ci95_lower"], r["ci95_upper"]) == pytest.approx((0.0675859865, 0.9324140135), abs=1e-8)
    red = row(proportions(), "Liao level red at entry")
    assert (red["n"], red["n_evaluable"], red["n_success"]) == (4, 3, 1)
    assert (red["ci95_lower"], red["ci95_upper"]) == pytest.approx((0.0084037587, 0.9057006759), abs=1e-8)


def test_success_of_a_subject_not_evaluable_is_not_counted():
    female = row(proportions(), "Female")  # A, B, D, E: D is "improved" but not evaluable
    assert (female["n_evaluable"], female["n_success"]) == (3, 2)


def test_a_member_without_an_outcome_row_counts_in_n_but_is_not_evaluable():
    missing = row(proportions(), "Liao level at entry: missing")  # F alone, no row in the outcome frame
    assert (missing["n"], missing["n_evaluable"]) == (1, 0)
    assert missing["not_estimable_reason"] == "no subject evaluable at day 28"


def test_a_subgroup_of_one_nobody_evaluable_is_not_estimable_and_says_why():
    r = row(proportions(), "Age >= 65 years")
    assert (r["n"], r["n_evaluable"]) == (1, 0) and math.isnan(r["estimate_prop"])
    assert r["not_estimable_reason"] == "no subject evaluable at day 28"


def test_a_subgroup_of_one_evaluable_has_an_exact_interval():
    r = row(proportions(), "Liao level at entry: other value")  # B: 1/1
    assert (r["estimate_prop"], r["ci95_lower"], r["ci95_upper"]) == pytest.approx((1.0, 0.025, 1.0), abs=1e-10)
    male = row(proportions(), "Male")  # C: 0/1
    assert (male["estimate_prop"], male["ci95_lower"], male["ci95_upper"]) == pytest.approx((0.0, 0.0, 0.975))


def test_empty_subgroup_proportion_says_no_subject_in_this_group():
    r = row(proportions(), "Liao level orange at entry")
    assert r["n"] == 0 and r["not_estimable_reason"] == "no subject in this group"


def test_the_day_selects_the_rows_of_that_horizon_and_several_rows_per_subject_are_refused():
    day7 = sg.proportion_by_subgroup(liao_outcome(), membership(), endpoint="liao_score", measure="improved_prop",
                                     day=7, success="improved", subgroup_definitions=DEFS)
    assert row(day7, sg.OVERALL_LABEL)["n_success"] == 0
    with pytest.raises(ValueError, match="one row per subject"):
        sg.proportion_by_subgroup(liao_outcome(), membership(), endpoint="liao_score", measure="improved_prop",
                                  success="improved", subgroup_definitions=DEFS)


def test_inputs_are_not_modified():
    t, m, o, s = times(), membership(), liao_outcome(), subjects()
    copies = [x.copy() for x in (t, m, o, s)]
    sg.subgroup_membership(s, DEFS)
    sg.survival_by_subgroup(t, m, 30, subgroup_definitions=DEFS)
    sg.proportion_by_subgroup(o, m, endpoint="liao_score", measure="improved_prop", day=28, success="improved",
                              subgroup_definitions=DEFS)
    for before, after in zip(copies, (t, m, o, s)):
        pd.testing.assert_frame_equal(before, after)


# --------------------------------------------------------------------------------------- results

def test_results_rows_leave_out_the_whole_population_and_name_the_subgroup_in_group():
    estimates = pd.concat([survival(), proportions()], ignore_index=True)
    rows = sg.headline_measures(estimates)
    assert sg.OVERALL_LABEL not in set(rows["group"])
    assert len(rows) == 2 * 8
    red = rows[(rows["group"] == "Liao level red at entry") & (rows["measure"] == "improved_prop")].iloc[0]
    assert (red["endpoint"], red["day"], red["n"], red["estimate"]) == ("liao_score", 28.0, 3, pytest.approx(1 / 3))
    orange = rows[(rows["group"] == "Liao level orange at entry") & (rows["measure"] == "survival_prop")].iloc[0]
    assert orange["n"] == 0 and orange["method"].endswith("not estimable: no subject in this group")
    assert "no test of interaction" in red["method"]


def test_subgroup_results_are_in_the_results_schema_under_each_endpoint():
    estimates = pd.concat([survival(), proportions()], ignore_index=True)
    out = subgroup_tables.subgroup_results(sg.headline_measures(estimates), cut_id="c1")
    assert list(out.columns) == list(RESULT_COLUMNS)
    assert out.groupby("endpoint").size().to_dict() == {"liao_score": 8, "overall_survival": 8}
    assert set(out["cut_id"]) == {"c1"}
    assert out.loc[out["group"] == "Age >= 65 years", "n"].tolist() == [1, 0]


# ------------------------------------------------------------------------------ table and figure

def test_table_cells_are_words_and_numbers_never_nan():
    estimates = pd.concat([survival(), proportions()], ignore_index=True)
    cells = subgroup_tables.subgroup_cells(estimates)
    assert list(cells.columns) == subgroup_tables.SUBGROUP_TABLE_COLUMNS
    assert len(cells) == 18
    text = " ".join(cells.astype(str).to_numpy().ravel())
    for token in ("nan", "NaN", "<NA>", "None", "inf"):
        assert token not in text
    orange = cells[cells["Subgroup"] == "Liao level orange at entry"]
    assert orange["Estimate (95% CI)"].tolist() == ["not estimable: no subject in this group"] * 2
    assert cells.loc[0, "Estimate (95% CI)"] == "60.0% (12.6% to 88.2%)"
    assert cells.loc[0, "Events"] == "2 died by day 30"


def test_forest_plot_draws_an_inestimable_subgroup_as_text_with_its_n():
    estimates = pd.concat([survival(), proportions()], ignore_index=True)
    fig = subgroup_plots.forest_figure(estimates, title="Figure 1.9 Subgroups")
    assert len(fig.axes) == 2
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert "n = 1, not estimable (no subject evaluable at day 28)" in texts
    assert "n = 0, not estimable (no subject in this group)" in texts
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == sg.OVERALL_LABEL and "Liao level orange at entry" in labels


def test_shipped_subgroup_definitions_are_liao_level_age_and_sex():
    if not hasattr(definitions, "subgroups"):
        pytest.skip("definitions.subgroups() is not registered yet (helper E's patch for definitions/__init__.py)")
    shipped = definitions.subgroups()
    assert shipped["variable"].unique().tolist() == ["liao_level_at_entry", "age", "sex"]
    assert shipped["label"].tolist() == DEFS["label"].tolist()
    assert (shipped[["values", "column"]] == DEFS[["values", "column"]]).all().all()
    m = sg.subgroup_membership(subjects())
    pd.testing.assert_frame_equal(m, membership())


def test_a_target_day_column_selects_the_visit_like_horizon_day():
    ct = liao_outcome().rename(columns={"horizon_day": "target_day"})
    out = sg.proportion_by_subgroup(ct, membership(), endpoint="radiology", measure="ct_improved_from_baseline_prop",
                                    day=28, success="improved", subgroup_definitions=DEFS)
    assert (row(out, sg.OVERALL_LABEL)["n_evaluable"], row(out, sg.OVERALL_LABEL)["n_success"]) == (4, 2)


_HEADER = "variable,variable_label,column,subgroup,label,values,lower,upper\n"


@pytest.mark.parametrize("body, message", [
    ("age,Age,age_years,a,Young,,,65\nage,Age,age_years,b,Old,,60,\n", "overlap"),
    ("sex,Sex,sex,f,Female,F,,\nsex,Sex,sex,m,Male,M|F,,\n", "two subgroups"),
    ("age,Age,age_years,a,Young,x,,65\n", "not both"),
    ("age,Age,age_years,a,Young,,70,65\n", "below upper"),
    ("age,Age,age_years,a,Young,,,sixty\n", "number"),
    ("sex,Sex,sex,f,Female,F,,\nsex,Sex,sex,f,Women,F2,,\n", "more than once"),
])
def test_the_subgroups_file_is_checked_when_read(body, message):
    if not hasattr(definitions, "subgroups"):
        pytest.skip("definitions.subgroups() is not registered yet (helper E's patch for definitions/__init__.py)")
    with pytest.raises(ValueError, match=message):
        definitions._parse_subgroups(_HEADER + body, "subgroups.csv")


def test_before_any_infusion_every_row_is_shown_and_says_why():
    nobody = subjects().assign(treated=False)
    m = sg.subgroup_membership(nobody, DEFS)
    assert m.empty
    surv = sg.survival_by_subgroup(times().iloc[:0], m, 30, subgroup_definitions=DEFS)
    prop = sg.proportion_by_subgroup(liao_outcome().iloc[:0], m, endpoint="liao_score", measure="improved_prop",
                                     day=28, success="improved", subgroup_definitions=DEFS)
    for frame in (surv, prop):
        assert len(frame) == 7 and frame["estimate_prop"].isna().all()
        assert frame["not_estimable_reason"].tolist() == ["no subject infused yet"] + ["no subject in this group"] * 6
    estimates = pd.concat([surv, prop], ignore_index=True)
    assert subgroup_plots.forest_figure(estimates).axes  # text rows only, no error
    out = subgroup_tables.subgroup_results(sg.headline_measures(estimates), cut_id="c0")
    assert len(out) == 12 and out["estimate"].isna().all() and (out["n"] == 0).all()
    assert subgroup_tables.subgroup_results(sg.headline_measures(estimates.iloc[:1]), cut_id="c0").empty


def test_the_report_layer_reads_the_columns_the_endpoint_writes():
    assert subgroup_tables.ESTIMATE_COLUMNS == sg.ESTIMATE_COLUMNS
    assert subgroup_tables.OVERALL_VARIABLE == sg.OVERALL_VARIABLE
