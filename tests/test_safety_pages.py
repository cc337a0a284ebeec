"""The tables and figures of pages 08 (safety) and 09 (dose and feasibility), as a board reads them.

Cells are text written by the formats of the table layer: counts `n (%)`, intervals in words, days
as whole numbers, a dash or NE with a footnote where there is no value; never NaN, <NA>, None,
inf or scientific notation. Listings keep every row.
"""
import re

import matplotlib
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.derive.follow_up import follow_up
from msc_analysis.endpoints import adverse_events as ae
from msc_analysis.endpoints import ae_coding
from msc_analysis.endpoints import dose_feasibility as dosing
from msc_analysis.endpoints import safety_monitoring as sm
from msc_analysis.report import ae_tables, dose_plots, dose_tables, safety_plots
from msc_analysis.report import safety_tables as st
from msc_analysis.report.page import Page

from .conftest import ROOT

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RAW = re.compile(r"\bnan\b|\bNaN\b|<NA>|\bNone\b|(?<![\w.])-?inf\b|\d[eE][+-]?\d|\.\.\.|…")
CUTS = sorted((ROOT / "data" / "cuts").glob("cut-*"))


def _tables(cut):
    treated = cut.population("treated")
    coded = ae_coding.code_adverse_events(cut.adverse_events)
    flagged = ae.classify_adverse_events(coded)
    toxicities = sm.toxicity_events(flagged, treated)
    evaluable = sm.evaluable_subjects(treated, toxicities, cutoff_date=cut.cutoff_date)
    posterior = sm.posterior_toxicity(evaluable)
    doses = dosing.dose_delivered(cut.infusions)
    delays = dosing.enrollment_to_infusion(cut.subjects)
    return {
        "rules": st.rules_table(),
        "summary": st.format_subject_summary(ae.subjects_with_adverse_events(flagged, treated)),
        "all AEs": st.format_listing(ae.adverse_event_listing(flagged, treated)),
        "by SOC": ae_tables.format_soc_term_table(ae.adverse_events_by_soc_and_term(flagged, treated)),
        "uncoded": ae_tables.format_uncoded_terms(ae_coding.uncoded_terms(coded)),
        "relatedness": ae_tables.format_relatedness_by_grade(ae.relatedness_by_grade(flagged, treated)),
        "rates": ae_tables.format_event_rates(
            ae_coding.events_per_100_subject_days(flagged, follow_up(treated, cut.cutoff_date))),
        "coded listing": ae_tables.format_coded_listing(ae.adverse_event_listing(flagged, treated)),
        "SAEs": st.format_listing(ae.serious_ae_listing(flagged, treated)),
        "before infusion": st.format_listing(ae.pre_infusion_listing(flagged)),
        "deaths": st.format_deaths(ae.death_listing(treated, flagged)),
        "posterior": st.format_posterior(posterior, evaluable),
        "boundary": st.format_boundary(sm.monitoring_boundary(len(treated) + 10), posterior),
        "feasibility": dose_tables.format_feasibility(dosing.feasibility_proportions(cut.subjects, doses),
                                                      dosing.delay_summary(delays), dosing.dose_summary(doses)),
        "doses": dose_tables.format_dose_listing(doses),
        "not infused": dose_tables.format_not_infused(dosing.not_infused_listing(cut.subjects, cut.cutoff_date)),
    }


@pytest.fixture(scope="module", params=CUTS, ids=[c.name for c in CUTS])
def tables(request):
    return _tables(load_cut(request.param))


def test_every_cell_of_every_table_is_text_without_raw_values(tables):
    for name, frame in tables.items():
        assert all(isinstance(c, str) for c in frame.columns), name
        for value in frame.to_numpy().ravel():
            assert isinstance(value, str), (name, value)
            assert not RAW.search(value), (name, value)


def test_the_summary_gives_counts_with_percentages_and_the_exact_interval_in_words(tables):
    row = tables["summary"].iloc[0]
    assert re.fullmatch(r"\d+ \(\d+\.\d%\)", row["n (% of treated)"])
    assert re.fullmatch(r"\d+\.\d% to \d+\.\d%", row["Exact 95% CI"])
    assert re.fullmatch(r"\d+", row["Events"])
    # The worst-grade rows count subjects only: no events, a dash (explained by the layer's footnote).
    assert (tables["summary"].iloc[1:6]["Events"] == "–").all()


def test_the_posterior_says_credible_interval_in_words(tables):
    quantities = tables["posterior"].set_index("Quantity")["Value"]
    label = next(q for q in quantities.index if "credible interval" in q)
    assert re.fullmatch(r"\d+\.\d% \(\d+\.\d% to \d+\.\d%\)", quantities[label])


def test_the_subject_enrolled_118_days_before_the_final_cutoff_is_not_said_to_be_infusable():
    cut = load_cut(ROOT / "data" / "cuts" / "cut-2020-12-30")
    table = dose_tables.format_not_infused(dosing.not_infused_listing(cut.subjects, cut.cutoff_date))
    assert table[["Subject", "Status at the cutoff", "Reason not infused"]].values.tolist() == [
        ["HCPA-014", "not infused (118 days since enrollment)", "withdrew consent before the infusion"]]


def test_a_long_listing_is_never_cut_short():
    rows = pd.DataFrame({"Subject": [f"S{i:03d}" for i in range(400)], "AE term": "Fever"})
    table = Page(8, None, check=False).table(rows, "Listing of adverse events", population="treated population",
                                             n=400, listing=True)
    html = table.html()
    assert len(table) == 400 and all(f">S{i:03d}<" in html for i in range(400))


def test_a_long_label_is_wrapped_never_cut():
    label = "Related to the MSC infusion (possible/probable/definite or not assessed)"
    summary = pd.DataFrame({"category": ["related_ae"], "n_subjects": [3], "n_events": [4], "n_treated": [31],
                            "ci95_lower": [0.02], "ci95_upper": [0.26]})
    html = Page(8, None, check=False).table(st.format_subject_summary(summary), "Summary").html()
    assert label in html


def test_the_banner_escapes_its_text_and_says_crossed():
    banner = st.monitoring_banner(sm.posterior_from_counts(2, 5, prior_a=1, prior_b=1, threshold_prop=0.2,
                                                           boundary_prob=0.9))
    assert "MONITORING BOUNDARY CROSSED" in banner and "&gt; 20%" in banner and "0.901" in banner
    assert banner._repr_html_() == str(banner)


def test_the_onset_bars_keep_the_grade_colours():
    counts = pd.DataFrame({"days_since_infusion": [0, 0, 3, -1], "grade": [1, 3, 5, 2], "n_events": [2, 1, 1, 1]})
    fig = safety_plots.ae_onset_figure(counts, "5.0", "Figure 8.1 Onset")
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches if p.get_height() > 0}
    assert colours <= set(safety_plots.GRADE_COLOURS.values()) | {"#eeeeee"}
    assert {safety_plots.GRADE_COLOURS[g] for g in (1, 2, 3, 5)} <= colours
    assert fig.axes[0].get_title(loc="left") == "Figure 8.1 Onset"
    plt.close(fig)


def test_figures_with_nothing_to_draw_say_why_without_empty_axes():
    delays = pd.DataFrame({"subject_id": pd.Series([], dtype=str),
                           "enrollment_to_infusion_days": pd.array([], dtype="Int64")})
    made = [safety_plots.ae_onset_figure(pd.DataFrame(columns=["days_since_infusion", "grade", "n_events"]), "5.0"),
            dose_plots.dose_figure(dosing.dose_delivered(pd.DataFrame(columns=["subject_id", "cells_infused",
                                                                               "weight_kg"]))),
            dose_plots.delay_figure(delays)]
    for fig in made:
        (ax,) = fig.axes
        assert not ax.axison and ax.texts[0].get_text()
        plt.close(fig)


def test_the_dose_histogram_colours_doses_outside_the_tolerance():
    inf = pd.DataFrame({"subject_id": ["A", "B"], "cells_infused": [8.0e7, 6.0e7], "weight_kg": [80.0, 80.0]})
    fig = dose_plots.dose_figure(dosing.dose_delivered(inf, target_cells_per_kg=1e6, tolerance_pct=10))
    colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches if p.get_height() > 0}
    assert set(dose_plots.TOLERANCE_COLOURS.values()) <= colours
    plt.close(fig)


@pytest.mark.parametrize("cut_dir", CUTS, ids=[c.name for c in CUTS])
def test_every_demo_ae_is_coded_and_listed(cut_dir):
    cut = load_cut(cut_dir)
    treated = cut.population("treated")
    coded = ae_coding.code_adverse_events(cut.adverse_events)
    assert (coded["coding"] != ae_coding.UNCODED).all()
    flagged = ae.classify_adverse_events(coded)
    ids = set(treated["subject_id"].astype(str))
    assert len(ae_tables.format_coded_listing(ae.adverse_event_listing(flagged, treated))) == \
        int(cut.adverse_events["subject_id"].astype(str).isin(ids).sum())
