"""Tables of the dose and feasibility page (09): feasibility at a glance, dose and not-infused listings.

Each function takes the tidy frames of :mod:`msc_analysis.endpoints.dose_feasibility` and returns
the cells of one table as text written with :mod:`.formats`; the page shows them with
:meth:`~msc_analysis.report.page.Page.table`. Doses are shown in units of 10^6 cells/kg.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["format_feasibility", "format_dose_listing", "format_not_infused", "REASON_NOT_RECORDED"]

#: What the not-infused listing says when the cut gives no reason.
REASON_NOT_RECORDED = "reason not recorded"
_MILLION = 1e6


def _ci(lower, upper) -> str:
    if formats.is_missing(lower) and formats.is_missing(upper):
        return formats.NE
    return f"{formats.pct(lower)} to {formats.pct(upper)}"


def _spread(median, q1, q3, low, high, fmt) -> str:
    """``median [Q1 to Q3] (min to max)`` in one format."""
    return f"{fmt(median)} [{fmt(q1)} to {fmt(q3)}] (range {fmt(low)} to {fmt(high)})"


def _mega(value) -> str:
    return formats.number(value / _MILLION, 3) if not formats.is_missing(value) else formats.NE


def format_feasibility(proportions: pd.DataFrame, delay: pd.DataFrame, dose: pd.DataFrame) -> pd.DataFrame:
    """Feasibility table: infused, dose within tolerance, delivered dose, days from enrollment to infusion.

    Parameters
    ----------
    proportions, delay, dose : DataFrame
        Outputs of :func:`~msc_analysis.endpoints.dose_feasibility.feasibility_proportions`,
        :func:`~.delay_summary` and :func:`~.dose_summary`.

    Returns
    -------
    DataFrame
        ``Measure``, ``Result``, ``Exact 95% CI``, ``Based on``.
    """
    p = proportions.set_index("measure")
    s, dl = dose.iloc[0], delay.iloc[0]
    rows = []
    for measure, label, whom in (("infused", "Enrolled subjects infused by the cutoff, n/N (%)", "enrolled"),
                                 ("within_tolerance", "Infusions within the dose tolerance, n/N (%)", "infused")):
        r = p.loc[measure]
        rows.append((label, formats.count_pct(r["successes"], r["n"], of=True), _ci(r["ci95_lower"], r["ci95_upper"]),
                     f"{formats.count(r['n'])} {whom}"))
    n_infused = int(s["n_infused"])
    if n_infused:
        rows.append(("Dose delivered, 10^6 cells/kg: median [Q1 to Q3] (range)",
                     _spread(s["dose_cells_per_kg_median"], s["dose_cells_per_kg_q1"], s["dose_cells_per_kg_q3"],
                             s["dose_cells_per_kg_min"], s["dose_cells_per_kg_max"], _mega),
                     formats.DASH, f"{n_infused} infused"))
    else:
        rows.append(("Dose delivered, 10^6 cells/kg", "not estimable: no subject infused yet", formats.DASH,
                     "0 infused"))
    stem = "enrollment_to_infusion_days"
    if dl["computable"]:
        rows.append(("Days from enrollment to infusion: median [Q1 to Q3] (range)",
                     _spread(dl[stem + "_median"], dl[stem + "_q1"], dl[stem + "_q3"], dl[stem + "_min"],
                             dl[stem + "_max"], formats.days),
                     formats.DASH,
                     f"{formats.count(dl['n_with_enrollment_date'])} of {formats.count(dl['n_treated'])} infused "
                     "with an enrollment date"))
    else:
        why = ("no subject infused yet" if not int(dl["n_treated"])
               else "enrollment dates are not recorded in this cut")
        rows.append(("Days from enrollment to infusion", f"not estimable: {why}", formats.DASH,
                     f"0 of {formats.count(dl['n_treated'])} infused with an enrollment date"))
    return pd.DataFrame(rows, columns=["Measure", "Result", "Exact 95% CI", "Based on"])


def format_dose_listing(doses: pd.DataFrame) -> pd.DataFrame:
    """Per-infusion dose listing: subject, cells infused, dosing weight, dose, deviation, within tolerance.

    Parameters
    ----------
    doses : DataFrame
        Output of :func:`~msc_analysis.endpoints.dose_feasibility.dose_delivered` (or its rows
        outside the tolerance).

    Examples
    --------
    >>> format_dose_listing(pd.DataFrame({"subject_id": ["A"], "cells_infused": [8.8e7], "weight_kg": [80.0],
    ...     "dose_cells_per_kg": [1.1e6], "deviation_pct": [10.0], "within_tolerance": [True]})).iloc[0].tolist()
    ['A', '88.0', '80.0', '1.100', '+10.0%', 'yes']
    """
    def signed(v) -> str:
        text = formats.number(v, 1)
        return text if text.startswith("-") or text in (formats.NE, formats.NR) or float(text) == 0 else "+" + text

    return pd.DataFrame({
        "Subject": doses["subject_id"].astype(str).to_numpy(),
        "Cells infused (10^6)": [formats.number(v / _MILLION, 1) for v in doses["cells_infused"]],
        "Dosing weight (kg)": [formats.number(v, 1) for v in doses["weight_kg"]],
        "Dose (10^6 cells/kg)": [_mega(v) for v in doses["dose_cells_per_kg"]],
        "Deviation from target": [signed(v) + "%" for v in doses["deviation_pct"]],
        "Within tolerance": ["yes" if bool(v) else "no" for v in doses["within_tolerance"]],
    })


def format_not_infused(listing: pd.DataFrame) -> pd.DataFrame:
    """Enrolled subjects not infused by the cutoff: days since enrollment, status, reason, death.

    Parameters
    ----------
    listing : DataFrame
        Output of :func:`~msc_analysis.endpoints.dose_feasibility.not_infused_listing`.

    Examples
    --------
    >>> lst = pd.DataFrame({"subject_id": ["A"], "days_enrolled_before_cutoff": pd.array([118], dtype="Int64"),
    ...     "died": [False], "not_infused_reason": pd.array([None], dtype="string"),
    ...     "status": ["not infused (118 days since enrollment)"]})
    >>> format_not_infused(lst).iloc[0].tolist()
    ['A', '118', 'not infused (118 days since enrollment)', 'reason not recorded', 'no']
    """
    reasons = (listing["not_infused_reason"] if "not_infused_reason" in listing
               else pd.Series(pd.NA, index=listing.index, dtype="string"))
    return pd.DataFrame({
        "Subject": listing["subject_id"].astype(str).to_numpy(),
        "Days from enrollment to the cutoff": [
            "enrollment date not recorded" if formats.is_missing(d) else formats.days(d)
            for d in listing["days_enrolled_before_cutoff"]],
        "Status at the cutoff": listing["status"].astype(str).to_numpy(),
        "Reason not infused": [REASON_NOT_RECORDED if formats.is_missing(r) or not str(r).strip() else str(r)
                               for r in reasons],
        "Died": ["yes" if bool(v) else "no" for v in listing["died"]],
    })
