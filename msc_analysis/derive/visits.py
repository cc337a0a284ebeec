"""Visits after the infusion, shared by every longitudinal endpoint.

Visit windows are data (``definitions/visit_windows.csv``): each visit has a target day and a
window of days (both ends inclusive) after the infusion (day 0). Within a window the value
**nearest the target day** is the visit's value; at equal distance the **earlier** one wins
(day 6 before day 8 for a day-7 target; on one day, the earlier time; at equal times, the
earlier row). A value is used for at most one visit: windows of a family may not overlap.

A subject without a value at a visit is not imputed: the visit gets a status saying why
(:data:`VISIT_STATUSES`), so the number of subjects behind every visit is always visible. Given
the data cutoff, follow-up comes from the one derivation :func:`msc_analysis.derive.follow_up.follow_up`
and a subject not followed to a visit is "lost to follow-up" when the visit window has closed by
the calendar, "follow-up not reached" when it closes after the cutoff. Each visit row also says
whether its window has closed by the calendar (``evaluable_by_calendar``): the population of the
analyses that do not lose the deaths (:mod:`msc_analysis.stats.worst_rank`).

The per-visit counts and medians every endpoint reports are in :mod:`.visit_summary`; their
headline results rows are built in :mod:`msc_analysis.report.longitudinal_tables`, the tests of
the change in :mod:`msc_analysis.stats.paired`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import definitions
from ..definitions import check_visit_windows as check_windows
from ..stats.paired import MEASURED
from .baseline import add_change, derive_baseline
from .checks import isin, positions, require_columns, row_order
from .follow_up import follow_up

__all__ = [
    "VISIT_STATUSES", "BASELINE_VISIT", "QUANTILE_METHOD", "visit_windows", "check_windows",
    "family_rule", "subject_course", "assign_visits", "longitudinal",
]

#: Status of a subject at a visit, in display order. "measured": a value in the window;
#: otherwise why not: "died" (death on or before the window's last day), "discharged"
#: (discharged alive on or before the window's last day), "lost to follow-up" (alive, followed
#: for fewer days than the window's last day although that day is on or before the cutoff),
#: "follow-up not reached" (alive, followed for fewer days than the window's last day, which is
#: after the cutoff; without a cutoff every subject not followed to the window's end is here),
#: "no value" (none of these: a missed measurement).
VISIT_STATUSES = (MEASURED, "died", "discharged", "lost to follow-up", "follow-up not reached", "no value")
#: Label of the baseline row of a longitudinal frame (``target_day`` 0).
BASELINE_VISIT = "Baseline"
QUANTILE_METHOD = "median and quartiles by linear interpolation (pandas default, R type 7)"
_WINDOW_COLUMNS = ("family", "visit", "target_day", "lower_day", "upper_day")


def visit_windows(family: str | None = None) -> pd.DataFrame:
    """Visit windows of one endpoint family (or all of them) from ``visit_windows.csv``.

    Returns
    -------
    DataFrame
        ``family``, ``visit`` (label), ``target_day``, ``lower_day``, ``upper_day`` (int, days
        since the infusion, window ends inclusive), sorted by target day.

    Examples
    --------
    >>> visit_windows("crp")[["visit", "target_day", "lower_day", "upper_day"]].iloc[2:3]
       visit  target_day  lower_day  upper_day
    2  Day 7           7          5         10
    """
    windows = definitions.visit_windows()[list(_WINDOW_COLUMNS)]
    if family is None:
        return windows
    if family not in set(windows["family"]):
        raise ValueError(f"no visit windows for {family!r}; visit_windows.csv has "
                         f"{', '.join(windows['family'].unique())}")
    return windows[windows["family"] == family].sort_values("target_day").reset_index(drop=True)


def family_rule(family: str, windows: pd.DataFrame | None = None,
                window_days_before: int | None = None, day0_values: str | None = None) -> dict:
    """Visit windows and baseline rule of an endpoint family, defaults read from definitions.

    Arguments left as ``None`` come from ``visit_windows.csv`` and ``baseline.yaml``.

    Returns
    -------
    dict
        ``windows`` (DataFrame), ``window_days_before`` (int), ``day0_values`` (str): the
        keyword arguments of :func:`longitudinal` other than the column names.

    Examples
    --------
    >>> r = family_rule("ct", window_days_before=7)
    >>> r["window_days_before"], r["day0_values"], r["windows"]["target_day"].tolist()
    (7, 'all', [14, 28, 60])
    """
    from .baseline import baseline_rule

    rule = baseline_rule(family)
    return {"windows": visit_windows(family) if windows is None else windows,
            "window_days_before": rule["window_days_before"] if window_days_before is None
            else window_days_before,
            "day0_values": rule["day0_values"] if day0_values is None else day0_values}


def subject_course(subjects: pd.DataFrame, cutoff_date=None) -> pd.DataFrame:
    """Death, discharge and follow-up of each treated subject, in days since the infusion.

    Parameters
    ----------
    subjects : DataFrame
        One row per treated subject: ``subject_id``, ``infused_on`` (required for every
        row), ``died_on``, ``discharged_on``, ``last_known_alive_on`` (dates, may be missing;
        the loader has already blanked dates after the cutoff).
    cutoff_date : date-like, optional
        The data cutoff. Given, follow-up is that of
        :func:`msc_analysis.derive.follow_up.follow_up` (to the death, else to the later of the
        last date known alive, capped at the cutoff, and the discharge) and ``days_to_cutoff``
        is filled; None keeps the rule without a cutoff (to the death, else to the last date
        known alive) and leaves ``days_to_cutoff`` missing.

    Returns
    -------
    DataFrame
        ``subject_id``; ``death_day`` and ``discharge_day`` (Int64, missing if none);
        ``follow_up_days`` (int: to the death, else to the last date known alive, else 0);
        ``days_to_cutoff`` (Int64: from the infusion to the cutoff; missing without a cutoff).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A"], "infused_on": d(["2020-08-05"]),
    ...     "died_on": d(["2020-08-15"]), "discharged_on": d([None]),
    ...     "last_known_alive_on": d(["2020-08-14"])})
    >>> subject_course(s)
      subject_id  death_day  discharge_day  follow_up_days  days_to_cutoff
    0          A         10           <NA>              10            <NA>
    >>> subject_course(s, "2020-09-04")["days_to_cutoff"].tolist()
    [30]
    """
    require_columns(subjects, ["subject_id", "infused_on", "died_on", "discharged_on", "last_known_alive_on"],
                    "subjects")
    if subjects["infused_on"].isna().any():
        raise ValueError("every subject must have infused_on: pass the treated population")
    day0 = subjects["infused_on"]

    def days(column):
        return (subjects[column] - day0).dt.days.astype("Int64").reset_index(drop=True)

    death, discharge = days("died_on"), days("discharged_on")
    if cutoff_date is None:
        follow = death.fillna(days("last_known_alive_on")).fillna(0).clip(lower=0).astype("int64")
        to_cutoff = pd.array([pd.NA] * len(subjects), dtype="Int64")
    else:
        f = follow_up(subjects.drop(columns=["treated"], errors="ignore"), cutoff_date)
        follow = pd.Series(f["follow_up_days"].to_numpy()).round().astype("int64")
        to_cutoff = pd.array(f["days_to_cutoff"].to_numpy(), dtype="Int64")
    return pd.DataFrame({"subject_id": subjects["subject_id"].to_numpy(), "death_day": death,
                         "discharge_day": discharge, "follow_up_days": follow.to_numpy(),
                         "days_to_cutoff": to_cutoff})


def assign_visits(
    values: pd.DataFrame,
    subjects: pd.DataFrame,
    windows: pd.DataFrame,
    *,
    value_column: str,
    time_column: str,
    carry: Sequence[str] = (),
    cutoff_date=None,
) -> pd.DataFrame:
    """The value of each subject at each visit, or the reason there is none.

    Parameters
    ----------
    values : DataFrame
        ``subject_id``, ``days_since_infusion``, ``time_column``, ``value_column`` (rows
        where it is missing are skipped) and the ``carry`` columns.
    subjects : DataFrame
        The treated population, one row per subject (columns of :func:`subject_course`).
    windows : DataFrame
        ``visit``, ``target_day``, ``lower_day``, ``upper_day`` (e.g. :func:`visit_windows`).
    value_column, time_column : str
        Names of the value and of its date-time column.
    carry : sequence of str
        Further columns of the chosen row to return.
    cutoff_date : date-like, optional
        The data cutoff (see :func:`subject_course`). Without it, no subject is "lost to
        follow-up" and ``evaluable_by_calendar`` is missing.

    Returns
    -------
    DataFrame
        One row per subject and visit (subjects in input order, visits by target day):
        ``subject_id``, ``visit``, ``target_day``; ``status`` (categorical,
        :data:`VISIT_STATUSES`); ``days_since_infusion`` (Int64), ``time_column``, ``value``
        and the ``carry`` columns of the chosen row (missing unless measured);
        ``death_day``, ``discharge_day`` (Int64); ``window_end_day`` (int, the window's last
        day); ``evaluable_by_calendar`` (boolean: the window's last day is on or before the
        cutoff, i.e. the subject was infused at least ``window_end_day`` days before it; missing
        without a cutoff).
    """
    check_windows(windows)
    carry = list(carry)
    require_columns(values, ("subject_id", "days_since_infusion", time_column, value_column, *carry), "values")
    course = subject_course(subjects, cutoff_date)
    course["subject_id"] = course["subject_id"].astype(str)
    w = windows.sort_values("target_day").reset_index(drop=True)
    lower, upper = w["lower_day"].to_numpy(), w["upper_day"].to_numpy()

    day = values["days_since_infusion"].astype("Float64")
    # match rows to subjects by position in ``course`` (integers sort and merge much faster than
    # text); by code when a code is repeated
    key = "_order" if course["subject_id"].is_unique else "subject_id"
    at = positions(values["subject_id"], course["subject_id"]) if key == "_order" else None
    known = at >= 0 if key == "_order" else isin(values["subject_id"].astype(str), course["subject_id"]).to_numpy(bool)
    keep = known & (values[value_column].notna() & (day >= 1).fillna(False)).to_numpy(bool)
    rows = np.flatnonzero(keep)
    days = day.to_numpy(float, na_value=np.nan)[rows].astype("int64")
    window = np.searchsorted(lower, days, side="right") - 1
    inside = window >= 0
    inside[inside] = days[inside] <= upper[window[inside]]
    rows, days, window = rows[inside], days[inside], window[inside]
    distance = np.abs(days - w["target_day"].to_numpy()[window])
    # the row nearest the target day of each subject and visit; then the earlier day, time and row
    order = row_order(at[rows], window, distance, days, values[time_column].to_numpy()[rows]) \
        if key == "_order" else None
    if order is not None:
        rows, days, window = rows[order], days[order], window[order]
        first = np.ones(len(rows), dtype=bool)  # the first row of each subject and visit
        first[1:] = (at[rows][1:] != at[rows][:-1]) | (window[1:] != window[:-1])
        rows, days, window = rows[first], days[first], window[first]
    v = values[[time_column, value_column, *carry]].iloc[rows].rename(columns={value_column: "value"})
    v.insert(0, key, at[rows] if key == "_order" else values["subject_id"].iloc[rows].astype(str).to_numpy())
    v["days_since_infusion"] = days
    v["_row"] = rows
    v["_w"] = window
    if order is None:
        v = v.assign(_distance=distance).sort_values(
            [key, "_w", "_distance", "days_since_infusion", time_column, "_row"], kind="stable") \
            .drop_duplicates([key, "_w"]).drop(columns="_distance")

    grid = course.assign(_order=np.arange(len(course))).merge(
        w[["visit", "target_day", "upper_day"]].assign(_w=np.arange(len(w))), how="cross")
    grid = grid.merge(v.drop(columns="_row"), on=[key, "_w"], how="left")
    passed = (grid["days_to_cutoff"] >= grid["upper_day"]).astype("boolean")
    short = (grid["follow_up_days"] < grid["upper_day"]).to_numpy(bool)
    status = np.select(  # codes of VISIT_STATUSES
        [grid["value"].notna().to_numpy(bool),
         (grid["death_day"] <= grid["upper_day"]).fillna(False).to_numpy(bool),
         (grid["discharge_day"] <= grid["upper_day"]).fillna(False).to_numpy(bool),
         short & passed.fillna(False).to_numpy(bool), short],
        range(5), default=5)
    grid["status"] = pd.Categorical.from_codes(status, categories=VISIT_STATUSES)
    grid["window_end_day"] = grid["upper_day"].astype("int64")
    grid["evaluable_by_calendar"] = passed
    grid["days_since_infusion"] = grid["days_since_infusion"].astype("Int64")
    if not (np.diff(grid["_order"].to_numpy() * len(w) + grid["_w"].to_numpy()) > 0).all():
        grid = grid.sort_values(["_order", "_w"])  # the cross join is already in this order
    grid = grid.reset_index(drop=True)
    if len(grid):  # back to the subjects' own codes (course holds them as text), by position
        grid["subject_id"] = subjects["subject_id"].array.take(grid["_order"].to_numpy())
    else:
        codes = dict(zip(course["subject_id"], subjects["subject_id"]))
        grid["subject_id"] = grid["subject_id"].astype(object).map(codes)
    return grid[["subject_id", "visit", "target_day", "status", "days_since_infusion", time_column,
                 "value", *carry, "death_day", "discharge_day", "window_end_day", "evaluable_by_calendar"]]


def longitudinal(
    values: pd.DataFrame,
    subjects: pd.DataFrame,
    windows: pd.DataFrame,
    *,
    value_column: str,
    time_column: str,
    carry: Sequence[str] = (),
    window_days_before: int = 3,
    day0_values: str = "earliest",
    cutoff_date=None,
) -> pd.DataFrame:
    """Baseline and every visit of every subject, with change from baseline.

    Combines :func:`~msc_analysis.derive.baseline.derive_baseline` (rule arguments
    ``window_days_before``, ``day0_values``), :func:`assign_visits` (``cutoff_date``: pass the
    data cutoff so that "lost to follow-up" and ``evaluable_by_calendar`` are known) and
    :func:`~msc_analysis.derive.baseline.add_change`; see those for the inputs.

    Returns
    -------
    DataFrame
        One row per subject for the baseline (``visit`` = :data:`BASELINE_VISIT`,
        ``target_day`` 0, ``status`` "measured" or "no value", ``window_end_day`` 0) and one per
        visit, with the columns of :func:`assign_visits` and ``has_baseline`` (bool), ``baseline_value``,
        ``baseline_<column>`` for each ``carry`` column, ``change`` (value - baseline; 0 on
        the baseline row) and ``change_pct`` (100 * change / baseline; missing when the
        baseline is 0). ``value`` must be numeric.
    """
    base = derive_baseline(values, subjects, value_column=value_column, time_column=time_column,
                           carry=carry, window_days_before=window_days_before,
                           day0_values=day0_values)
    visits = assign_visits(values, subjects, windows, value_column=value_column,
                           time_column=time_column, carry=carry, cutoff_date=cutoff_date)
    course = subject_course(subjects, cutoff_date)
    first = pd.DataFrame({
        "subject_id": base["subject_id"], "visit": BASELINE_VISIT, "target_day": 0,
        "status": pd.Categorical(np.where(base["has_baseline"], VISIT_STATUSES[0], VISIT_STATUSES[4]),
                                 categories=VISIT_STATUSES),
        "days_since_infusion": base["baseline_days_since_infusion"],
        time_column: base["baseline_time"], "value": base["baseline_value"],
        **{c: base[f"baseline_{c}"] for c in carry},
        "death_day": course["death_day"], "discharge_day": course["discharge_day"], "window_end_day": 0,
        "evaluable_by_calendar": (course["days_to_cutoff"] >= 0).astype("boolean")})
    first["_order"] = np.arange(len(first))
    visits["_order"] = positions(visits["subject_id"], base["subject_id"])
    frames = [f for f in (first, visits) if len(f)]
    both = pd.concat(frames, ignore_index=True) if frames else visits
    both = both.sort_values(["_order", "target_day"], kind="stable").drop(columns="_order")
    base_cols = ["has_baseline", "baseline_value", *(f"baseline_{c}" for c in carry)]
    at = positions(both["subject_id"], base["subject_id"])
    both = both.reset_index(drop=True)
    for column in base_cols:
        both[column] = base[column].iloc[at].reset_index(drop=True)
    both["value"] = pd.to_numeric(both["value"]).astype("float64")
    both["baseline_value"] = pd.to_numeric(both["baseline_value"]).astype("float64")
    return add_change(both).reset_index(drop=True)
