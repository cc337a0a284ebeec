"""Dose delivered and feasibility: cells/kg against the protocol target, infusion rate, delays.

The protocol target (1 x 10^6 cells/kg) is read from ``definitions/trial.yaml`` and the dose
tolerance (default +/- 10 %) from ``definitions/safety.yaml``; a keyword argument left at
``None`` takes its value from those files.
"""
from __future__ import annotations

import pandas as pd

from ..definitions import safety_definitions, trial_facts
from ..derive.checks import require_columns
from ..stats.binomial import EXACT_CI_METHOD, exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, with_reason

__all__ = ["dose_delivered", "doses_outside_tolerance", "dose_summary", "enrollment_to_infusion", "delay_summary",
           "feasibility_proportions", "not_infused_listing", "headline_measures"]

# Deviations are compared with the tolerance after rounding to this many decimals (in %),
# so that a dose of exactly 1.1e6 cells/kg is +10 % (within a 10 % tolerance) despite
# floating-point error.
_DEVIATION_DECIMALS = 9


def dose_delivered(infusions: pd.DataFrame, *, target_cells_per_kg: float | None = None,
                   tolerance_pct: float | None = None) -> pd.DataFrame:
    """Dose of each infusion in cells/kg, its deviation from the target and the tolerance flag.

    Parameters
    ----------
    infusions : DataFrame
        ``subject_id``, ``cells_infused`` (viable MSCs), ``weight_kg`` (the dosing weight, kg).
    target_cells_per_kg : float, optional
        Protocol target (default ``target_dose_cells_per_kg`` of trial.yaml, 1e6; read with
        ``float()`` because YAML reads ``1.0e6`` without an exponent sign as text).
    tolerance_pct : float, optional
        Allowed deviation either side of the target, in percent, inclusive (default 10).

    Returns
    -------
    DataFrame
        One row per infusion: ``subject_id``, ``cells_infused``, ``weight_kg``,
        ``dose_cells_per_kg`` (= cells_infused / weight_kg), ``target_cells_per_kg``,
        ``deviation_pct`` (100 x (dose / target - 1)), ``within_tolerance`` (bool:
        |deviation| <= tolerance), ``tolerance_pct``.

    Examples
    --------
    >>> inf = pd.DataFrame({"subject_id": ["A", "B"], "cells_infused": [8.8e7, 6.0e7], "weight_kg": [80, 50]})
    >>> dose_delivered(inf, target_cells_per_kg=1e6, tolerance_pct=10)[
    ...     ["dose_cells_per_kg", "deviation_pct", "within_tolerance"]].round(6).values.tolist()
    [[1100000.0, 10.0, True], [1200000.0, 20.0, False]]
    """
    require_columns(infusions, ("subject_id", "cells_infused", "weight_kg"), "infusions")
    target = float(trial_facts()["target_dose_cells_per_kg"] if target_cells_per_kg is None else target_cells_per_kg)
    tolerance = float(safety_definitions()["dose"]["tolerance_pct"] if tolerance_pct is None else tolerance_pct)
    if not target > 0:
        raise ValueError(f"target_cells_per_kg must be positive, got {target}")
    if not tolerance >= 0:
        raise ValueError(f"tolerance_pct must be 0 or more, got {tolerance}")
    weight = pd.to_numeric(infusions["weight_kg"]).astype("float64")
    if (weight <= 0).any():
        raise ValueError("weight_kg must be positive to compute a dose per kg")
    cells = pd.to_numeric(infusions["cells_infused"]).astype("float64")
    dose = cells / weight
    deviation = 100 * (dose / target - 1)
    within = deviation.abs().round(_DEVIATION_DECIMALS) <= tolerance
    return pd.DataFrame({"subject_id": infusions["subject_id"].astype(str).to_numpy(),
                         "cells_infused": cells.to_numpy(), "weight_kg": weight.to_numpy(),
                         "dose_cells_per_kg": dose.to_numpy(), "target_cells_per_kg": target,
                         "deviation_pct": deviation.to_numpy(),
                         "within_tolerance": within.fillna(False).to_numpy(dtype=bool),
                         "tolerance_pct": tolerance})


def doses_outside_tolerance(doses: pd.DataFrame) -> pd.DataFrame:
    """Infusions whose dose is outside the tolerance, furthest from the target first.

    Parameters
    ----------
    doses : DataFrame
        Output of :func:`dose_delivered`.

    Returns
    -------
    DataFrame
        The rows of ``doses`` with ``within_tolerance`` false, same columns.
    """
    out = doses[~doses["within_tolerance"].astype(bool)]
    return out.iloc[out["deviation_pct"].abs().argsort()[::-1]].reset_index(drop=True)


def dose_summary(doses: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the delivered dose.

    Parameters
    ----------
    doses : DataFrame
        Output of :func:`dose_delivered`.

    Returns
    -------
    DataFrame
        One row: ``n_infused``, ``dose_cells_per_kg_median``, ``dose_cells_per_kg_q1``,
        ``dose_cells_per_kg_q3``, ``dose_cells_per_kg_min``, ``dose_cells_per_kg_max``,
        ``n_below_tolerance``, ``n_within_tolerance``, ``n_above_tolerance`` (missing
        statistics when nobody was infused).
    """
    d = doses["dose_cells_per_kg"]
    outside = ~doses["within_tolerance"].astype(bool)
    return pd.DataFrame([dict(
        n_infused=len(doses), dose_cells_per_kg_median=d.median(), dose_cells_per_kg_q1=d.quantile(0.25),
        dose_cells_per_kg_q3=d.quantile(0.75), dose_cells_per_kg_min=d.min(), dose_cells_per_kg_max=d.max(),
        n_below_tolerance=int((outside & (doses["deviation_pct"] < 0)).sum()),
        n_within_tolerance=int((~outside).sum()),
        n_above_tolerance=int((outside & (doses["deviation_pct"] > 0)).sum()))])


def enrollment_to_infusion(subjects: pd.DataFrame) -> pd.DataFrame:
    """Days from enrollment to infusion of each treated subject.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``treated`` (bool), ``enrolled_on`` (date, may be missing, or the
        column may be all missing), ``infused_on`` (date).

    Returns
    -------
    DataFrame
        One row per treated subject: ``subject_id``, ``enrollment_to_infusion_days`` (Int64;
        0 = infused on the day of enrollment; missing when the enrollment date is not recorded).
    """
    require_columns(subjects, ("subject_id", "treated", "enrolled_on", "infused_on"), "subjects")
    t = subjects[subjects["treated"].astype(bool)]
    days = (t["infused_on"] - t["enrolled_on"]).dt.days
    return pd.DataFrame({"subject_id": t["subject_id"].astype(str).to_numpy(),
                         "enrollment_to_infusion_days": pd.array(days.to_numpy(), dtype="Int64")})


def delay_summary(delays: pd.DataFrame) -> pd.DataFrame:
    """Summary of days from enrollment to infusion.

    Parameters
    ----------
    delays : DataFrame
        Output of :func:`enrollment_to_infusion`.

    Returns
    -------
    DataFrame
        One row: ``n_treated``, ``n_with_enrollment_date``, ``computable`` (bool: at least one
        enrollment date), ``enrollment_to_infusion_days_median``, ``_q1``, ``_q3``, ``_min``,
        ``_max`` (missing when not computable: the kit never imputes an enrollment date).
    """
    d = delays["enrollment_to_infusion_days"].dropna().astype(float)
    stem = "enrollment_to_infusion_days"
    return pd.DataFrame([{
        "n_treated": len(delays), "n_with_enrollment_date": len(d), "computable": len(d) > 0,
        f"{stem}_median": d.median(), f"{stem}_q1": d.quantile(0.25), f"{stem}_q3": d.quantile(0.75),
        f"{stem}_min": d.min(), f"{stem}_max": d.max()}])


def feasibility_proportions(subjects: pd.DataFrame, doses: pd.DataFrame) -> pd.DataFrame:
    """Proportion of enrolled subjects infused and of infusions within the dose tolerance.

    Parameters
    ----------
    subjects : DataFrame
        ``enrolled`` and ``treated`` (bool), one row per subject.
    doses : DataFrame
        Output of :func:`dose_delivered`.

    Returns
    -------
    DataFrame
        Rows ``infused`` (denominator: enrolled) and ``within_tolerance`` (denominator:
        infused): ``measure``, ``population``, ``successes``, ``n``, ``estimate_prop``,
        ``ci95_lower``, ``ci95_upper`` (exact Clopper-Pearson; missing when n = 0).

    Examples
    --------
    >>> s = pd.DataFrame({"enrolled": [True, True, True, False], "treated": [True, True, False, False]})
    >>> d = pd.DataFrame({"within_tolerance": [True, False]})
    >>> feasibility_proportions(s, d)[["measure", "successes", "n"]].values.tolist()
    [['infused', 2, 3], ['within_tolerance', 1, 2]]
    """
    enrolled = subjects["enrolled"].astype(bool)
    infused = int((enrolled & subjects["treated"].astype(bool)).sum())
    within = int(doses["within_tolerance"].astype(bool).sum())
    ci = exact_proportion([infused, within], [int(enrolled.sum()), len(doses)])
    ci.insert(0, "population", ["enrolled", "treated"])
    ci.insert(0, "measure", ["infused", "within_tolerance"])
    return ci


def _infusion_window_days(value) -> int:
    window = safety_definitions()["dose"].get("infusion_window_days") if value is None else value
    if window is None:
        raise ValueError("safety.yaml: the key 'dose.infusion_window_days' is missing (days after enrollment "
                         "during which a subject not yet infused may still be infused)")
    if isinstance(window, bool) or not float(window).is_integer() or window < 0:
        raise ValueError(f"infusion_window_days must be a whole number of days >= 0, got {window!r}")
    return int(window)


def _not_infused_status(days, died: bool, window: int) -> tuple[bool, str]:
    if died:
        return False, "not infused (died)"
    if pd.isna(days):
        return False, "not infused (enrollment date not recorded)"
    days = int(days)
    if days > window:
        return False, f"not infused ({days} days since enrollment)"
    return True, f"may still be infused (enrolled {days} day{'s' * (days != 1)} before the cutoff)"


def not_infused_listing(subjects: pd.DataFrame, cutoff_date: pd.Timestamp, *,
                        infusion_window_days: int | None = None) -> pd.DataFrame:
    """Enrolled subjects without an infusion by the cutoff, with the reason and what it means.

    Only a subject enrolled at most ``infusion_window_days`` before the cutoff (and alive) "may
    still be infused"; one enrolled longer ago is "not infused (N days since enrollment)".

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``enrolled``, ``treated`` (bool), ``enrolled_on``, ``died_on`` (dates,
        may be missing); optional ``not_infused_reason`` (free text from the cut; missing or
        absent when not recorded).
    cutoff_date : date-like
        Data cutoff.
    infusion_window_days : int, optional
        Days after enrollment during which a subject may still be infused (default
        ``dose.infusion_window_days`` of safety.yaml, 7).

    Returns
    -------
    DataFrame
        One row per enrolled subject not infused, by ``subject_id``: ``subject_id``,
        ``days_enrolled_before_cutoff`` (Int64; missing without an enrollment date), ``died``
        (bool, recorded death), ``not_infused_reason`` (string; missing when not recorded),
        ``may_still_be_infused`` (bool: alive and enrolled within the window), ``status``
        ("may still be infused (enrolled N days before the cutoff)", "not infused (N days since
        enrollment)", "not infused (died)" or "not infused (enrollment date not recorded)").

    Examples
    --------
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "enrolled": True, "treated": False,
    ...     "enrolled_on": pd.to_datetime(["2020-08-01", "2020-11-27"]), "died_on": pd.NaT,
    ...     "not_infused_reason": ["withdrew consent", None]})
    >>> not_infused_listing(s, "2020-11-30", infusion_window_days=7)[["subject_id", "status"]].values.tolist()
    [['A', 'not infused (121 days since enrollment)'], ['B', 'may still be infused (enrolled 3 days before the cutoff)']]
    """
    require_columns(subjects, ("subject_id", "enrolled", "treated", "enrolled_on", "died_on"), "subjects")
    window = _infusion_window_days(infusion_window_days)
    s = subjects[subjects["enrolled"].astype(bool) & ~subjects["treated"].astype(bool)]
    s = s.sort_values("subject_id", key=lambda ids: ids.astype(str))
    days = pd.array((pd.Timestamp(cutoff_date) - s["enrolled_on"]).dt.days.to_numpy(), dtype="Int64")
    died = s["died_on"].notna().to_numpy(dtype=bool)
    if "not_infused_reason" in s:
        reason = s["not_infused_reason"].astype("string").str.strip().replace("", pd.NA)
    else:
        reason = pd.Series(pd.NA, index=s.index, dtype="string")
    status = [_not_infused_status(d, x, window) for d, x in zip(days, died)]
    return pd.DataFrame({"subject_id": s["subject_id"].astype(str).to_numpy(),
                         "days_enrolled_before_cutoff": days, "died": died,
                         "not_infused_reason": pd.array(reason.to_numpy(), dtype="string"),
                         "may_still_be_infused": [m for m, _ in status], "status": [t for _, t in status]})


def _cells(per_kg: float) -> str:
    """A dose in words without scientific notation: ``1 x 10^6``.

    >>> _cells(1e6), _cells(1.5e6)
    ('1 x 10^6', '1.5 x 10^6')
    """
    return f"{per_kg / 1e6:g} x 10^6"


def headline_measures(doses: pd.DataFrame, proportions: pd.DataFrame, delays: pd.DataFrame) -> pd.DataFrame:
    """Headline feasibility numbers, ready for :func:`~msc_analysis.report.results.result_rows`.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``,
        ``method``: ``dose_cells_per_kg_median`` (the CI columns hold the interquartile range),
        ``within_tolerance_prop`` and ``infused_prop`` (exact CIs),
        ``enrollment_to_infusion_days_median`` (IQR in the CI columns; estimate missing and
        ``n`` 0 when no enrollment date is recorded). A missing estimate's ``method`` says why
        ("not estimable: no subject infused yet", "... no subject enrolled yet").
    """
    s = dose_summary(doses).iloc[0]
    p = proportions.set_index("measure")
    dl = delay_summary(delays).iloc[0]
    target = float(doses["target_cells_per_kg"].iloc[0] if len(doses) else trial_facts()["target_dose_cells_per_kg"])
    tol = float(doses["tolerance_pct"].iloc[0] if len(doses) else safety_definitions()["dose"]["tolerance_pct"])
    delay_method = ("median days from enrollment date to infusion date; lower and upper hold the interquartile range (Q1, Q3)"
                    if dl["computable"] or not len(doses) else
                    "not computable: no enrollment dates recorded in this cut (never imputed)")
    none_infused = "" if len(doses) else NO_SUBJECT_INFUSED
    none_enrolled = "" if int(p.loc["infused", "n"]) else "no subject enrolled yet"
    return pd.DataFrame([
        dict(measure="dose_cells_per_kg_median", group="treated", estimate=s["dose_cells_per_kg_median"],
             ci95_lower=s["dose_cells_per_kg_q1"], ci95_upper=s["dose_cells_per_kg_q3"], n=int(s["n_infused"]),
             unit="cells/kg", method=with_reason(f"median of cells_infused / dosing weight_kg (target {_cells(target)} cells/kg); "
                                                 "lower and upper hold the interquartile range (Q1, Q3), not a CI",
                                                 none_infused)),
        dict(measure="within_tolerance_prop", group="treated", estimate=p.loc["within_tolerance", "estimate_prop"],
             ci95_lower=p.loc["within_tolerance", "ci95_lower"], ci95_upper=p.loc["within_tolerance", "ci95_upper"],
             n=int(p.loc["within_tolerance", "n"]), unit="proportion",
             method=with_reason(f"dose within +/-{tol:g}% of {_cells(target)} cells/kg (inclusive); {EXACT_CI_METHOD}",
                                none_infused)),
        dict(measure="infused_prop", group="enrolled", estimate=p.loc["infused", "estimate_prop"],
             ci95_lower=p.loc["infused", "ci95_lower"], ci95_upper=p.loc["infused", "ci95_upper"],
             n=int(p.loc["infused", "n"]), unit="proportion",
             method=with_reason(f"enrolled subjects infused by the cutoff; {EXACT_CI_METHOD}", none_enrolled)),
        dict(measure="enrollment_to_infusion_days_median", group="treated",
             estimate=dl["enrollment_to_infusion_days_median"], ci95_lower=dl["enrollment_to_infusion_days_q1"],
             ci95_upper=dl["enrollment_to_infusion_days_q3"], n=int(dl["n_with_enrollment_date"]), unit="days",
             method=with_reason(delay_method, none_infused)),
    ]).astype({"estimate": "float64", "ci95_lower": "float64", "ci95_upper": "float64"})

