"""Time-to-event data, shared by the Kaplan-Meier (:mod:`.survival`) and Aalen-Johansen
(:mod:`.competing_risks`) wrappers: the input checks, the counts at each distinct time, reading
a step curve at given days, the counts of a risk table, and a quantile of a step curve.

Both wrappers follow the same conventions (those of R ``survival``): subjects with the same day
form one step; a subject leaving on a day is still at risk on that day; before the first
observed time a curve has its starting value; after the last observed time it is carried
forward only if nobody was censored then (everyone still followed had an event, so the
all-cause curve reached 0), and is missing otherwise (not estimable beyond follow-up).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["time_and_event", "check_days", "counts_at_times", "at_risk_on", "read_at_days",
           "cumulative_counts", "step_quantile"]

_TOL = np.sqrt(np.finfo(float).eps)


def time_and_event(time_days, event, *, empty_event_dtype=bool) -> tuple[np.ndarray, np.ndarray]:
    """``time_days`` as floats checked (same length as ``event``, finite, >= 0) and ``event``
    as a flat array, not yet checked (each wrapper has its own event codes).

    Examples
    --------
    >>> time_and_event([2, 3], [1, 0])
    (array([2., 3.]), array([1, 0]))
    """
    time = np.asarray(time_days, dtype=float).ravel() if np.size(time_days) else np.zeros(0)
    raw = np.asarray(event).ravel() if np.size(event) else np.zeros(0, dtype=empty_event_dtype)
    if time.shape != raw.shape:
        raise ValueError(f"time_days and event must have the same length ({time.size} != {raw.size})")
    if np.any(~np.isfinite(time)) or np.any(time < 0):
        raise ValueError("time_days must be finite and non-negative (days since the infusion)")
    return time, raw


def check_days(days) -> np.ndarray:
    """Days to read a curve at, as floats; ``ValueError`` unless finite and >= 0."""
    days = np.asarray(days, dtype=float).ravel()
    if np.any(~np.isfinite(days)) or np.any(days < 0):
        raise ValueError("times must be finite and non-negative")
    return days


def counts_at_times(time: np.ndarray, **outcomes: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """The distinct times, the number at risk at each, and the count of each outcome on it.

    Parameters
    ----------
    time : ndarray of float
        Days to the event or censoring, one per subject.
    **outcomes : ndarray of bool
        Name -> which subjects ended follow-up with that outcome (together, every subject once).

    Returns
    -------
    tuple
        ``utime`` (sorted distinct times), ``n_at_risk`` (int, ``time >= utime``) and a dict
        name -> int count on exactly each distinct time.

    Examples
    --------
    >>> utime, n_at_risk, n = counts_at_times(np.array([2.0, 2.0, 4.0]), events=np.array([1, 0, 1], bool))
    >>> utime.tolist(), n_at_risk.tolist(), n["events"].tolist()
    ([2.0, 4.0], [3, 1], [1, 1])
    """
    utime, inverse = np.unique(time, return_inverse=True)
    counts = {name: np.bincount(inverse, weights=mask, minlength=utime.size).astype(int)
              for name, mask in outcomes.items()}
    leaving = np.bincount(inverse, minlength=utime.size)
    return utime, time.size - (np.cumsum(leaving) - leaving), counts


def at_risk_on(time: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Subjects still followed at the start of each day (``time >= day``)."""
    return (time[:, None] >= days[None, :]).sum(axis=0).astype(int)


def read_at_days(utime: np.ndarray, days: np.ndarray, *, curves, counts: dict, start: float):
    """Step curves and counts defined at the distinct times ``utime``, read at ``days``.

    Parameters
    ----------
    utime : ndarray
        Sorted distinct observed times.
    days : ndarray
        Days to read at (e.g. from :func:`check_days`).
    curves : sequence of ndarray
        Values at each distinct time (the estimate and its CI limits).
    counts : dict
        Name -> count on each distinct time; must hold ``censored``.
    start : float
        Value of every curve before the first time (1 for survival, 0 for an incidence).

    Returns
    -------
    tuple
        A list with each curve at ``days`` (the value at the last time on or before the day,
        ``start`` before the first; missing after the last time if someone was censored then,
        and everywhere when there are no times) and a dict name -> count on exactly that day.

    Examples
    --------
    >>> values, n = read_at_days(np.array([2.0, 5.0]), np.array([0.0, 2.0, 3.0, 9.0]),
    ...     curves=[np.array([0.8, 0.4])], counts={"censored": np.array([0, 1])}, start=1.0)
    >>> values[0].tolist(), n["censored"].tolist()
    ([1.0, 0.8, 0.8, nan], [0, 0, 0, 0])
    """
    if utime.size == 0:
        return ([np.full(days.size, np.nan) for _ in curves],
                {name: np.zeros(days.size, int) for name in counts})
    idx = np.searchsorted(utime, days, side="right") - 1
    pos = np.clip(idx, 0, None)
    exact = (idx >= 0) & (utime[pos] == days)
    beyond = (days > utime[-1]) & (counts["censored"][-1] > 0)
    values = []
    for column in curves:
        v = np.where(idx >= 0, column[pos], start)
        v[beyond] = np.nan
        values.append(v)
    return values, {name: np.where(exact, c[pos], 0).astype(int) for name, c in counts.items()}


def cumulative_counts(time: np.ndarray, days, **outcomes: np.ndarray) -> pd.DataFrame:
    """The numbers of a risk table: at risk on each day and each outcome up to it.

    Returns
    -------
    pandas.DataFrame
        One row per day: ``day`` (float), ``n_at_risk`` (``time >= day``) and
        ``cumulative_<name>`` for each outcome (subjects with it and ``time <= day``).

    Examples
    --------
    >>> cumulative_counts(np.array([2.0, 4.0]), [0, 3], events=np.array([True, False]))
       day  n_at_risk  cumulative_events
    0  0.0          2                  0
    1  3.0          1                  1
    """
    day = np.asarray(days, dtype=float).ravel()
    upto = time[:, None] <= day[None, :]
    return pd.DataFrame({"day": day, "n_at_risk": at_risk_on(time, day),
                         **{f"cumulative_{name}": (upto & mask[:, None]).sum(axis=0).astype(int)
                            for name, mask in outcomes.items()}})


def step_quantile(x: np.ndarray, y: np.ndarray, p: float, tol: float = _TOL) -> float:
    """R ``survival:::findq``: first ``x`` where the non-decreasing step curve ``y`` reaches ``p``.

    ``x`` starts with the time origin and ``y`` with 0; NaN values of ``y`` are skipped as R's
    ``approx`` does. Returns ``inf`` when ``y`` never reaches ``p``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if y.size == 0 or np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("inf")
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()  # like R duplicated(): NaN equals NaN
    x, y = x[keep], y[keep]
    last = y[-1]
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    reach = np.flatnonzero(y + tol >= p)
    beyond = np.flatnonzero(y - tol >= p)
    if reach.size == 0:
        return float("inf")
    if beyond.size:
        return float((x[reach[0]] + x[beyond[0]]) / 2)
    if not np.isnan(last) and abs(p - last) < tol:
        return float((x[reach[0]] + xmax) / 2)
    return float("inf")
