"""Baseline and change from baseline, shared by every longitudinal endpoint.

Baseline is defined once: the **last non-missing value on or before day 0** (the infusion day),
no earlier than ``window_days_before`` days before it. Days are whole calendar days
(``days_since_infusion``). The infusion has a date but no time, so a value measured on day 0
may have been taken before or after it; ``day0_values`` states which day-0 values count
(``earliest``, ``all`` or ``none``). The rule of each endpoint family lives in
``definitions/baseline.yaml`` (read by :mod:`msc_analysis.definitions`); get it with
:func:`baseline_rule`.

Change is ``value - baseline`` and percent change ``100 * change / baseline`` (missing when the
baseline is 0). The tests of the change at each visit are in :mod:`msc_analysis.stats.paired`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import definitions
from ..definitions import DAY0_VALUES
from ..definitions import check_baseline_rule as _check_rule
from .checks import positions, require_columns, row_order

__all__ = ["DAY0_VALUES", "baseline_rules", "baseline_rule", "derive_baseline", "add_change"]


def baseline_rules() -> pd.DataFrame:
    """The baseline rule of every endpoint family, as a table for display.

    Returns
    -------
    DataFrame
        ``family``, ``window_days_before`` (int), ``day0_values``, ``why``.
    """
    return pd.DataFrame([{"family": f, "window_days_before": r["window_days_before"],
                          "day0_values": r["day0_values"], "why": r.get("why", "")}
                         for f, r in definitions.baseline_rules().items()])


def baseline_rule(family: str) -> dict:
    """The baseline rule of one endpoint family, as keyword arguments of :func:`derive_baseline`.

    Examples
    --------
    >>> baseline_rule("crp")
    {'window_days_before': 3, 'day0_values': 'earliest'}
    """
    rules = definitions.baseline_rules()
    if family not in rules:
        raise ValueError(f"no baseline rule for {family!r}; baseline.yaml has {', '.join(rules)}")
    return {"window_days_before": int(rules[family]["window_days_before"]),
            "day0_values": rules[family]["day0_values"]}


def derive_baseline(
    values: pd.DataFrame,
    subjects: pd.DataFrame,
    *,
    value_column: str,
    time_column: str,
    carry: Sequence[str] = (),
    window_days_before: int = 3,
    day0_values: str = "earliest",
) -> pd.DataFrame:
    """Baseline value of each subject: the last non-missing value on or before day 0.

    Parameters
    ----------
    values : DataFrame
        One row per measurement: ``subject_id``; ``days_since_infusion`` (whole calendar days,
        infusion day 0; missing for subjects not infused); ``time_column`` (datetime64 or date,
        orders values within a day); ``value_column`` (rows where it is missing are skipped);
        and the columns named in ``carry``.
    subjects : DataFrame
        The population: one row per subject, ``subject_id``.
    value_column, time_column : str
        Names of the value and of its date-time column.
    carry : sequence of str
        Further columns of the chosen row to return (as ``baseline_<column>``).
    window_days_before : int, default 3
        Earliest day allowed: ``days_since_infusion >= -window_days_before``.
    day0_values : {"earliest", "all", "none"}, default "earliest"
        Which values dated day 0 may be the baseline: only the earliest of the day, all of
        them (the last wins), or none. Equal times are ordered as the rows of ``values``.

    Returns
    -------
    DataFrame
        One row per subject of ``subjects``, in its order: ``subject_id``; ``has_baseline``
        (bool); ``baseline_value``; ``baseline_days_since_infusion`` (Int64);
        ``baseline_time`` (the chosen row's ``time_column``); ``baseline_<column>`` for each
        column of ``carry``. Missing where ``has_baseline`` is false.

    Examples
    --------
    >>> v = pd.DataFrame({"subject_id": ["A", "A", "A", "B"],
    ...     "days_since_infusion": [-1, 0, 0, -5],
    ...     "collected_at": pd.to_datetime(["2020-08-01 06:00", "2020-08-02 06:00",
    ...                                     "2020-08-02 18:00", "2020-08-01 06:00"]),
    ...     "crp_mg_dl": [12.0, 10.0, 14.0, 9.0]})
    >>> s = pd.DataFrame({"subject_id": ["A", "B"]})
    >>> b = derive_baseline(v, s, value_column="crp_mg_dl", time_column="collected_at")
    >>> b[["subject_id", "has_baseline", "baseline_value", "baseline_days_since_infusion"]]
      subject_id  has_baseline  baseline_value  baseline_days_since_infusion
    0          A          True            10.0                             0
    1          B         False             NaN                          <NA>
    """
    _check_rule(window_days_before, day0_values)
    carry = list(carry)
    require_columns(values, ["subject_id", "days_since_infusion", time_column, value_column, *carry], "values")
    require_columns(subjects, ["subject_id"], "subjects")
    if subjects["subject_id"].duplicated().any():
        raise ValueError("subjects.subject_id must be unique")

    day = values["days_since_infusion"].astype("Float64")
    in_window = ((day >= -window_days_before) & (day <= 0)).fillna(False)
    keep = (values[value_column].notna() & in_window).to_numpy(bool)
    at = np.full(len(values), -1, dtype=np.int64)  # by position: integers sort fast
    at[keep] = positions(values["subject_id"][keep], subjects["subject_id"])
    keep &= at >= 0
    v = values.loc[keep, [time_column, value_column, *carry]].copy()
    v["_subject"] = at[keep]
    v["_day"] = day[keep].astype("int64").to_numpy()
    v["_row"] = np.flatnonzero(keep)
    order = row_order(v["_subject"], v["_day"], v[time_column])  # then by row: v is in row order
    v = v.sort_values(["_subject", "_day", time_column, "_row"], kind="stable") if order is None else v.iloc[order]
    on_day0 = v["_day"] == 0
    if day0_values == "none":
        v = v[~on_day0]
    elif day0_values == "earliest":
        later_same_day = on_day0 & v.duplicated(["_subject", "_day"], keep="first")
        v = v[~later_same_day]
    chosen = v.drop_duplicates("_subject", keep="last").set_index("_subject")

    out = pd.DataFrame({"subject_id": subjects["subject_id"].to_numpy()})
    out["has_baseline"] = np.isin(np.arange(len(subjects)), chosen.index.to_numpy())
    picked = chosen.reindex(pd.RangeIndex(len(subjects))).reset_index(drop=True)
    out["baseline_value"] = picked[value_column]
    out["baseline_days_since_infusion"] = picked["_day"].astype("Int64")
    out["baseline_time"] = picked[time_column]
    for column in carry:
        out[f"baseline_{column}"] = picked[column]
    return out


def add_change(frame: pd.DataFrame, value_column: str = "value",
               baseline_column: str = "baseline_value") -> pd.DataFrame:
    """Add ``change`` (value - baseline) and ``change_pct`` (100 * change / baseline).

    Parameters
    ----------
    frame : DataFrame
        Holds the numeric ``value_column`` and ``baseline_column`` (either may be missing).
    value_column, baseline_column : str
        Column names.

    Returns
    -------
    DataFrame
        A copy of ``frame`` with ``change`` and ``change_pct`` (float; missing where the value
        or the baseline is missing, and ``change_pct`` also where the baseline is 0).

    Examples
    --------
    >>> f = pd.DataFrame({"value": [4.2, 3.0, 1.0], "baseline_value": [15.0, 0.0, None]})
    >>> add_change(f).round(2)[["change", "change_pct"]].values.tolist()
    [[-10.8, -72.0], [3.0, nan], [nan, nan]]
    """
    value = pd.to_numeric(frame[value_column]).astype("float64")
    base = pd.to_numeric(frame[baseline_column]).astype("float64")
    change = value - base
    pct = (100 * change / base.where(base != 0)).astype("float64")
    return frame.assign(change=change.to_numpy(), change_pct=pct.to_numpy())
