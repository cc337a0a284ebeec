"""Results rows of the Liao (NEWS-C) page: the headlines, then the secondary and sensitivity measures.

The frames come from :mod:`msc_analysis.endpoints.liao_improvement` and
:mod:`msc_analysis.endpoints.liao_sustained`; estimands: ``docs/endpoints/06_liao_score.md``.
"""
from __future__ import annotations

import pandas as pd

from .. import definitions
from ..report.longitudinal_tables import median_measures, worst_rank_measures
from ..stats.binomial import EXACT_CI_METHOD
from ..stats.estimability import with_reason
from ..stats.worst_rank import worst_rank_by_visit

__all__ = ["IMPROVED_MEASURES", "ADULTS_ONLY_MEASURES", "score_change_worst_rank", "headline_measures",
           "children_measures"]


def score_change_worst_rank(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Worst-rank composite of the change in total score at each visit: an analysis that does not lose
    the deaths (``stats.worst_rank.worst_rank_by_visit``, higher is worse, baseline required).

    ``by_visit`` comes from ``liao_improvement.liao_by_visit(..., cutoff_date=cut.cutoff_date)``.
    Among the subjects with a baseline whose visit window has closed by the calendar, death by the
    window's end ranks worst and a discharge alive without a value best; lost to follow-up and
    missing values are left out and counted. Returns the columns of ``worst_rank_by_visit``
    (stem ``worst_rank``).
    """
    return worst_rank_by_visit(by_visit, "liao_change", higher_is_worse=True, require_baseline=True)


#: Headline measure of the colour improvement, its "known so far" secondary and the sensitivity
#: measure with incomplete assessments included (page default) or excluded (page sets them in).
IMPROVED_MEASURES = {"calendar": "improved_prop", "known": "improved_known_prop",
                     True: "improved_incl_incomplete_prop", False: "improved_excl_incomplete_prop"}
_IMPROVED_WHAT = {
    "calendar": "level fell by at least one colour from baseline by the day, among the subjects infused at least "
                "that many days before the cutoff (evaluable by calendar) with a baseline; deaths by the day "
                "counted as not improved; subjects lost to follow-up before the day excluded",
    "known": "known so far: level fell by at least one colour from baseline by the day, among the subjects whose "
             "outcome is known at the cutoff (deaths by the day, at once; survivors only once followed to the "
             "day); deaths counted as not improved"}


def headline_measures(change_summary: pd.DataFrame, proportions: pd.DataFrame,
                      incidence: pd.DataFrame | None = None, cif_method: str = "",
                      n_subjects: int | None = None, low_score_max: int | None = None,
                      hold_hours: float = 24.0, *, known: pd.DataFrame | None = None,
                      incomplete_sensitivity: pd.DataFrame | None = None, include_incomplete: bool = False,
                      stable_incidence: pd.DataFrame | None = None,
                      worst_rank: pd.DataFrame | None = None,
                      children: pd.DataFrame | None = None) -> pd.DataFrame:
    """Results rows of the page, headlines first, then the secondary and sensitivity measures.

    - ``score_change_median`` by visit day (IQR in the CI columns, points), from
      :func:`score_change_summary` (``change_summary``);
    - ``improved_prop`` by horizon day (exact CI), from :func:`improvement_proportions` with the
      "calendar" denominator (``proportions``); ``improved_known_prop`` from the "known"
      denominator (``known``); ``improved_incl_incomplete_prop`` (or ``..._excl_...`` when the page
      uses incomplete assessments: ``include_incomplete``) from the proportions made the other way
      (``incomplete_sensitivity``);
    - ``stable_or_discharged_cumulative_incidence_prop`` by day (``stable_incidence``, the headline
      of :func:`stable_or_discharged`) and the sensitivity
      ``sustained_low_score_cumulative_incidence_prop`` (``incidence``, the pre-specified
      :func:`sustained_low_score`), both read from :func:`sustained_low_score_incidence`;
      ``cif_method`` (``stats.competing_risks.CIF_CI_METHOD``), ``n_subjects`` (subjects behind
      them), ``low_score_max`` (None: as in ``definitions/trial.yaml``) and ``hold_hours`` are
      written into the ``method`` and ``n`` columns;
    - ``score_change_worst_rank_median`` and ``score_change_worst_rank_died_prop`` by visit day from
      :func:`score_change_worst_rank` (``worst_rank``);
    - ``children`` (rows of :func:`children_measures`: the children count and the sensitivity rows
      without children), appended last.

    Returns ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``
    (the denominator used), ``unit``, ``method`` (for ``report.results.result_rows``).
    """
    if low_score_max is None:
        low_score_max = definitions.time_frames("liao_score")["low_score_max"]
    rows = [median_measures(change_summary, "liao_change", measure="score_change_median", unit="points",
                            n_column="n_change", what="change in Liao (NEWS-C) total score from "
                            "baseline of treated subjects with both (observed cases: subjects measured at the "
                            "visit)", include_baseline=False),
]
    if worst_rank is not None:
        rows.append(worst_rank_measures(worst_rank, measure="score_change_worst_rank_median",
                                        died_measure="score_change_worst_rank_died_prop", unit="points",
                                        what="change in Liao (NEWS-C) total score from baseline"))
    rows.append(_proportion_rows(IMPROVED_MEASURES["calendar"], proportions, _IMPROVED_WHAT["calendar"]))
    if known is not None:
        rows.append(_proportion_rows(IMPROVED_MEASURES["known"], known, _IMPROVED_WHAT["known"]))
    if incomplete_sensitivity is not None:
        which = "including" if not include_incomplete else "excluding"
        rows.append(_proportion_rows(IMPROVED_MEASURES[not include_incomplete], incomplete_sensitivity,
                                     f"sensitivity, {which} incomplete assessments (a vital sign missing): "
                                     + _IMPROVED_WHAT["calendar"]))
    if stable_incidence is not None:
        rows.append(_incidence_rows(
            "stable_or_discharged_cumulative_incidence_prop", stable_incidence, n_subjects,
            f"cumulative incidence of clinical stability (Liao total without the age item, i.e. the NEWS2 "
            f"aggregate, <= {low_score_max} held {hold_hours:g} h) or discharge alive, whichever first; death "
            f"before either competing; {cif_method}"))
    if incidence is not None:
        rows.append(_incidence_rows(
            "sustained_low_score_cumulative_incidence_prop", incidence, n_subjects,
            f"sensitivity, the pre-specified definition: cumulative incidence of a first sustained low score "
            f"(Liao total <= {low_score_max} held {hold_hours:g} h, age points included), death in hospital "
            f"competing, discharge alive censored; {cif_method}"))
    if children is not None:
        rows.append(children)
    return pd.concat(rows, ignore_index=True)


#: Sensitivity measures without children (subjects younger than the adult score's age limit).
ADULTS_ONLY_MEASURES = {"improved": "improved_prop_adults_only",
                        "stable": "stable_or_discharged_cumulative_incidence_prop_adults_only"}


def children_measures(n_children: int, n_subjects: int, min_age_years: float, *, excluded: bool = False,
                      adults_proportions: pd.DataFrame | None = None,
                      adults_stable_incidence: pd.DataFrame | None = None, n_adults: int | None = None,
                      cif_method: str = "", low_score_max: int | None = None,
                      hold_hours: float = 24.0) -> pd.DataFrame:
    """Results rows on children scored with the adult Liao (NEWS-C) bands, and the rows without them.

    Parameters
    ----------
    n_children : int
        Treated subjects younger than ``min_age_years`` (``derive.liao_score.children_scored_adult``).
    n_subjects : int
        Treated subjects (children included).
    min_age_years : float
        The adult score's age limit (``definitions/liao_adult_score.yaml``).
    excluded : bool, default False
        Whether the page left the children out of its Liao endpoints (its ``exclude_children``).
    adults_proportions : DataFrame, optional
        :func:`improvement_proportions` ("calendar" denominator) of the treated subjects aged
        ``min_age_years`` or more.
    adults_stable_incidence : DataFrame, optional
        :func:`sustained_low_score_incidence` of :func:`stable_or_discharged` of the same subjects.
    n_adults : int, optional
        The number of those subjects (the ``n`` of the incidence rows).
    cif_method, low_score_max, hold_hours
        Written into the ``method`` column as in :func:`headline_measures`.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method``: ``children_scored_adult_bands`` (count; ``n`` = treated subjects;
        no day), then ``improved_prop_adults_only`` by horizon day and
        ``stable_or_discharged_cumulative_incidence_prop_adults_only`` by day when given.

    Examples
    --------
    >>> children_measures(2, 31, 16.0)[["measure", "estimate", "n"]]
                           measure  estimate   n
    0  children_scored_adult_bands         2  31
    """
    if low_score_max is None:
        low_score_max = definitions.time_frames("liao_score")["low_score_max"]
    limit = f"{min_age_years:g}"
    fate = ("left out of the Liao endpoints of this page (parameter exclude_children)" if excluded
            else "included in the Liao endpoints of this page")
    rows = [pd.DataFrame([dict(
        measure="children_scored_adult_bands", group="all", day=float("nan"), estimate=int(n_children),
        n=int(n_subjects), unit="subjects",
        method=f"count of treated subjects younger than {limit} years (the NEWS2 lower age limit, "
               f"definitions/liao_adult_score.yaml) scored with the adult NEWS-C bands; {fate}")])]
    sensitivity = f"sensitivity, without children (treated subjects aged {limit} years or more)"
    if adults_proportions is not None:
        rows.append(_proportion_rows(ADULTS_ONLY_MEASURES["improved"], adults_proportions,
                                     f"{sensitivity}: " + _IMPROVED_WHAT["calendar"]))
    if adults_stable_incidence is not None:
        rows.append(_incidence_rows(
            ADULTS_ONLY_MEASURES["stable"], adults_stable_incidence, n_adults,
            f"{sensitivity}: cumulative incidence of clinical stability (Liao total without the age item "
            f"<= {low_score_max} held {hold_hours:g} h) or discharge alive, whichever first; death before "
            f"either competing; {cif_method}"))
    return pd.concat(rows, ignore_index=True)


def _proportion_rows(measure: str, proportions: pd.DataFrame, what: str) -> pd.DataFrame:
    return pd.DataFrame({"measure": measure, "group": "all", "day": proportions["horizon_day"],
                         "estimate": proportions["improved_prop"], "ci95_lower": proportions["ci95_lower"],
                         "ci95_upper": proportions["ci95_upper"], "n": proportions["n_evaluable"],
                         "unit": "proportion",
                         "method": [with_reason(f"{what}; {EXACT_CI_METHOD}", reason)
                                    for reason in _reasons(proportions)]})


def _incidence_rows(measure: str, incidence: pd.DataFrame, n_subjects, what: str) -> pd.DataFrame:
    return pd.DataFrame({
        "measure": measure, "group": "all", "day": incidence["time_days"],
        "estimate": incidence["cumulative_incidence_prop"], "ci95_lower": incidence["ci95_lower"],
        "ci95_upper": incidence["ci95_upper"], "n": n_subjects, "unit": "proportion",
        "method": [with_reason(what, reason) for reason in _reasons(incidence)]})


def _reasons(frame: pd.DataFrame) -> list[str]:
    return list(frame["not_estimable_reason"]) if "not_estimable_reason" in frame else [""] * len(frame)
