"""Oxygenation index PaO2/FiO2 (P/F, mmHg) by visit, change from baseline and Berlin shifts.

Population: treated subjects; day 0 is the infusion. P/F is the PaO2 divided by the FiO2 of
the **same** arterial blood gas (one row of ``blood_gases``); the loader has already turned
FiO2 written as a percentage (21-100) into a fraction. Baseline and visits follow the shared
rules with the ``pao2_fio2`` rows of ``definitions/baseline.yaml`` and
``definitions/visit_windows.csv``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..derive.checks import require_columns
from ..derive.visit_summary import summarise_visits
from ..derive.visits import BASELINE_VISIT, VISIT_STATUSES, family_rule, longitudinal, visit_windows
from ..report.longitudinal_tables import median_measures, worst_rank_measures
from ..stats.paired import geometric_mean_ratio_by_visit, signed_rank_by_visit
from ..stats.worst_rank import worst_rank_by_visit

__all__ = ["FAMILY", "BERLIN_CATEGORIES", "NO_BASELINE", "DECIMALS", "RATIO_DECIMALS", "pf_ratio",
           "berlin_category", "pf_by_visit", "pf_summary", "pf_change_tests", "pf_ratio_to_baseline",
           "berlin_shift_table", "berlin_counts", "pf_worst_rank", "headline_measures"]

FAMILY = "pao2_fio2"
#: Oxygenation categories of the Berlin ARDS definition (ARDS Definition Task Force, JAMA
#: 2012), best first: ``lower < P/F <= upper`` mmHg. Only the P/F bands are used (the PEEP,
#: timing and imaging criteria of ARDS are not assessed here).
BERLIN_CATEGORIES = pd.DataFrame({
    "category": ["> 300", "200-300 (mild)", "100-200 (moderate)", "<= 100 (severe)"],
    "lower_mmhg": [300.0, 200.0, 100.0, -np.inf],
    "upper_mmhg": [np.inf, 300.0, 200.0, 100.0],
})
#: Decimals of the medians and quartiles of P/F and of its change on the page: PaO2 is recorded in
#: whole mmHg, and summaries carry one decimal more (the usual rule of trial tables; the same as the
#: ``decimal1`` format of these measures in ``definitions/measures.csv``).
DECIMALS = 1
#: Decimals of the geometric-mean ratio to baseline and its interval.
RATIO_DECIMALS = 2
#: Baseline category of a subject without a baseline P/F in the shift table.
NO_BASELINE = "no baseline"
_RENAME = {"value": "pf_ratio_mmhg", "baseline_value": "pf_ratio_mmhg_baseline",
           "change": "pf_ratio_change_mmhg", "change_pct": "pf_ratio_change_pct"}


def pf_ratio(blood_gases: pd.DataFrame) -> pd.DataFrame:
    """PaO2/FiO2 of every arterial blood gas.

    Parameters
    ----------
    blood_gases : DataFrame
        ``subject_id``, ``collected_at``, ``days_since_infusion``, ``pao2_mmhg``, ``fio2``
        (a fraction 0.21-1.0, as ``Cut.blood_gases`` holds it).

    Returns
    -------
    DataFrame
        ``subject_id``, ``collected_at``, ``days_since_infusion``, ``pao2_mmhg``, ``fio2``,
        ``pf_ratio_mmhg`` (PaO2 / FiO2; missing where either is missing).

    Raises
    ------
    ValueError
        A column is missing, or an FiO2 is above 1 or not positive (a percentage that was
        not converted: load the cut with ``load_cut``).

    Examples
    --------
    >>> g = pd.DataFrame({"subject_id": ["A", "A"], "days_since_infusion": [0, 7],
    ...     "collected_at": pd.to_datetime(["2020-08-02 06:30", "2020-08-09 06:30"]),
    ...     "pao2_mmhg": [65.0, 80.0], "fio2": [0.5, 0.4]})
    >>> pf_ratio(g)["pf_ratio_mmhg"].tolist()
    [130.0, 200.0]
    """
    require_columns(blood_gases, ("subject_id", "collected_at", "days_since_infusion", "pao2_mmhg", "fio2"),
                    "blood_gases")
    fio2 = blood_gases["fio2"].astype("float64")
    bad = (fio2 > 1) | (fio2 <= 0)
    if bad.any():
        raise ValueError(f"fio2 must be a fraction in (0, 1]; got {sorted(fio2[bad].unique())[:5]} "
                         "(load_cut divides percentages by 100)")
    pao2 = blood_gases["pao2_mmhg"].astype("float64")
    return pd.DataFrame({"subject_id": blood_gases["subject_id"].to_numpy(),
                         "collected_at": blood_gases["collected_at"].to_numpy(),
                         "days_since_infusion": blood_gases["days_since_infusion"].astype("Int64").to_numpy(),
                         "pao2_mmhg": pao2.to_numpy(), "fio2": fio2.to_numpy(),
                         "pf_ratio_mmhg": (pao2 / fio2).to_numpy()})


def berlin_category(pf_mmhg, categories: pd.DataFrame | None = None) -> pd.Categorical:
    """Berlin oxygenation category of each P/F value (``lower < P/F <= upper``; ``categories``
    defaults to :data:`BERLIN_CATEGORIES`).

    Examples
    --------
    >>> list(berlin_category([300.0, 300.1, 200.0, 100.0, np.nan]))
    ['200-300 (mild)', '> 300', '100-200 (moderate)', '<= 100 (severe)', nan]
    """
    categories = BERLIN_CATEGORIES if categories is None else categories
    x = np.asarray(pf_mmhg, dtype=float)
    codes = np.full(len(x), -1)
    for i, c in enumerate(categories.itertuples()):
        codes[(x > c.lower_mmhg) & (x <= c.upper_mmhg)] = i
    return pd.Categorical.from_codes(codes, categories=list(categories["category"]), ordered=True)


def pf_by_visit(blood_gases: pd.DataFrame, subjects: pd.DataFrame, *,
                windows: pd.DataFrame | None = None, window_days_before: int | None = None,
                day0_values: str | None = None, categories: pd.DataFrame | None = None,
                cutoff_date=None) -> pd.DataFrame:
    """P/F of each treated subject at baseline and at each visit, with change from baseline.

    Parameters
    ----------
    blood_gases : DataFrame
        See :func:`pf_ratio`.
    subjects : DataFrame
        The treated population: ``subject_id``, ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on``.
    windows, window_days_before, day0_values
        Visit windows and baseline rule; ``None`` reads the ``pao2_fio2`` rows of
        ``visit_windows.csv`` and ``baseline.yaml``.
    categories : DataFrame, optional
        Oxygenation bands ``category``, ``lower_mmhg``, ``upper_mmhg`` (default
        :data:`BERLIN_CATEGORIES`).
    cutoff_date : date-like, optional
        The data cutoff: needed for "lost to follow-up" and for :func:`pf_worst_rank`.

    Returns
    -------
    DataFrame
        One row per subject for the baseline and for each visit: ``subject_id``, ``visit``,
        ``target_day`` (0 = baseline), ``status``, ``days_since_infusion``, ``collected_at``,
        ``pf_ratio_mmhg``, ``pao2_mmhg``, ``fio2`` (of the gas used), ``death_day``,
        ``discharge_day``, ``window_end_day``, ``evaluable_by_calendar``, ``has_baseline``, ``pf_ratio_mmhg_baseline``,
        ``pf_ratio_change_mmhg`` (value - baseline), ``pf_ratio_change_pct``,
        ``berlin_category`` and ``berlin_category_baseline`` (ordered categoricals).
    """
    rule = family_rule(FAMILY, windows, window_days_before, day0_values)
    long = longitudinal(pf_ratio(blood_gases), subjects, value_column="pf_ratio_mmhg",
                        time_column="collected_at", carry=("pao2_mmhg", "fio2"), cutoff_date=cutoff_date, **rule)
    long = long.drop(columns=["baseline_pao2_mmhg", "baseline_fio2"]).rename(columns=_RENAME)
    return long.assign(berlin_category=berlin_category(long["pf_ratio_mmhg"], categories),
                       berlin_category_baseline=berlin_category(long["pf_ratio_mmhg_baseline"], categories))


def pf_summary(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Subjects behind each visit; median and quartiles of P/F (``pf_ratio_mmhg_*``) and of its
    change (``pf_ratio_change_mmhg_*``), with ``*_not_estimable_reason`` saying why a median is
    missing; see :func:`msc_analysis.derive.visit_summary.summarise_visits`. Every P/F visit is reported
    even with no subject (nobody infused yet), with zero counts."""
    return summarise_visits(by_visit, "pf_ratio_mmhg", "pf_ratio_change_mmhg", visits=visit_windows(FAMILY))


def pf_change_tests(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of the P/F change at each visit (columns of
    :func:`msc_analysis.stats.paired.signed_rank_by_visit`)."""
    return signed_rank_by_visit(by_visit, "pf_ratio_change_mmhg")


def pf_ratio_to_baseline(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Geometric-mean ratio of P/F to baseline at each visit with its 95 % t interval (columns
    of :func:`msc_analysis.stats.paired.geometric_mean_ratio_by_visit`)."""
    return geometric_mean_ratio_by_visit(by_visit, "pf_ratio_mmhg", "pf_ratio_mmhg_baseline")


def berlin_shift_table(by_visit: pd.DataFrame, days: Sequence[int] | None = None) -> pd.DataFrame:
    """Baseline-to-visit shift of the Berlin category, every subject counted at every visit.

    Parameters
    ----------
    by_visit : DataFrame
        From :func:`pf_by_visit`.
    days : sequence of int, optional
        Target days of the visits to tabulate (default: every visit after day 0).

    Returns
    -------
    DataFrame
        One row per visit after day 0, baseline category and visit category (every
        combination, zeros included): ``visit``, ``target_day``, ``baseline_category`` (the
        Berlin categories then :data:`NO_BASELINE`), ``visit_category`` (the Berlin categories
        for subjects measured, else their status: died, discharged, follow-up not reached, no
        value), ``n_subjects``. Without any subject every count is 0 (the visits then come
        from the P/F visit windows).
    """
    bands = list(by_visit["berlin_category"].cat.categories)
    rows = by_visit[by_visit["visit"] != BASELINE_VISIT]
    visits = rows[["visit", "target_day"]].drop_duplicates()
    if by_visit.empty:  # no subject (nobody infused yet): the visits of the windows, all counts 0
        visits = visit_windows(FAMILY)[["visit", "target_day"]]
    if days is not None:
        unknown = sorted(set(days) - set(visits["target_day"]))
        if unknown:
            raise ValueError(f"no visit with target day {unknown}; visits are on days "
                             f"{sorted(set(visits['target_day']))}")
        rows = rows[rows["target_day"].isin(set(days))]
        visits = visits[visits["target_day"].isin(set(days))]
    base_levels, visit_levels = [*bands, NO_BASELINE], [*bands, *VISIT_STATUSES[1:]]
    base = rows["berlin_category_baseline"].astype(object).where(rows["has_baseline"], NO_BASELINE)
    at_visit = rows["berlin_category"].astype(object).where(rows["status"] == VISIT_STATUSES[0],
                                                            rows["status"].astype(object))
    grid = visits.merge(pd.DataFrame({"baseline_category": base_levels}), how="cross").merge(
        pd.DataFrame({"visit_category": visit_levels}), how="cross")
    counts = (pd.DataFrame({"visit": rows["visit"].to_numpy(), "baseline_category": base.to_numpy(),
                            "visit_category": at_visit.to_numpy()})
              .groupby(["visit", "baseline_category", "visit_category"]).size().rename("n_subjects"))
    out = grid.join(counts, on=["visit", "baseline_category", "visit_category"])
    out["n_subjects"] = out["n_subjects"].fillna(0).astype("int64")
    out["baseline_category"] = pd.Categorical(out["baseline_category"], categories=base_levels, ordered=True)
    out["visit_category"] = pd.Categorical(out["visit_category"], categories=visit_levels, ordered=True)
    return out.reset_index(drop=True)


def berlin_counts(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Subjects in each Berlin band, or each reason for no blood gas, at baseline and each visit.

    Parameters
    ----------
    by_visit : DataFrame
        From :func:`pf_by_visit`: ``visit``, ``target_day``, ``status``, ``berlin_category``.

    Returns
    -------
    DataFrame
        Every visit and every category (zeros included): ``visit``, ``target_day``,
        ``category`` (categorical: the Berlin bands, best first, then the statuses died,
        discharged, follow-up not reached, no value), ``n_subjects``. Without any subject every
        count is 0 (the visits then come from the P/F visit windows).

    Examples
    --------
    >>> b = pd.DataFrame({"visit": ["Baseline", "Baseline", "Day 7", "Day 7"], "target_day": [0, 0, 7, 7],
    ...     "status": ["measured", "measured", "measured", "died"],
    ...     "berlin_category": berlin_category([150.0, 250.0, 320.0, np.nan])})
    >>> c = berlin_counts(b)
    >>> c[c["n_subjects"] > 0][["visit", "category", "n_subjects"]].values.tolist()
    [['Baseline', '200-300 (mild)', 1], ['Baseline', '100-200 (moderate)', 1], ['Day 7', '> 300', 1], ['Day 7', 'died', 1]]
    """
    bands = list(by_visit["berlin_category"].cat.categories) if "berlin_category" in by_visit else \
        list(BERLIN_CATEGORIES["category"])
    levels = [*bands, *VISIT_STATUSES[1:]]
    visits = by_visit[["visit", "target_day"]].drop_duplicates().sort_values("target_day", kind="stable")
    if by_visit.empty:
        windows = visit_windows(FAMILY)[["visit", "target_day"]]
        visits = pd.concat([pd.DataFrame({"visit": [BASELINE_VISIT], "target_day": [0]}), windows], ignore_index=True)
    category = by_visit["berlin_category"].astype(object).where(by_visit["status"] == VISIT_STATUSES[0],
                                                                by_visit["status"].astype(object))
    counts = pd.DataFrame({"visit": by_visit["visit"].to_numpy(), "category": category.to_numpy()}) \
        .groupby(["visit", "category"]).size().rename("n_subjects")
    out = visits.merge(pd.DataFrame({"category": levels}), how="cross").join(counts, on=["visit", "category"])
    out["n_subjects"] = out["n_subjects"].fillna(0).astype("int64")
    out["category"] = pd.Categorical(out["category"], categories=levels, ordered=True)
    return out.reset_index(drop=True)


def pf_worst_rank(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Worst-rank composite of the P/F change at each visit: the analysis that does not lose the deaths.

    Subjects with a baseline whose visit window closed by the cutoff; death by the window's end
    ranked worst (below every change: lower P/F is worse), discharge alive without a gas ranked
    best, the measured changes in between (columns of
    :func:`msc_analysis.stats.worst_rank.worst_rank_by_visit`). ``by_visit`` must come from
    :func:`pf_by_visit` with the cutoff.
    """
    return worst_rank_by_visit(by_visit, "pf_ratio_change_mmhg", higher_is_worse=False, require_baseline=True,
                               visits=visit_windows(FAMILY))


def headline_measures(summary: pd.DataFrame, worst_rank: pd.DataFrame | None = None) -> pd.DataFrame:
    """Headline rows: ``pf_ratio_median`` (days 0, 1, 3, ...) and ``pf_ratio_change_median``
    (each visit after day 0), the IQR in the CI columns, unit mmHg; with ``worst_rank`` (from
    :func:`pf_worst_rank`) also ``pf_ratio_change_worst_rank_median`` and
    ``pf_ratio_change_worst_rank_died_prop``.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method`` (for ``report.results.result_rows``).
    """
    return pd.concat([
        median_measures(summary, "pf_ratio_mmhg", measure="pf_ratio_median", unit="mmHg",
                        n_column="n_measured", what="PaO2/FiO2 of treated subjects with a blood "
                        "gas at the visit", include_baseline=True),
        median_measures(summary, "pf_ratio_change_mmhg", measure="pf_ratio_change_median", unit="mmHg",
                        n_column="n_change", what="PaO2/FiO2 change from baseline (value - baseline) "
                        "of treated subjects with both (observed: alive, in hospital and measured)",
                        include_baseline=False),
        *([] if worst_rank is None else [worst_rank_measures(
            worst_rank, measure="pf_ratio_change_worst_rank_median",
            died_measure="pf_ratio_change_worst_rank_died_prop", unit="mmHg",
            what="PaO2/FiO2 change from baseline (mmHg; lower is worse)")]),
    ], ignore_index=True)
