"""Display tables, notes and headline rows of the longitudinal endpoints (CRP, PaO2/FiO2,
Liao, chest CT).

Numbers come from the endpoint modules; this module only turns them into text, and per-visit
medians into headline results rows (:func:`median_measures`, which the endpoints' own
``headline_measures`` use). The figures are in :mod:`msc_analysis.report.longitudinal_plots`.

Nothing missing is shown as a number: a median over nobody is "NE" in the visit tables
(explained by :data:`NE_NOTE`), and a proportion or cumulative incidence that cannot be
estimated reads "not estimable: <reason>".

The numbered page tables of the CRP, PaO2/FiO2 and chest CT pages are built by
:mod:`msc_analysis.report.longitudinal_page_tables`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.baseline import baseline_rule
from ..derive.visits import QUANTILE_METHOD, visit_windows
from ..stats.binomial import EXACT_CI_METHOD
from ..stats.estimability import with_reason
from ..stats.worst_rank import WORST_RANK_METHOD
from . import formats

__all__ = ["fmt", "NE_NOTE", "baseline_note", "windows_note", "bands_display", "windows_display", "spaghetti_note",
           "visit_summary_display", "incidence_display",
           "median_measures", "worst_rank_measures"]

_DASH = "\u2013"
_NE = "NE"
#: Footnote of the visit tables: what "NE" means there.
NE_NOTE = ("NE = not estimable: nobody measured at that visit (for the change: nobody measured who also had a "
           "baseline; for a test or ratio: no such pair); with nobody infused yet every visit is NE")


def fmt(x, decimals: int = 1) -> str:
    """A number for display; a dash for a missing one.

    Examples
    --------
    >>> fmt(3.14159, 2), fmt(float("nan"))
    ('3.14', '–')
    """
    return _DASH if x is None or pd.isna(x) else f"{x:.{decimals}f}"


_DAY0_TEXT = {"earliest": "on day 0 only the earliest value of the day counts",
              "all": "every value of day 0 counts (the last one wins)",
              "none": "values of day 0 do not count"}


def baseline_note(family: str, summary: pd.DataFrame) -> str:
    """The baseline rule of ``family`` and how many subjects lacked a baseline, as a sentence.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visit_summary.summarise_visits``: ``n_subjects``, ``n_no_baseline``.
    """
    rule = baseline_rule(family)
    n = int(summary["n_subjects"].iloc[0]) if len(summary) else 0
    lacking = int(summary["n_no_baseline"].iloc[0]) if len(summary) else 0
    return (f"Baseline: last value on or before the infusion day (day 0), at most "
            f"{rule['window_days_before']} days before it; {_DAY0_TEXT[rule['day0_values']]}. "
            f"{lacking} of {n} subjects had no baseline.")


def windows_note(family: str) -> str:
    """The visit windows of ``family`` as a sentence.

    Examples
    --------
    >>> windows_note("ct")[:60]
    'Visit windows (days since the infusion): Day 14 (7-21), Day '
    """
    w = visit_windows(family)
    spans = [f"{r.visit} ({r.lower_day}-{r.upper_day})" if r.lower_day != r.upper_day
             else f"{r.visit} ({r.lower_day})" for r in w.itertuples()]
    return ("Visit windows (days since the infusion): " + ", ".join(spans)
            + "; within a window the value nearest the target day is used, the earlier one on a tie.")


def bands_display(bands: pd.DataFrame, unit: str = "mmHg") -> pd.DataFrame:
    """Value bands (``category``, ``lower_<unit>``, ``upper_<unit>``; ``lower < value <= upper``,
    open ends as infinities) as words, e.g. the Berlin bands of PaO2/FiO2.

    Examples
    --------
    >>> b = pd.DataFrame({"category": ["high", "low"], "lower_mmhg": [300.0, -np.inf],
    ...                   "upper_mmhg": [np.inf, 300.0]})
    >>> bands_display(b)["Values (mmHg)"].tolist()
    ['above 300', 'up to 300']
    """
    lower, upper = bands[f"lower_{unit.lower()}"], bands[f"upper_{unit.lower()}"]
    words = [f"above {lo:g}" if np.isinf(hi) else f"up to {hi:g}" if np.isinf(lo) else f"above {lo:g}, up to {hi:g}"
             for lo, hi in zip(lower, upper)]
    return pd.DataFrame({f"Values ({unit})": words}, index=pd.Index(bands["category"].to_numpy(), name="Category"))


def windows_display(family: str) -> pd.DataFrame:
    """The visit windows of ``family`` for display: target day and window, by visit."""
    w = visit_windows(family)
    return pd.DataFrame({"Target day": w["target_day"].to_numpy(),
                         "Window (days since infusion)": [f"{a} to {b}" if a != b else f"{a}"
                                                          for a, b in zip(w["lower_day"], w["upper_day"])]},
                        index=pd.Index(w["visit"].to_numpy(), name="Visit"))


def spaghetti_note(by_visit: pd.DataFrame, max_lines: int = 60) -> str:
    """What the thin lines of ``longitudinal_plots.spaghetti_figure`` show (for the footnote)."""
    n = by_visit["subject_id"].nunique()
    if n <= max_lines:
        return f"thin lines: each of the {n} subjects"
    return (f"thin lines: a random sample of {max_lines} of the {n} subjects (fixed seed); "
            "median and interquartile band from every subject measured at the visit, drawn or not")


def _median_iqr(row, column: str, decimals: int) -> str:
    m = row[f"{column}_median"]
    if pd.isna(m):
        return _NE
    return f"{fmt(m, decimals)} ({fmt(row[f'{column}_q1'], decimals)} to {fmt(row[f'{column}_q3'], decimals)})"


def visit_summary_display(summary: pd.DataFrame, *, value_column: str, change_column: str,
                          tests: pd.DataFrame | None = None, ratio: pd.DataFrame | None = None,
                          decimals: int = 1) -> pd.DataFrame:
    """One display row per visit: who is behind it, value and change as median (IQR), tests.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visit_summary.summarise_visits`` (via an endpoint module).
    value_column, change_column : str
        Column stems of the value and of the change in ``summary``.
    tests, ratio : DataFrame, optional
        Wilcoxon results (``stats.paired.signed_rank_by_visit``) and geometric-mean ratios
        (``stats.paired.geometric_mean_ratio_by_visit``) to add.

    Returns
    -------
    DataFrame
        Text cells indexed by visit.
    """
    out = pd.DataFrame({
        "Measured": summary["n_measured"].to_numpy(),
        "Died": summary["n_died"].to_numpy(), "Discharged": summary["n_discharged"].to_numpy(),
        "Lost to follow-up": summary.get("n_lost_to_follow_up", pd.Series(0, index=summary.index)).to_numpy(),
        "Not yet reached": summary["n_not_reached"].to_numpy(), "No value": summary["n_no_value"].to_numpy(),
        "Value, median (IQR)": [_median_iqr(r, value_column, decimals) for _, r in summary.iterrows()],
        "n with change": np.where(summary["target_day"] > 0, summary["n_change"].astype(str), ""),
        "Change, median (IQR)": [_median_iqr(r, change_column, decimals) if r["target_day"] > 0 else ""
                                 for _, r in summary.iterrows()],
    }, index=pd.Index(summary["visit"].to_numpy(), name="Visit"))
    if tests is not None:
        p = tests.set_index("visit")
        how = p["test_method"] if "test_method" in p else pd.Series("", index=p.index)
        out["Wilcoxon p"] = [formats.p_value_or_reason(p.loc[v, "p_value"], how.get(v, "")) if v in p.index else ""
                             for v in out.index]
    if ratio is not None:
        r = ratio.set_index("visit")
        out["Ratio to baseline, GM (95% CI)"] = [
            _ratio(r.loc[v]) if v in r.index else "" for v in out.index]
    return out


def _ratio(r) -> str:
    if pd.isna(r["geometric_mean_ratio"]):
        return _NE
    if pd.isna(r["ci95_lower"]) or pd.isna(r["ci95_upper"]):
        return f"{fmt(r['geometric_mean_ratio'], 2)} (CI {_NE}: one pair)"
    return f"{fmt(r['geometric_mean_ratio'], 2)} ({fmt(r['ci95_lower'], 2)} to {fmt(r['ci95_upper'], 2)})"


def _not_estimable(reason) -> str:
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else "not estimable"


def incidence_display(incidence: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence at given days as text: at risk, events so far, "p% (lower% to upper%)".

    Parameters
    ----------
    incidence : DataFrame
        ``time_days``, ``n_at_risk``, ``cumulative_incidence_prop``, ``ci95_lower``,
        ``ci95_upper`` (``stats.competing_risks.cumulative_incidence`` with ``times``) and
        optionally ``not_estimable_reason`` (shown as "not estimable: <reason>"). A 0 with a
        zero-width interval reads "0.0 (no events yet)"; a missing limit "NE".
    """
    def pct(x):
        return _NE if pd.isna(x) else f"{100 * x:.1f}"

    def cell(r) -> str:
        if pd.isna(r.cumulative_incidence_prop):
            return _not_estimable(getattr(r, "not_estimable_reason", ""))
        if r.cumulative_incidence_prop == 0 and r.ci95_lower == r.ci95_upper == 0:
            return "0.0 (no events yet)" if r.n_at_risk > 0 else "0.0 (no events; nobody left at risk)"
        return f"{pct(r.cumulative_incidence_prop)} ({pct(r.ci95_lower)} to {pct(r.ci95_upper)})"

    return pd.DataFrame({
        "At risk": incidence["n_at_risk"].to_numpy(),
        "Cumulative incidence, % (95% CI)": [cell(r) for r in incidence.itertuples()]},
        index=pd.Index(incidence["time_days"].astype(int).to_numpy(), name="Day"))


def median_measures(summary: pd.DataFrame, column: str, *, measure: str, unit: str,
                    n_column: str, what: str, include_baseline: bool) -> pd.DataFrame:
    """Headline rows (results schema) of a per-visit median, with the IQR in the CI columns.

    Parameters
    ----------
    summary : DataFrame
        From :func:`~msc_analysis.derive.visit_summary.summarise_visits`: ``target_day``,
        ``n_subjects``, ``n_no_baseline``, ``<column>_median``, ``_q1``, ``_q3``, ``n_column`` and (optional)
        ``<column>_not_estimable_reason``. Every visit is reported, a visit without data with
        a missing estimate, ``n`` 0 and a ``method`` saying why.
    column, measure, unit, n_column, what : str
        Summary column stem, measure name, unit, count column and a description of the value
        for the ``method`` text.
    include_baseline : bool
        Keep the baseline row (``day`` 0); false for changes from baseline.

    Returns
    -------
    DataFrame
        ``measure``, ``group`` ("all"), ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``,
        ``n``, ``unit``, ``method``: ready for :func:`~msc_analysis.report.results.result_rows`.
    """
    rows = summary if include_baseline else summary[summary["target_day"] > 0]
    reasons = rows.get(f"{column}_not_estimable_reason", pd.Series("", index=rows.index))
    return pd.DataFrame({
        "measure": measure, "group": "all", "day": rows["target_day"].to_numpy(),
        "estimate": rows[f"{column}_median"].to_numpy(),
        "ci95_lower": rows[f"{column}_q1"].to_numpy(), "ci95_upper": rows[f"{column}_q3"].to_numpy(),
        "n": rows[n_column].to_numpy(), "unit": unit,
        "method": [with_reason(f"median of {what}; day 0 = baseline (last value on or before the infusion; "
                               f"{k} of {n} subjects had none); lower and upper hold the interquartile range (Q1, Q3), "
                               f"not a CI; {QUANTILE_METHOD}", reason if pd.isna(e) else "")
                   for k, n, e, reason in zip(rows["n_no_baseline"], rows["n_subjects"],
                                              rows[f"{column}_median"], reasons)]})



_STATE_WORDS = {"died": "a death", "discharged": "a discharge alive"}


def _state_reason(state: str, n_ranked: int, reason: str) -> str:
    if state in _STATE_WORDS:
        return (f"the median falls on {_STATE_WORDS[state]} (at least half of the {n_ranked} ranked subjects "
                f"{'died' if state == 'died' else 'were discharged alive without a value'} by the window's end)")
    return reason


def worst_rank_measures(worst_rank: pd.DataFrame, *, measure: str, died_measure: str, unit: str,
                        what: str) -> pd.DataFrame:
    """Results rows of a worst-rank composite: the median (Q1, Q3 in the interval columns) and the share died.

    Parameters
    ----------
    worst_rank : DataFrame
        From :func:`msc_analysis.stats.worst_rank.worst_rank_by_visit` (stem ``worst_rank``).
    measure, died_measure : str
        Measure names of the median and of the share died.
    unit, what : str
        Unit of the value and a description of it for the ``method`` text.

    Returns
    -------
    DataFrame
        ``measure``, ``group`` ("all"), ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``
        (subjects ranked), ``unit``, ``method``. A quantile that falls on a state (death, discharge) has
        no number; the ``method`` says which state ("not estimable: the median falls on a death ...").

    Examples
    --------
    >>> w = pd.DataFrame({"target_day": [7], "n_ranked": [4], "n_died": [2], "n_evaluable": [5],
    ...     "n_lost_to_follow_up": [0], "n_no_value": [1], "died_prop": [0.5], "died_ci95_lower": [0.07],
    ...     "died_ci95_upper": [0.93], "worst_rank_median": [float("nan")], "worst_rank_median_state": ["died"],
    ...     "worst_rank_q1": [-3.0], "worst_rank_q1_state": ["value"], "worst_rank_q3": [float("nan")],
    ...     "worst_rank_q3_state": ["died"], "not_estimable_reason": [""]})
    >>> r = worst_rank_measures(w, measure="m", died_measure="d", unit="mg/dL", what="x")
    >>> r["method"][0].split("; not estimable: ")[1][:32]
    'the median falls on a death (at '
    """
    w = worst_rank
    base = f"{WORST_RANK_METHOD}; value: {what}; n = subjects ranked"
    def said(state: str) -> str:
        return "is a value" if state == "value" else f"= {state}"

    quartile_words = [f"Q1 {said(a)}, Q3 {said(b)}" for a, b in zip(w["worst_rank_q1_state"], w["worst_rank_q3_state"])]
    median = pd.DataFrame({
        "measure": measure, "group": "all", "day": w["target_day"].to_numpy(),
        "estimate": w["worst_rank_median"].to_numpy(), "ci95_lower": w["worst_rank_q1"].to_numpy(),
        "ci95_upper": w["worst_rank_q3"].to_numpy(), "n": w["n_ranked"].to_numpy(), "unit": unit,
        "method": [with_reason(f"{base}; lower and upper hold Q1 and Q3, not a CI ({q}; a quartile on a death or a "
                               "discharge has no number)", _state_reason(state, k, reason))
                   for state, k, reason, q in zip(w["worst_rank_median_state"], w["n_ranked"],
                                                  w["not_estimable_reason"], quartile_words)]})
    died = pd.DataFrame({
        "measure": died_measure, "group": "all", "day": w["target_day"].to_numpy(),
        "estimate": w["died_prop"].to_numpy(), "ci95_lower": w["died_ci95_lower"].to_numpy(),
        "ci95_upper": w["died_ci95_upper"].to_numpy(), "n": w["n_ranked"].to_numpy(), "unit": "proportion",
        "method": [with_reason(f"share of the subjects ranked in the worst-rank analysis ({what}) who died by the "
                               f"visit window's end; {EXACT_CI_METHOD}", reason)
                   for reason in w["not_estimable_reason"]]})
    return pd.concat([median, died], ignore_index=True)
