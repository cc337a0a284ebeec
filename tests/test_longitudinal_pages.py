"""Pages 04 (CRP), 05 (PaO2/FiO2) and 07 (chest CT) through the table layer, with seaborn figures.

The table builders of ``report.longitudinal_page_tables`` write every cell with ``report.formats``
(fixed decimals per measure, n (%), exact CIs, p-values); the figures of
``report.longitudinal_plots`` are drawn with seaborn and keep their numbered titles even when
there is nothing to draw; every headline row of the three pages has a whole ``n``.
"""
import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import crp, pao2_fio2, radiology
from msc_analysis.report import longitudinal_page_tables as lt
from msc_analysis.report import longitudinal_plots as lp
from msc_analysis.report.page import Page

from .conftest import ROOT

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RAW = re.compile(r"\bnan\b|\bNaN\b|<NA>|\binf\b|\bNone\b|\d[eE][+-]\d")
PAGES = {"04_crp": 4, "05_pao2_fio2": 5, "07_radiology": 7}


def no_raw_values(frame: pd.DataFrame) -> bool:
    text = "\n".join([*map(str, frame.columns), *frame.astype(str).to_numpy().ravel()])
    return not RAW.search(text)


@pytest.fixture(scope="module")
def fixture_pages(fixture_cut):
    treated = fixture_cut.population("treated")
    return {"crp": crp.crp_by_visit(fixture_cut.labs, treated),
            "pf": pao2_fio2.pf_by_visit(fixture_cut.blood_gases, treated),
            "ct": radiology.ct_by_visit(fixture_cut.imaging, treated),
            "impressions": radiology.impression_by_visit(fixture_cut.imaging, treated),
            "n": len(treated)}


# ------------------------------------------------------------------------------ decimals per measure

def test_each_measure_has_its_decimals_written_in_its_module():
    # summaries one decimal more than recorded: CRP 0.1 mg/dL -> 2; PaO2 whole mmHg -> 1; CT whole points -> 1
    assert (crp.DECIMALS, pao2_fio2.DECIMALS, radiology.DECIMALS) == (2, 1, 1)
    assert crp.RATIO_DECIMALS == pao2_fio2.RATIO_DECIMALS == 2


def test_page_decimals_agree_with_the_headline_formats_of_the_measures():
    from msc_analysis import definitions

    formats = definitions.measures().set_index("measure")["format"]
    for module, measures in ((crp, ("crp_mg_dl_median", "crp_change_mg_dl_median")),
                             (pao2_fio2, ("pf_ratio_median", "pf_ratio_change_median")),
                             (radiology, ("ct_score_change_median",))):
        for measure in measures:
            assert formats[measure] == f"decimal{module.DECIMALS}", measure


def test_visit_table_writes_median_and_quartiles_with_the_measure_decimals(fixture_pages):
    # fixture: baselines 15 and 18 mg/dL -> median 16.5, quartiles 15.75 and 17.25 (linear)
    table = lt.visit_value_table(crp.crp_summary(fixture_pages["crp"]), "crp_mg_dl", decimals=crp.DECIMALS,
                                 unit="mg/dL").set_index("Visit")
    assert table.loc["Baseline", ["n measured", "Median, mg/dL", "Q1 to Q3, mg/dL"]].tolist() == [
        "2", "16.50", "15.75 to 17.25"]
    assert table.loc["Day 7", ["Died", "Day"]].tolist() == ["1", "7"]
    assert no_raw_values(table.reset_index())


def test_a_visit_nobody_reached_reads_ne_not_nan(fixture_pages):
    table = lt.visit_value_table(crp.crp_summary(fixture_pages["crp"]), "crp_mg_dl", decimals=2, unit="mg/dL")
    day60 = table.set_index("Visit").loc["Day 60"]
    assert day60["n measured"] == "0" and day60["Median, mg/dL"] == "NE" and day60["Q1 to Q3, mg/dL"] == "NE"


def test_pf_is_shown_with_one_decimal():
    summary = pd.DataFrame({"visit": ["Baseline"], "target_day": [0], "n_measured": [2], "n_died": [0],
                            "n_discharged": [0], "n_not_reached": [0], "n_no_value": [0],
                            "pf_median": [175.714], "pf_q1": [155.98], "pf_q3": [192.5]})
    row = lt.visit_value_table(summary, "pf", decimals=pao2_fio2.DECIMALS, unit="mmHg").iloc[0]
    assert row["Median, mmHg"] == "175.7" and row["Q1 to Q3, mmHg"] == "156.0 to 192.5"


# ------------------------------------------------------------------------------ change from baseline

def test_change_table_has_wilcoxon_p_and_the_ratio_with_its_interval(fixture_pages):
    by_visit = fixture_pages["crp"]
    table = lt.change_table(crp.crp_summary(by_visit), "crp_change_mg_dl", decimals=2, unit="mg/dL",
                            tests=crp.crp_change_tests(by_visit), ratio=crp.crp_ratio_to_baseline(by_visit))
    assert "Baseline" not in set(table["Visit"])  # no change at baseline
    day7 = table.set_index("Visit").loc["Day 7"]
    # S01 alone at day 7: change 4.2 - 15 = -10.8; one pair: a ratio 0.28 but no interval
    assert day7["n with baseline and value"] == "1" and day7["Median change, mg/dL"] == "-10.80"
    assert day7["Ratio to baseline, geometric mean (95% CI)"] == "0.28 (no interval: one pair)"
    assert re.fullmatch(r"<0\.001|[01]\.\d{3}|NE|too few pairs", day7["Wilcoxon p"])
    assert no_raw_values(table)


def test_change_table_without_any_subject_reads_ne_with_zero_pairs():
    summary = pd.DataFrame({"visit": ["Baseline", "Day 7"], "target_day": [0, 7], "n_change": [0, 0],
                            "c_median": [np.nan] * 2, "c_q1": [np.nan] * 2, "c_q3": [np.nan] * 2})
    empty_tests = pd.DataFrame(columns=["visit", "p_value"])
    empty_ratio = pd.DataFrame(columns=["visit", "n_ratio", "geometric_mean_ratio", "ci95_lower", "ci95_upper"])
    row = lt.change_table(summary, "c", decimals=1, unit="points", tests=empty_tests, ratio=empty_ratio).iloc[0]
    assert row.tolist() == ["Day 7", "7", "0", "NE", "NE", "NE", "0", "NE"]


# ------------------------------------------------------------------------------ counts n (%)

def test_berlin_shift_table_counts_every_subject_once_per_visit_as_n_pct(fixture_pages):
    shift = pao2_fio2.berlin_shift_table(fixture_pages["pf"])
    before = shift.copy()
    table = lt.shift_count_table(shift, row="baseline_category", column="visit_category", n=fixture_pages["n"],
                                 row_label="At baseline", by="visit")
    pd.testing.assert_frame_equal(shift, before)  # the input is not modified
    totals = table[table["At baseline"] == "Total"]
    assert len(totals) == shift["visit"].nunique()
    assert set(totals["Total"]) == {f"{fixture_pages['n']} (100.0%)"}
    assert (table["Visit"] != "").sum() == shift["visit"].nunique()  # the visit is written once per block
    cells = table.drop(columns=["Visit", "At baseline"]).to_numpy().ravel()
    assert all(re.fullmatch(r"0|\d+ \(\d+\.\d%\)", c) for c in cells)  # zero is 0, never 0 (0.0%)


def test_berlin_counts_put_every_subject_in_one_band_or_status_at_every_visit(fixture_pages):
    counts = pao2_fio2.berlin_counts(fixture_pages["pf"])
    per_visit = counts.groupby("visit", sort=False)["n_subjects"].sum()
    assert (per_visit == fixture_pages["n"]).all() and per_visit.index[0] == "Baseline"
    assert list(counts["category"].cat.categories[:4]) == list(pao2_fio2.BERLIN_CATEGORIES["category"])


def test_berlin_counts_without_subjects_are_zero_at_every_visit_of_the_windows(fixture_cut):
    empty = pao2_fio2.pf_by_visit(fixture_cut.blood_gases.iloc[:0], fixture_cut.population("treated").iloc[:0])
    counts = pao2_fio2.berlin_counts(empty)
    assert counts["n_subjects"].sum() == 0 and counts["visit"].iloc[0] == "Baseline"
    assert lt.category_count_table(counts, "category")["Subjects"].eq("0").all()


def test_impression_table_is_n_pct_of_the_subjects_at_the_visit(fixture_pages):
    table = lt.category_count_table(radiology.impression_counts(fixture_pages["impressions"]),
                                    "impression_category")
    assert list(table.columns[:2]) == ["Visit", "Day"] and table["Subjects"].eq(str(fixture_pages["n"])).all()
    assert list(table.columns[2:-1]) == list(radiology.IMPRESSION_CATEGORIES)
    assert no_raw_values(table)


def test_proportion_improved_reads_k_of_n_and_the_exact_interval_or_why_not(fixture_pages):
    props = radiology.improvement_proportions(fixture_pages["impressions"])
    table = lt.improvement_table(props, counts={"n_died": "Died before the visit"})
    for (_, p), (_, row) in zip(props.iterrows(), table.iterrows()):
        if pd.isna(p["improved_prop"]):
            assert row["Improved, % (95% CI)"] == f"not estimable: {p['not_estimable_reason']}"
            assert row["Improved, n/N (%)"] == "–"  # deaths alone are no proportion: no 0/1 beside it
        else:
            assert row["Improved, % (95% CI)"].endswith("%)") and " to " in row["Improved, % (95% CI)"]
            assert row["Improved, n/N (%)"].startswith(f"{p['n_improved']}/{p['n_evaluable']}")
        assert row["Died before the visit"] == str(p["n_died"])
    assert no_raw_values(table)


def test_page_tables_are_numbered_with_population_and_n(fixture_pages):
    page = Page(4, None, check=False)
    summary = crp.crp_summary(fixture_pages["crp"])
    t = page.table(lt.visit_value_table(summary, "crp_mg_dl", decimals=2, unit="mg/dL"), "CRP by visit",
                   population="treated population", n=fixture_pages["n"])
    assert t.heading == "Table 4.1 CRP by visit, treated population (N = 2)"
    assert any(note.startswith("NE = not estimable") for note in t.footnotes)  # day 60: NE, explained
    assert "level 0" not in t.cells.columns and "index" not in t.cells.columns


# ------------------------------------------------------------------------------ headline rows

@pytest.mark.parametrize("endpoint", ["crp", "pf", "ct"])
def test_every_headline_row_has_a_whole_n(fixture_pages, endpoint):
    by_visit = fixture_pages[endpoint]
    if endpoint == "crp":
        head = crp.headline_measures(crp.crp_summary(by_visit))
    elif endpoint == "pf":
        head = pao2_fio2.headline_measures(pao2_fio2.pf_summary(by_visit))
    else:
        head = radiology.headline_measures(radiology.ct_summary(by_visit),
                                           radiology.improvement_proportions(fixture_pages["impressions"]))
    n = pd.to_numeric(head["n"])
    assert n.notna().all() and (n == n.round()).all() and (n >= 0).all()


# ------------------------------------------------------------------------------ figures

def _title(fig) -> str:
    return fig.axes[0].get_title(loc="left")


def test_trajectory_legend_says_the_median_is_of_those_measured_at_the_visit(fixture_pages):
    fig = lp.spaghetti_figure(fixture_pages["crp"], "crp_mg_dl", ylabel="CRP, mg/dL", title="Figure 4.1 CRP")
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert lp.MEDIAN_LABEL in legend and not any("all subjects" in t for t in legend)
    assert ax.get_ylabel() == "CRP, mg/dL" and _title(fig) == "Figure 4.1 CRP"
    assert "n = 2" in ax.get_xticklabels()[0].get_text()  # baseline: both subjects measured
    plt.close(fig)


def test_under_the_trajectory_and_change_figures_each_visit_shows_who_was_not_measured_and_why(fixture_pages):
    for fig in (lp.spaghetti_figure(fixture_pages["crp"], "crp_mg_dl", ylabel="CRP, mg/dL"),
                lp.change_distribution_figure(fixture_pages["crp"], "crp_change_mg_dl", ylabel="Change")):
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert all(label in texts for label in lp.STATUS_ROWS.values())
        plt.close(fig)


def test_the_worst_rank_table_says_died_or_discharged_for_a_quartile_on_a_state():
    w = pd.DataFrame({"visit": ["Day 28"], "target_day": [28], "n_subjects": [4], "n_not_evaluable": [0],
                      "n_no_baseline": [0], "n_evaluable": [4], "n_died": [2], "n_measured": [1], "n_discharged": [1],
                      "n_ranked": [4], "n_lost_to_follow_up": [0], "n_no_value": [0], "died_prop": [0.5],
                      "died_ci95_lower": [0.068], "died_ci95_upper": [0.932], "worst_rank_median": [np.nan],
                      "worst_rank_median_state": ["died"], "worst_rank_q1": [-3.0], "worst_rank_q1_state": ["value"],
                      "worst_rank_q3": [np.nan], "worst_rank_q3_state": ["died"]})
    row = lt.worst_rank_table(w, decimals=2, unit="mg/dL").iloc[0]
    assert row["Median, mg/dL"] == "died" and row["Q1 to Q3, mg/dL"] == "-3.00 to died"
    assert row["Died, % (95% CI)"] == "50.0% (6.8% to 93.2%)"


def test_figures_with_nothing_to_draw_keep_their_numbered_title():
    empty = pd.DataFrame(columns=["subject_id", "visit", "target_day", "status", "death_day", "has_baseline",
                                  "crp_mg_dl", "crp_change_mg_dl"])
    made = [lp.spaghetti_figure(empty, "crp_mg_dl", ylabel="CRP, mg/dL", title="Figure 4.1 CRP"),
            lp.change_distribution_figure(empty, "crp_change_mg_dl", ylabel="Change", title="Figure 4.1 CRP"),
            lp.proportion_figure(pd.DataFrame(columns=["visit", "target_day", "n_improved", "n_evaluable",
                                                       "improved_prop", "ci95_lower", "ci95_upper"]),
                                 title="Figure 4.1 CRP")]
    for fig in made:
        (ax,) = fig.axes
        assert _title(fig) == "Figure 4.1 CRP" and "not estimable" in ax.texts[0].get_text().replace("\n", " ")
        plt.close(fig)


def test_stacked_bars_put_the_first_category_at_the_bottom(fixture_pages):
    counts = pao2_fio2.berlin_counts(fixture_pages["pf"])
    fig = lp.berlin_bars_figure(counts, title="Figure 5.1 Berlin")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_height() > 0]
    baseline = sorted((p for p in bars if abs(p.get_x() + p.get_width() / 2) < 0.5), key=lambda p: p.get_y())
    base_counts = counts[counts["visit"] == "Baseline"].set_index("category")["n_subjects"]
    first = next(c for c in base_counts.index if base_counts[c] > 0)  # the best band present at baseline
    assert matplotlib.colors.to_hex(baseline[0].get_facecolor()) == lp.BERLIN_COLOURS[first]
    assert sum(p.get_height() for p in baseline) == pytest.approx(1)
    plt.close(fig)


def test_change_distribution_has_every_visit_after_baseline_with_its_n(fixture_pages):
    fig = lp.change_distribution_figure(fixture_pages["crp"], "crp_change_mg_dl",
                                        ylabel="Change in CRP from baseline, mg/dL")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[0].startswith("Day 1") and len(labels) == 7 and "Day 7\nn = 1" in labels
    plt.close(fig)


def test_proportion_figure_draws_the_estimates_with_their_exact_interval():
    props = pd.DataFrame({"visit": ["Day 14", "Day 28"], "target_day": [14, 28], "n_improved": [11, 0],
                          "n_evaluable": [19, 0], "improved_prop": [11 / 19, np.nan],
                          "ci95_lower": [0.335, np.nan], "ci95_upper": [0.797, np.nan]})
    fig = lp.proportion_figure(props, title="Figure 7.5 Improved")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "11/19" in texts and "not estimable" in texts
    plt.close(fig)


# ------------------------------------------------------------------------------ the notebooks

@pytest.mark.parametrize("stem", sorted(PAGES))
def test_the_page_goes_through_the_table_layer(stem):
    nb = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    body = "\n".join(code[1:])
    assert f"page = Page({PAGES[stem]}, cut)" in code[1] and "page.header(" in code[1]
    assert "print(" not in body and "results_display" not in body and "textwrap" not in body
    assert "page.results_table(results" in code[-1] and "with_method_note(" in code[-1]
    for cell in code[2:-1]:  # every table is a numbered page.table, as the cell's last expression
        last = cell.strip().splitlines()
        assert last and (cell.lstrip().startswith(("page.table(", "figures.add_footnote(", "by_visit", "berlin",
                                                   "impressions", "proportions", "worst_rank", "summary"))), cell
        if "page.table(" in cell:
            assert "population=POPULATION, n=N" in cell or "Visit windows" in cell or "bands" in cell
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert "sns" not in body  # figures are drawn in the library, with seaborn


def test_a_visit_with_too_few_pairs_says_so_instead_of_a_p_value():
    from msc_analysis.report import longitudinal_page_tables as lpt_

    s = pd.DataFrame({"visit": ["Baseline", "Day 7", "Day 14"], "target_day": [0, 7, 14], "n_change": [0, 2, 8],
                      "c_median": [float("nan"), -2.5, -3.0], "c_q1": [float("nan"), -3.0, -4.0],
                      "c_q3": [float("nan"), -2.0, -1.0]})
    t = pd.DataFrame({"visit": ["Day 7", "Day 14"], "p_value": [float("nan"), 0.0078125],
                      "test_method": ["not done: too few pairs (2 non-zero changes; at least 6 needed)", "exact"]})
    table = lpt_.change_table(s, "c", decimals=1, unit="points", tests=t)
    assert table["Wilcoxon p"].tolist() == ["too few pairs", "0.008"]


def test_a_visit_median_of_fewer_than_five_subjects_is_marked_and_labelled_with_its_n():
    import matplotlib

    matplotlib.use("Agg")
    from msc_analysis.report import longitudinal_plots

    rows = []
    for i in range(8):
        rows.append({"subject_id": f"S{i}", "visit": "Baseline", "target_day": 0, "status": "measured",
                     "death_day": float("nan"), "v": 10.0 + i})
        rows.append({"subject_id": f"S{i}", "visit": "Day 7", "target_day": 7,
                     "status": "measured" if i < 3 else "discharged", "death_day": float("nan"), "v": 5.0 + i})
    fig = longitudinal_plots.spaghetti_figure(pd.DataFrame(rows), "v", ylabel="V, units")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "n=3" in texts and "n=8" not in texts
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    legend += [t.get_text() for t in (fig.legends[0].get_texts() if fig.legends else [])]
    assert any("fewer than 5" in t for t in legend)
