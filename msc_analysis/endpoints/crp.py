"""C-reactive protein (CRP, mg/dL) by visit and its change from baseline (secondary endpoint).

Population: treated subjects; day 0 is the infusion. Baseline and visits follow the shared
rules of :mod:`msc_analysis.derive.baseline` and :mod:`msc_analysis.derive.visits` with the
``crp`` rows of ``definitions/baseline.yaml`` and ``definitions/visit_windows.csv``. The loader
has already converted CRP reported in mg/L to mg/dL (``definitions/lab_units.csv``).
"""
from __future__ import annotations

import pandas as pd

from ..derive.checks import require_columns
from ..derive.visit_summary import summarise_visits
from ..derive.visits import family_rule, longitudinal, visit_windows
from ..report.longitudinal_tables import median_measures, worst_rank_measures
from ..stats.paired import geometric_mean_ratio_by_visit, signed_rank_by_visit
from ..stats.worst_rank import worst_rank_by_visit

__all__ = ["FAMILY", "CRP_TEST", "CRP_UNIT", "DECIMALS", "RATIO_DECIMALS", "crp_values", "crp_by_visit", "crp_summary",
           "crp_change_tests", "crp_ratio_to_baseline", "crp_worst_rank", "headline_measures"]

#: Row of the definitions tables this endpoint uses.
FAMILY = "crp"
#: Test code of CRP in ``labs.test`` and the unit the kit reports it in.
CRP_TEST, CRP_UNIT = "CRP", "mg/dL"
#: Decimals of the medians and quartiles of CRP and of its change on the page: CRP is reported to
#: 0.1 mg/dL, and summaries carry one decimal more than the recorded values (the usual rule of
#: trial tables, docs/endpoints/04_crp.md; the ``decimal2`` format of these measures in
#: ``definitions/measures.csv``).
DECIMALS = 2
#: Decimals of the geometric-mean ratio to baseline and its interval (0.25 = a quarter of baseline).
RATIO_DECIMALS = 2
_RENAME = {"value": "crp_mg_dl", "baseline_value": "crp_mg_dl_baseline",
           "change": "crp_change_mg_dl", "change_pct": "crp_change_pct"}


def crp_values(labs: pd.DataFrame) -> pd.DataFrame:
    """CRP results of the labs table, in mg/dL.

    Parameters
    ----------
    labs : DataFrame
        ``subject_id``, ``collected_at`` (datetime64), ``test``, ``value``, ``unit``,
        ``days_since_infusion`` (as in ``Cut.labs``: CRP already converted to mg/dL).

    Returns
    -------
    DataFrame
        One row per CRP result: ``subject_id``, ``collected_at``, ``days_since_infusion``,
        ``crp_mg_dl``.

    Raises
    ------
    ValueError
        A required column is missing, or a CRP result is not in mg/dL (load the cut with
        ``load_cut``, which converts mg/L).

    Examples
    --------
    >>> labs = pd.DataFrame({"subject_id": ["A", "A"], "test": ["CRP", "D-DIMER"],
    ...     "collected_at": pd.to_datetime(["2020-08-02 06:00"] * 2), "value": [15.0, 900.0],
    ...     "unit": ["mg/dL", "ng/mL FEU"], "days_since_infusion": [0, 0]})
    >>> crp_values(labs)["crp_mg_dl"].tolist()
    [15.0]
    """
    require_columns(labs, ("subject_id", "collected_at", "test", "value", "unit", "days_since_infusion"), "labs")
    crp = labs[labs["test"].astype(str).str.upper() == CRP_TEST]
    wrong = crp["unit"] != CRP_UNIT
    if wrong.any():
        units = sorted(set(crp.loc[wrong, "unit"].astype(str)))
        raise ValueError(f"CRP must be in {CRP_UNIT}; found {units} (load_cut converts mg/L)")
    return pd.DataFrame({"subject_id": crp["subject_id"].to_numpy(),
                         "collected_at": crp["collected_at"].to_numpy(),
                         "days_since_infusion": crp["days_since_infusion"].astype("Int64").to_numpy(),
                         "crp_mg_dl": crp["value"].astype("float64").to_numpy()})


def crp_by_visit(labs: pd.DataFrame, subjects: pd.DataFrame, *, windows: pd.DataFrame | None = None,
                 window_days_before: int | None = None, day0_values: str | None = None,
                 cutoff_date=None) -> pd.DataFrame:
    """CRP of each treated subject at baseline and at each visit, with change from baseline.

    Parameters
    ----------
    labs : DataFrame
        The labs table (see :func:`crp_values`).
    subjects : DataFrame
        The treated population: ``subject_id``, ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on``.
    windows, window_days_before, day0_values
        Visit windows and baseline rule; ``None`` reads the ``crp`` rows of
        ``visit_windows.csv`` and ``baseline.yaml``.
    cutoff_date : date-like, optional
        The data cutoff: needed for "lost to follow-up" and for :func:`crp_worst_rank`.

    Returns
    -------
    DataFrame
        One row per subject for the baseline and for each visit: ``subject_id``, ``visit``,
        ``target_day`` (0 = baseline), ``status`` (measured, died, discharged, lost to
        follow-up, follow-up not reached, no value), ``days_since_infusion`` and
        ``collected_at`` of the value used, ``crp_mg_dl``, ``death_day``, ``discharge_day``,
        ``window_end_day``, ``evaluable_by_calendar``, ``has_baseline``,
        ``crp_mg_dl_baseline``, ``crp_change_mg_dl`` (value - baseline), ``crp_change_pct``
        (100 * change / baseline; missing when the baseline is 0).
    """
    rule = family_rule(FAMILY, windows, window_days_before, day0_values)
    long = longitudinal(crp_values(labs), subjects, value_column="crp_mg_dl",
                        time_column="collected_at", cutoff_date=cutoff_date, **rule)
    return long.rename(columns=_RENAME)


def crp_summary(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Subjects behind each visit; median and quartiles of CRP and of its change.

    Returns the frame of :func:`msc_analysis.derive.visit_summary.summarise_visits` with the value
    columns ``crp_mg_dl_median``, ``crp_mg_dl_q1``, ``crp_mg_dl_q3`` and
    ``crp_change_mg_dl_median``, ``crp_change_mg_dl_q1``, ``crp_change_mg_dl_q3``, and
    ``crp_mg_dl_not_estimable_reason``, ``crp_change_mg_dl_not_estimable_reason`` (why a median
    is missing, "" when it is there). Every CRP visit is reported even with no subject (nobody
    infused yet), with zero counts and the reason "no subject infused yet".
    """
    return summarise_visits(by_visit, "crp_mg_dl", "crp_change_mg_dl", visits=visit_windows(FAMILY))


def crp_change_tests(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of the CRP change at each visit (see
    :func:`msc_analysis.stats.paired.signed_rank_by_visit` for the columns)."""
    return signed_rank_by_visit(by_visit, "crp_change_mg_dl")


def crp_ratio_to_baseline(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Geometric-mean ratio of CRP to baseline at each visit with its 95 % t interval (see
    :func:`msc_analysis.stats.paired.geometric_mean_ratio_by_visit` for the columns)."""
    return geometric_mean_ratio_by_visit(by_visit, "crp_mg_dl", "crp_mg_dl_baseline")


def crp_worst_rank(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Worst-rank composite of the CRP change at each visit: the analysis that does not lose the deaths.

    Subjects with a baseline whose visit window closed by the cutoff; death by the window's end
    ranked worst (a rise above every change), discharge alive without a value ranked best, the
    measured changes in between (see :func:`msc_analysis.stats.worst_rank.worst_rank_by_visit`
    for the columns; quantiles in ``worst_rank_median``, ``_q1``, ``_q3`` and their ``_state``).
    ``by_visit`` must come from :func:`crp_by_visit` with the cutoff.
    """
    return worst_rank_by_visit(by_visit, "crp_change_mg_dl", higher_is_worse=True, require_baseline=True,
                               visits=visit_windows(FAMILY))


def headline_measures(summary: pd.DataFrame, worst_rank: pd.DataFrame | None = None) -> pd.DataFrame:
    """Headline rows: ``crp_mg_dl_median`` (days 0, 1, 3, ...) and ``crp_change_mg_dl_median``
    (each visit after day 0), the IQR in the CI columns, unit mg/dL; with ``worst_rank`` also
    ``crp_change_worst_rank_median`` and ``crp_change_worst_rank_died_prop``.

    Parameters
    ----------
    summary : DataFrame
        From :func:`crp_summary`.
    worst_rank : DataFrame, optional
        From :func:`crp_worst_rank`.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method`` (for ``report.results.result_rows``).
    """
    return pd.concat([
        median_measures(summary, "crp_mg_dl", measure="crp_mg_dl_median", unit=CRP_UNIT,
                        n_column="n_measured", what="CRP of treated subjects measured at the visit",
                        include_baseline=True),
        median_measures(summary, "crp_change_mg_dl", measure="crp_change_mg_dl_median", unit=CRP_UNIT,
                        n_column="n_change", what="CRP change from baseline (value - baseline) of "
                        "treated subjects with both (observed: alive, in hospital and measured)",
                        include_baseline=False),
        *([] if worst_rank is None else [worst_rank_measures(
            worst_rank, measure="crp_change_worst_rank_median", died_measure="crp_change_worst_rank_died_prop",
            unit=CRP_UNIT, what="CRP change from baseline (mg/dL)")]),
    ], ignore_index=True)
