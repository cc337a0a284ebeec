"""The subjects behind each visit and the median and quartiles of a value and its change from baseline.

Every longitudinal endpoint (CRP, PaO2/FiO2, the Liao score, the CT score) reports this table of
:func:`msc_analysis.derive.visits.longitudinal` rows; quantiles: :data:`~.visits.QUANTILE_METHOD`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_measured
from ..stats.paired import visit_groups
from .visits import BASELINE_VISIT, VISIT_STATUSES

__all__ = ["summarise_visits"]


def _quartiles(x: pd.Series) -> tuple[float, float, float]:
    x = x.dropna().astype("float64")
    if x.empty:
        return (np.nan, np.nan, np.nan)
    q = x.quantile([0.25, 0.5, 0.75]).to_numpy()
    return (q[1], q[0], q[2])


#: Why a change from baseline has no median on the baseline row.
_NO_CHANGE_AT_BASELINE = "not applicable at baseline"


def summarise_visits(long: pd.DataFrame, value_column: str = "value",
                     change_column: str = "change", *, visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Subjects behind each visit and the median and quartiles of the value and its change.

    Parameters
    ----------
    long : DataFrame
        A frame like :func:`~.visits.longitudinal`'s: ``visit``, ``target_day``, ``status``,
        ``has_baseline``, ``value_column`` and ``change_column``.
    visits : DataFrame, optional
        ``visit``, ``target_day`` of the visits to report when ``long`` has no rows (no
        subject, e.g. nobody infused yet): each then gets a row with zero counts and missing
        medians, after a baseline row, so every visit is still reported. Ignored otherwise.

    Returns
    -------
    DataFrame
        One row per visit (baseline first): ``visit``, ``target_day``; counts ``n_subjects``,
        ``n_measured``, ``n_died``, ``n_discharged``, ``n_lost_to_follow_up``, ``n_not_reached``
        (follow-up not reached), ``n_no_value`` (by status), ``n_no_baseline`` (subjects without
        a baseline: the same on every row),
        ``n_change`` (measured with a baseline; 0 on the baseline row); ``<value>_median``,
        ``<value>_q1``, ``<value>_q3``; ``<change>_median``, ``<change>_q1``, ``<change>_q3``
        (missing on the baseline row); ``<value>_not_estimable_reason`` and
        ``<change>_not_estimable_reason`` (why a median is missing: "" when it is there;
        "no subject infused yet", "no subject measured", "no subject with a value and a
        baseline", or "not applicable at baseline"). Quantiles: :data:`~.visits.QUANTILE_METHOD`.
    """
    rows = []
    for visit, day, g in visit_groups(long):
        counts = g["status"].value_counts().reindex(VISIT_STATUSES, fill_value=0)
        measured = g[g["status"] == VISIT_STATUSES[0]]
        paired = measured[measured["has_baseline"]] if day != 0 else measured.iloc[:0]
        v, c = _quartiles(measured[value_column]), _quartiles(paired[change_column])
        rows.append({
            "visit": visit, "target_day": int(day), "n_subjects": len(g),
            "n_measured": int(counts.iloc[0]), "n_died": int(counts.iloc[1]),
            "n_discharged": int(counts.iloc[2]), "n_lost_to_follow_up": int(counts.iloc[3]),
            "n_not_reached": int(counts.iloc[4]), "n_no_value": int(counts.iloc[5]),
            "n_no_baseline": int((~g["has_baseline"]).sum()),
            "n_change": len(paired),
            f"{value_column}_median": v[0], f"{value_column}_q1": v[1], f"{value_column}_q3": v[2],
            f"{change_column}_median": c[0], f"{change_column}_q1": c[1], f"{change_column}_q3": c[2]})
    columns = _summary_columns(value_column, change_column)
    if not rows and visits is not None:
        empty = [(BASELINE_VISIT, 0), *zip(visits["visit"], visits["target_day"])]
        rows = [{"visit": v, "target_day": int(d), **dict.fromkeys(columns[2:11], 0)} for v, d in empty]
    out = pd.DataFrame(rows, columns=columns[:-2])
    for column in out.columns[11:]:
        out[column] = out[column].astype("float64")
    value_reason = np.where(out["n_subjects"] == 0, NO_SUBJECT_INFUSED,
                            np.where(out["n_measured"] == 0, no_subject_measured(), ""))
    change_reason = np.where(out["target_day"] == 0, _NO_CHANGE_AT_BASELINE,
                             np.where(out["n_subjects"] == 0, NO_SUBJECT_INFUSED,
                                      np.where(out["n_change"] == 0,
                                               no_subject_measured("with a value and a baseline"), "")))
    out[f"{value_column}_not_estimable_reason"] = value_reason.astype(object)
    out[f"{change_column}_not_estimable_reason"] = change_reason.astype(object)
    return out


def _summary_columns(value_column: str, change_column: str) -> list[str]:
    return ["visit", "target_day", "n_subjects", "n_measured", "n_died", "n_discharged", "n_lost_to_follow_up",
            "n_not_reached", "n_no_value", "n_no_baseline", "n_change",
            *(f"{c}_{s}" for c in (value_column, change_column) for s in ("median", "q1", "q3")),
            f"{value_column}_not_estimable_reason", f"{change_column}_not_estimable_reason"]
