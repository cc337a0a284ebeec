"""Degenerate but valid cuts: missing data reads "not estimable: <reason>", never a zero.

Each cut is the hand-made fixture (tests/fixtures/valid_cut) with one thing taken away. In the
fixture S01 (infused 2020-08-02, last seen 2020-09-25, discharged 2020-08-20) and S02 (infused
2020-08-05, died 2020-08-15 in hospital, day 10) are the two treated subjects; S07 is screened
after the cutoff and S03-S06 are never infused. The expectations below are worked out by hand
from those dates.

The metric tests load a cut and call the endpoint functions in-process (fast). Two full runs of
every notebook (about 30 s each) check what a reader sees: a first interim cut taken before any
infusion, and a cut combining every degenerate case at once.
"""
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.endpoints import adverse_events as ae
from msc_analysis.endpoints import crp, hospital_stay, overview
from msc_analysis.endpoints import liao_improvement as liao
from msc_analysis.endpoints import overall_survival as os_
from msc_analysis.endpoints import pao2_fio2, pcr_negativity, radiology
from msc_analysis.report import longitudinal_plots as lp
from msc_analysis.report import longitudinal_tables as lt
from msc_analysis.report import survival_tables
from msc_analysis.report.results import result_rows

from .conftest import FIXTURE_CUT, ROOT

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
VITAL_VALUES = ("resp_rate_per_min", "spo2_pct", "on_oxygen", "temp_c", "sbp_mmhg", "heart_rate_bpm",
                "consciousness")
INFUSED = {"S01": "2020-08-02", "S02": "2020-08-05"}


# ---------------------------------------------------------------------------------- the cut builder

def header_only(frame):
    return frame.iloc[:0]


def empty_vital_signs(frame):
    """Every assessment kept, every vital-sign value blank."""
    return frame.assign(**dict.fromkeys(VITAL_VALUES, ""))


def only_s01(frame):
    return frame[frame["subject_id"] == "S01"]


def dead_on_day_0(frame):
    """Each treated subject dies (in hospital) on the day of the infusion."""
    frame = frame.copy()
    treated = frame["subject_id"].isin(list(INFUSED))
    day0 = frame.loc[treated, "subject_id"].map(INFUSED)
    frame.loc[treated, "died_on"] = day0
    frame.loc[treated, "last_known_alive_on"] = day0
    frame.loc[treated, "discharged_on"] = ""
    return frame


CUTS = {
    "no-infusion": {"infusions": header_only},
    "no-pcr": {"pcr": header_only},
    "empty-vitals": {"vitals": empty_vital_signs},
    "dead-day-0": {"subjects": dead_on_day_0, "adverse_events": header_only},
    "no-aes": {"adverse_events": header_only},
    "no-imaging": {"imaging": header_only},
    "no-labs": {"labs": header_only},
    "no-gases": {"blood_gases": header_only},
    "single": {"infusions": only_s01},
}
CUTS["combined"] = {**CUTS["single"], **CUTS["dead-day-0"], **CUTS["no-pcr"], **CUTS["empty-vitals"],
                    **CUTS["no-imaging"], **CUTS["no-labs"], **CUTS["no-gases"]}


def build_cut(folder, name):
    """Copy the fixture cut to ``folder/name`` and apply the edits of ``CUTS[name]`` (table ->
    function of the table read as text); the cut_id becomes ``degenerate-<name>``."""
    path = folder / name
    shutil.copytree(FIXTURE_CUT, path)
    for table, edit in CUTS[name].items():
        csv = path / f"{table}.csv"
        edit(pd.read_csv(csv, dtype=str, keep_default_na=False)).to_csv(csv, index=False)
    meta = path / "cut.yaml"
    meta.write_text(re.sub(r"(?m)^cut_id:.*$", f"cut_id: degenerate-{name}", meta.read_text()))
    return path


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("degenerate_cuts")
    return {name: load_cut(build_cut(folder, name)) for name in CUTS}


def treated(cut):
    return cut.population("treated")


# ------------------------------------------------------------------------------ metric functions

def test_the_builder_makes_valid_cuts_with_the_intended_gap(cuts):
    assert len(treated(cuts["no-infusion"])) == 0 and len(cuts["no-infusion"].subjects) == 6
    assert len(cuts["no-pcr"].pcr) == 0 and len(treated(cuts["no-pcr"])) == 2
    assert cuts["empty-vitals"].vitals[list(VITAL_VALUES[:2])].isna().all().all()
    assert treated(cuts["single"])["subject_id"].tolist() == ["S01"]
    combined = treated(cuts["combined"])
    assert combined["subject_id"].tolist() == ["S01"] and (combined["died_on"] == combined["infused_on"]).all()


def test_no_pcr_rows_make_negativity_not_estimable_not_zero(cuts):
    cut = cuts["no-pcr"]
    status = pcr_negativity.negativity_status(cut.subjects, cut.pcr)
    # S01: no result, censored on day 0; S02: died on day 10 (competing). Without the rule the
    # Aalen-Johansen estimate at day 7 would be 0 % with the interval [0, 0] (S02 still at risk).
    assert status.set_index("subject_id")["event"].to_dict() == {"S01": 0, "S02": 2}
    inc = pcr_negativity.incidence_at_days(status)
    assert inc["cumulative_incidence_prop"].isna().all() and inc["ci95_lower"].isna().all()
    assert set(inc["not_estimable_reason"]) == {"no data (no RT-PCR result)"}
    median = pcr_negativity.median_negativity(status).iloc[0]
    assert np.isnan(median["median_days"])  # not inf: "not reached" would claim follow-up
    shown = survival_tables.incidence_table(inc)["Cumulative incidence, % (95% CI)"]
    assert set(shown) == {"not estimable: no data (no RT-PCR result)"}
    rows = result_rows("pcr_negativity", pcr_negativity.headline_measures(status))
    estimates = rows[rows["measure"].isin(["cumulative_incidence_prop", "median_days"])]
    assert estimates["estimate"].isna().all()
    assert estimates["method"].str.endswith("not estimable: no data (no RT-PCR result)").all()


def test_a_cut_with_pcr_results_still_estimates_negativity_from_them(cuts):
    # the rule above only applies when nobody has a result: the fixture itself is estimated
    cut = cuts["no-aes"]
    inc = pcr_negativity.incidence_at_days(pcr_negativity.negativity_status(cut.subjects, cut.pcr))
    assert (inc["not_estimable_reason"] == "").sum() > 0


def test_empty_vital_signs_make_the_sustained_low_score_not_estimable_not_zero(cuts):
    cut = cuts["empty-vitals"]
    scored = liao.score_assessments(cut.vitals, treated(cut))
    assert (scored["n_vital_signs"] == 0).all()
    for include_incomplete in (False, True):  # an assessment without any value is never a low score
        times = liao.sustained_low_score(scored, treated(cut), include_incomplete=include_incomplete)
        # S01 censored on day 0 (no assessment), S02 died in hospital on day 10 (competing)
        assert times.set_index("subject_id")["event"].to_dict() == {"S01": 0, "S02": 2}
        inc = liao.sustained_low_score_incidence(times, [7, 14, 28, 60])
        assert inc["cumulative_incidence_prop"].isna().all()
        assert set(inc["not_estimable_reason"]) == {"no data (no usable vital signs)"}
    shown = lt.incidence_display(inc)["Cumulative incidence, % (95% CI)"]
    assert set(shown) == {"not estimable: no data (no usable vital signs)"}
    improvement = liao.improvement_proportions(liao.level_improvement(scored, treated(cut)))
    assert improvement["improved_prop"].isna().all() and (improvement["n_evaluable"] == 0).all()
    assert improvement["not_estimable_reason"].tolist() == [f"no subject evaluable at day {d}"
                                                             for d in (7, 14, 28, 60)]
    summary = liao.score_change_summary(liao.liao_by_visit(scored, treated(cut)))
    assert set(summary["liao_total_not_estimable_reason"]) == {"no subject measured"}


def test_everyone_dead_on_day_0_has_a_median_of_0_not_nr_and_a_survival_of_0(cuts):
    times = os_.survival_times(cuts["dead-day-0"].subjects, cuts["dead-day-0"].cutoff_date)
    assert times["time_days"].tolist() == [0, 0] and times["event"].tolist() == [1, 1]
    median = os_.median_survival_by_group(times)
    # R: quantile(survfit(Surv(c(0, 0), c(1, 1)) ~ 1, conf.type = "log-log")) -> 0, NA, NA
    assert median["median_days"].item() == 0
    assert median[["ci95_lower", "ci95_upper"]].isna().all(axis=None)
    assert survival_tables.median_cells(median)["Median, days (95% CI)"].item() == "0 (CI not estimable)"
    at = os_.survival_at_days(times)
    assert at["survival_prop"].tolist() == [0, 0]  # a real 0: both died; the interval is undefined
    assert set(survival_tables.survival_cells(at)["Survival (95% CI)"]) == {"0.0% (CI not estimable)"}


def test_no_subject_infused_yet_makes_every_post_infusion_estimate_not_estimable(cuts):
    cut = cuts["no-infusion"]
    reason = "no subject infused yet"
    times = os_.survival_times(cut.subjects, cut.cutoff_date)
    assert set(os_.survival_at_days(times)["not_estimable_reason"]) == {reason}
    assert os_.median_survival_by_group(times)["not_estimable_reason"].item() == reason
    status = pcr_negativity.negativity_status(cut.subjects, cut.pcr)
    assert set(pcr_negativity.incidence_at_days(status)["not_estimable_reason"]) == {reason}
    course = hospital_stay.hospital_course(cut.subjects, cut.cutoff_date)
    assert set(hospital_stay.discharge_at_days(course)["not_estimable_reason"]) == {reason}
    assert set(hospital_stay.hospital_free_days_summary(course)["not_estimable_reason"]) == {reason}
    summary = crp.crp_summary(crp.crp_by_visit(cut.labs, treated(cut)))
    assert len(summary) == 8 and set(summary["crp_mg_dl_not_estimable_reason"]) == {reason}
    assert len(pao2_fio2.berlin_shift_table(pao2_fio2.pf_by_visit(cut.blood_gases, treated(cut)), [7, 14, 28])
               .query("n_subjects > 0")) == 0
    impressions = radiology.impression_by_visit(cut.imaging, treated(cut))
    assert radiology.impression_shift(impressions, 14, 28)["n_subjects"].sum() == 0
    assert set(radiology.improvement_proportions(impressions)["not_estimable_reason"]) == {reason}
    scored = liao.score_assessments(cut.vitals, treated(cut))
    per_subject = liao.level_improvement(scored, treated(cut), horizons=(7, 14))
    assert set(liao.improvement_proportions(per_subject, horizons=(7, 14))["not_estimable_reason"]) == {reason}
    flagged = ae.classify_adverse_events(cut.adverse_events)
    head = ae.headline_measures(ae.subjects_with_adverse_events(flagged, treated(cut)),
                                ae.death_listing(treated(cut), flagged))
    props = head[head["measure"].str.endswith("_prop")]
    assert props["estimate"].isna().all() and props["method"].str.endswith(f"not estimable: {reason}").all()


def test_the_notice_says_plainly_that_nobody_has_been_infused_yet(cuts):
    notice = overview.infusion_notice(cuts["no-infusion"].subjects, cuts["no-infusion"].cutoff_date)
    assert notice.startswith("NOTE: no subject infused yet at this cutoff (2020-09-30)")
    assert "6 screened, 3 enrolled, 0 treated" in notice
    assert overview.infusion_notice(cuts["single"].subjects, cuts["single"].cutoff_date) == \
        "Treated (infused) subjects at this cutoff (2020-09-30): 1 of 3 enrolled."


def test_no_labs_gases_or_imaging_leave_each_visit_median_not_estimable_with_the_reason(cuts):
    crp_summary = crp.crp_summary(crp.crp_by_visit(cuts["no-labs"].labs, treated(cuts["no-labs"])))
    pf_summary = pao2_fio2.pf_summary(pao2_fio2.pf_by_visit(cuts["no-gases"].blood_gases,
                                                           treated(cuts["no-gases"])))
    ct_summary = radiology.ct_summary(radiology.ct_by_visit(cuts["no-imaging"].imaging,
                                                           treated(cuts["no-imaging"])))
    for summary, stem in ((crp_summary, "crp_mg_dl"), (pf_summary, "pf_ratio_mmhg"),
                          (ct_summary, "ct_severity_score")):
        assert (summary["n_subjects"] == 2).all() and (summary["n_measured"] == 0).all()
        assert summary[f"{stem}_median"].isna().all()
        assert set(summary[f"{stem}_not_estimable_reason"]) == {"no subject measured"}
    head = crp.headline_measures(crp_summary)
    assert head["estimate"].isna().all() and head["method"].str.contains("not estimable: no subject").all()
    shown = lt.visit_summary_display(crp_summary, value_column="crp_mg_dl", change_column="crp_change_mg_dl")
    assert set(shown["Value, median (IQR)"]) == {"NE"}
    props = radiology.improvement_proportions(radiology.impression_by_visit(cuts["no-imaging"].imaging,
                                                                            treated(cuts["no-imaging"])))
    # S02 died on day 10, before every CT visit; S01 had no scan: no read scan, no estimate
    assert props["improved_prop"].isna().all()
    assert set(props["not_estimable_reason"]) == {"no read scan at this visit"}


def test_no_adverse_events_is_a_real_zero_with_a_real_interval(cuts):
    cut = cuts["no-aes"]
    flagged = ae.classify_adverse_events(cut.adverse_events)
    summary = ae.subjects_with_adverse_events(flagged, treated(cut)).set_index("category")
    any_teae = summary.loc["any_teae"]
    # 0 of 2 treated: Clopper-Pearson upper limit 1 - 0.025 ** (1 / 2) = 0.8419
    assert any_teae["estimate_prop"] == 0 and any_teae["ci95_lower"] == 0
    assert any_teae["ci95_upper"] == pytest.approx(1 - 0.025 ** 0.5, abs=1e-9)


def test_a_single_treated_subject_alive_gives_100_percent_and_a_median_not_reached(cuts):
    times = os_.survival_times(cuts["single"].subjects, cuts["single"].cutoff_date)
    assert times[["time_days", "event"]].values.tolist() == [[54, 0]]  # 2020-08-02 -> 2020-09-25
    at = os_.survival_at_days(times).set_index("day")
    assert at.loc[30, "survival_prop"] == 1 and at.loc[30, "not_estimable_reason"] == ""
    assert at.loc[60, "not_estimable_reason"] == "nobody at risk at day 60"
    shown = survival_tables.survival_cells(at.reset_index())["Survival (95% CI)"].tolist()
    assert shown == ["100.0% (no deaths yet)", "not estimable: nobody at risk at day 60"]
    assert os_.median_survival_by_group(times)["median_days"].item() == np.inf  # never below 1/2


def test_figures_with_nothing_to_draw_say_why_in_words_instead_of_empty_axes(cuts):
    import matplotlib.pyplot as plt

    from msc_analysis.report import hospital_plots, survival_plots

    none, gases = cuts["no-infusion"], cuts["no-gases"]
    status = pcr_negativity.negativity_status(cuts["no-pcr"].subjects, cuts["no-pcr"].pcr)
    course = hospital_stay.hospital_course(none.subjects, none.cutoff_date)
    figures = {
        "no subject infused yet": [
            lp.spaghetti_figure(crp.crp_by_visit(none.labs, treated(none)), "crp_mg_dl", ylabel="CRP"),
            lp.impression_bars_figure(radiology.impression_counts(radiology.impression_by_visit(
                none.imaging, treated(none)))),
            hospital_plots.stay_distribution_figure(course, hospital_stay.HOSPITAL_STATUSES),
            survival_plots.cumulative_incidence_figure(hospital_stay.discharge_curves(course),
                                                       hospital_stay.risk_table(course), horizon_days=60,
                                                       ylabel="Cumulative incidence")],
        "no value at baseline or at any visit": [
            lp.spaghetti_figure(pao2_fio2.pf_by_visit(gases.blood_gases, treated(gases)), "pf_ratio_mmhg",
                                ylabel="P/F")],
        "no data (no RT-PCR result)": [
            survival_plots.cumulative_incidence_figure(pcr_negativity.incidence_curves(status),
                                                       pcr_negativity.risk_table(status), horizon_days=28,
                                                       ylabel="Cumulative incidence")],
    }
    for reason, made in figures.items():
        for fig in made:
            (ax,) = fig.axes
            assert not ax.axison and f"not estimable ({reason})" in ax.texts[0].get_text().replace("\n", " ")
            plt.close(fig)


# ------------------------------------------------------------------ full runs of every notebook

class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(path):
    """The text a reader sees on a page (no script or style), whitespace runs as one space."""
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(parser.parts).split())


#: What a reader must never see on a page: raw missing values, infinities, zero-width zeros.
FORBIDDEN = {"NaN": r"\bNaN\b", "nan%": r"\bnan%", "inf": r"(?<![\w.])-?inf\b", "<NA>": r"<NA>",
             "0.0 (0.0 to 0.0)": r"0\.0 \(0\.0 to 0\.0\)", "NR to NR": r"NR to NR"}


def _run(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp(f"run_{name}")
    cut = build_cut(folder, name)
    out = folder / "reports"
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(cut), "--out", str(out), "--no-pdf"],
                          capture_output=True, text=True, timeout=600)
    report = out / f"degenerate-{name}"
    pages = {stem: visible_text(report / f"{stem}.html") for stem in NOTEBOOKS
             if (report / f"{stem}.html").exists()}
    return proc, pages


@pytest.fixture(scope="module")
def no_infusion_run(tmp_path_factory):
    return _run(tmp_path_factory, "no-infusion")


@pytest.fixture(scope="module")
def combined_run(tmp_path_factory):
    return _run(tmp_path_factory, "combined")


def _assert_clean(proc, pages):
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(pages) == NOTEBOOKS
    for stem, text in pages.items():
        assert "Traceback" not in text and not re.search(r"\b[A-Z]\w*Error\b", text), stem
        for label, pattern in FORBIDDEN.items():
            hit = re.search(pattern, text)
            assert hit is None, f"{stem} shows {label!r}: ...{text[max(0, hit.start() - 80):hit.end() + 80]}..."


def test_a_cut_before_any_infusion_runs_every_page_without_a_traceback_or_raw_missing_values(no_infusion_run):
    _assert_clean(*no_infusion_run)


def test_every_page_of_a_cut_before_any_infusion_says_so_near_the_top(no_infusion_run):
    _, pages = no_infusion_run
    for stem, text in pages.items():
        at = text.find("NOTE: no subject infused yet at this cutoff (2020-09-30)")
        assert at >= 0, stem
        assert at < text.find("¶", text.find("¶") + 1) or text.count("¶") < 2, f"{stem}: notice not near the top"


def test_pages_of_a_cut_before_any_infusion_give_reasons_not_zeros(no_infusion_run):
    _, pages = no_infusion_run
    in_table = "not estimable: no subject infused yet"
    in_visit_tables = ("NE = not estimable", "their estimates on this page are not estimable, never 0")
    expected = {
        "01_overall_survival": (in_table,), "02_pcr_negativity": (in_table,), "03_hospital_stay": (in_table,),
        "04_crp": in_visit_tables, "05_pao2_fio2": in_visit_tables, "06_liao_score": (in_table,),
        "07_radiology": (in_table,),
        "08_safety": ("No treatment-emergent adverse event in this cut.",),
    }
    for stem, words in expected.items():
        for w in words:
            assert w in pages[stem], (stem, w)
    assert "0.0%" not in pages["01_overall_survival"] + pages["02_pcr_negativity"] + pages["03_hospital_stay"]


def test_a_cut_combining_every_degenerate_case_runs_every_page_cleanly(combined_run):
    _assert_clean(*combined_run)


def test_pages_of_the_combined_degenerate_cut_say_why_each_estimate_is_missing(combined_run):
    _, pages = combined_run
    expected = {
        "00_overview": "Treated (infused) subjects at this cutoff (2020-09-30): 1 of 3 enrolled.",
        "01_overall_survival": "0 (CI not estimable)",
        "02_pcr_negativity": "not estimable: no data (no RT-PCR result)",
        "03_hospital_stay": "not estimable: no subject with this status",
        "04_crp": "NE = not estimable",
        "05_pao2_fio2": "NE = not estimable",
        "06_liao_score": "not estimable: no data (no usable vital signs)",
        "07_radiology": "not estimable: no read scan at this visit",
        "08_safety": "No treatment-emergent adverse event in this cut.",
    }
    for stem, words in expected.items():
        assert words in pages[stem], stem
    assert "0 (NR" not in pages["01_overall_survival"]
