"""Cumulative incidence with competing risks (Aalen-Johansen), via statsmodels.

Library: :class:`statsmodels.duration.survfunc.CumIncidenceRight` gives the Aalen-Johansen
estimate of the cumulative incidence function (CIF) of each cause,
``F_k(t) = sum over event times t_j <= t of S(t_j-) d_kj / n_j`` (``S`` the all-cause
Kaplan-Meier curve), and its delta-method standard error (Marubini & Valsecchi 1995; the
formula of Stata's ``stcompet``). Ties are handled exactly: all subjects with the same time
form one step, events before censorings (no jitter).

Confidence interval: that standard error is put on the log-log scale here, with the formula of
R ``survival:::survfit_confint(conf.type = "log-log")``:
``exp(-exp(log(-log F) -/+ z * se / (F * log F)))``. On R's own datasets (``mgus2``, ``pbc``)
and hand-made cases with ties, statsmodels' standard error equals ``std.err`` of
``survival::survfit`` for multi-state data (Aalen-Johansen) to 1e-6, so the interval matches
``survfit(..., conf.type = "log-log")`` (see ``tests/reference/survival_reference.R``). It
does *not* match ``cmprsk::cuminc``, whose Aalen-type variance differs slightly (in the third
significant digit on ``mgus2``). The point estimates agree with both.

Conventions (R gives missing values in some of these cases):

- where the estimate is 0 (no event of the cause yet) the interval is ``[0, 0]``;
- where it is 1, or the standard error is undefined, the interval is missing (NaN). The
  standard error is undefined (0/0 in the formula) from a time at which *everyone still at
  risk* has an event: R's infinitesimal-jackknife error is defined there, statsmodels' is not;
- at a requested day after the last observed time the estimate is carried forward if nobody
  remained at risk of any event (the all-cause curve reached 0), and is missing (NaN) if the
  last subject was censored: the curve is not estimable beyond follow-up.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.duration.survfunc import CumIncidenceRight

from .event_times import (at_risk_on, check_days, counts_at_times, cumulative_counts, read_at_days, step_quantile,
                          time_and_event)

__all__ = ["cumulative_incidence", "cumulative_incidence_quantile", "competing_risk_table",
           "CIF_CI_METHOD", "CIF_COLUMNS"]

#: How the estimate and its interval are made, for footnotes and the ``method`` column.
CIF_CI_METHOD = ("Aalen-Johansen cumulative incidence (statsmodels CumIncidenceRight); 95% CI: "
                 "log-log transform of the delta-method standard error, as R survival::survfit "
                 "multi-state, conf.type = 'log-log'")

#: Output columns of :func:`cumulative_incidence`, in order.
CIF_COLUMNS = ("time_days", "n_at_risk", "n_events", "n_competing", "n_censored",
               "cumulative_incidence_prop", "ci95_lower", "ci95_upper")


def _as_inputs(time_days, event, cause, times):
    time, raw = time_and_event(time_days, event, empty_event_dtype=int)
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer)
                                 or (np.issubdtype(raw.dtype, np.floating)
                                     and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)))):
        raise TypeError("event must hold integers: 0 = censored, 1..k = cause codes")
    code = raw.astype(int)
    if np.any(code < 0):
        raise ValueError("event codes must be 0 (censored) or a positive cause code")
    if isinstance(cause, bool) or not isinstance(cause, (int, np.integer)) or cause < 1:
        raise ValueError(f"cause must be a positive integer cause code, got {cause!r}")
    return time, code, int(cause), None if times is None else check_days(times)


def _outcomes(code: np.ndarray, cause: int) -> dict[str, np.ndarray]:
    """Which subjects had the event of ``cause``, a competing event, or were censored."""
    return {"events": code == cause, "competing": (code > 0) & (code != cause), "censored": code == 0}


def _estimate(time: np.ndarray, code: np.ndarray, cause: int, utime: np.ndarray):
    """Cumulative incidence and standard error of ``cause`` at each distinct time."""
    if code.max(initial=0) < cause:  # no event of this cause: the curve is 0 throughout
        return np.zeros(utime.size), np.zeros(utime.size)
    with warnings.catch_warnings():  # 0/0 where the risk set is exhausted: NaN, documented
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = CumIncidenceRight(time, code)
    if not np.array_equal(np.asarray(fit.times, dtype=float), utime):
        raise RuntimeError("statsmodels CumIncidenceRight returned unexpected time points")
    return np.asarray(fit.cinc[cause - 1], dtype=float), np.asarray(fit.cinc_se[cause - 1], dtype=float)


def _loglog_ci(estimate: np.ndarray, se: np.ndarray, confidence: float = 0.95):
    z = norm.ppf(1 - (1 - confidence) / 2)
    lower = np.full(estimate.shape, np.nan)
    upper = np.full(estimate.shape, np.nan)
    inside = (estimate > 0) & (estimate < 1) & np.isfinite(se)
    f = estimate[inside]
    shift = z * se[inside] / (f * np.log(f))  # negative: log f < 0
    lower[inside] = np.exp(-np.exp(np.log(-np.log(f)) - shift))
    upper[inside] = np.exp(-np.exp(np.log(-np.log(f)) + shift))
    zero = estimate == 0
    lower[zero] = upper[zero] = 0.0
    return lower, upper


def cumulative_incidence(time_days, event, *, cause: int = 1, times=None) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of one cause, with death/other causes competing.

    Parameters
    ----------
    time_days : array-like of float
        Days from the time origin (the infusion, day 0) to the event or censoring, >= 0.
    event : array-like of int
        0 = censored at ``time_days``; 1..k = the cause that ended follow-up then.
    cause : int, default 1
        The cause of interest; every other positive code is a competing event.
    times : array-like of float, optional
        Days at which to read the curve. Without it, one row per distinct observed time.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CIF_COLUMNS`:

        - ``time_days`` (float): the distinct time, or the requested day;
        - ``n_at_risk`` (int): subjects with ``time_days`` >= that day;
        - ``n_events`` (int): events of ``cause`` on exactly that day;
        - ``n_competing`` (int): events of any other cause on exactly that day;
        - ``n_censored`` (int): subjects censored on exactly that day;
        - ``cumulative_incidence_prop`` (float, 0-1): the estimate (the step function's value
          at that day; NaN after the last observed time if the last subject was censored);
        - ``ci95_lower``, ``ci95_upper`` (float, 0-1): 95 % CI, see :data:`CIF_CI_METHOD` and
          the module notes for the cases where it is ``[0, 0]`` or missing.

        With no subjects: no rows, or one row per requested day with zero counts and NaN
        estimates.

    Raises
    ------
    ValueError
        Lengths differ, a time is negative or not finite, a negative code, a bad ``cause``.
    TypeError
        ``event`` holds non-integers.

    Examples
    --------
    Days 2 and 4 each have an event of interest; day 3 a death (competing); day 5 censored:

    >>> out = cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0])
    >>> out[["time_days", "n_at_risk", "n_events", "n_competing", "cumulative_incidence_prop"]]
       time_days  n_at_risk  n_events  n_competing  cumulative_incidence_prop
    0        2.0          4         1            0                       0.25
    1        3.0          3         0            1                       0.25
    2        4.0          2         1            0                       0.50
    3        5.0          1         0            0                       0.50
    >>> cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0], times=[0, 3, 10])["cumulative_incidence_prop"].tolist()
    [0.0, 0.25, nan]
    """
    time, code, cause, days = _as_inputs(time_days, event, cause, times)
    utime, n_at_risk, n = counts_at_times(time, **_outcomes(code, cause))
    estimate, se = _estimate(time, code, cause, utime) if time.size else (np.zeros(0), np.zeros(0))
    lower, upper = _loglog_ci(estimate, se)
    if days is None:
        return pd.DataFrame(dict(zip(CIF_COLUMNS, (utime, n_at_risk, *n.values(), estimate, lower, upper))))
    values, on_day = read_at_days(utime, days, curves=(estimate, lower, upper), counts=n, start=0.0)
    return pd.DataFrame(dict(zip(CIF_COLUMNS, (days, at_risk_on(time, days), *on_day.values(), *values))))


def cumulative_incidence_quantile(curve: pd.DataFrame, p: float = 0.5) -> float:
    """Day by which the cumulative incidence first reaches ``p`` (e.g. the median time).

    Read off the step curve with R ``survival``'s rule for quantiles (``survival:::findq``):
    the first day the curve reaches ``p``; where it stays exactly at ``p`` over an interval,
    the midpoint of that interval (up to the last observed day if it never leaves ``p``).

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`cumulative_incidence` without ``times`` (``time_days``,
        ``cumulative_incidence_prop``).
    p : float, default 0.5
        Level in (0, 1].

    Returns
    -------
    float
        The day; ``inf`` if the curve never reaches ``p`` (not reached), NaN if ``curve`` is
        empty.

    Examples
    --------
    >>> cumulative_incidence_quantile(cumulative_incidence([2, 3, 4], [1, 1, 1]))  # 1/3, 2/3, 1
    3.0
    >>> cumulative_incidence_quantile(cumulative_incidence([2, 3, 4, 5], [1, 0, 0, 0]))
    inf
    """
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if len(curve) == 0:
        return float("nan")
    x = np.r_[0.0, curve["time_days"].to_numpy(float)]
    y = np.r_[0.0, curve["cumulative_incidence_prop"].to_numpy(float)]
    return step_quantile(x, y, p)


def competing_risk_table(time_days, event, days, *, cause: int = 1) -> pd.DataFrame:
    """Numbers at risk and cumulative counts of each outcome at given days.

    Parameters
    ----------
    time_days, event, cause
        As for :func:`cumulative_incidence`.
    days : array-like of float
        Days since the time origin.

    Returns
    -------
    pandas.DataFrame
        One row per day: ``day``; ``n_at_risk`` (``time_days >= day``);
        ``cumulative_events`` (of ``cause``), ``cumulative_competing`` (other causes),
        ``cumulative_censored``, each counting subjects with ``time_days <= day``.

    Examples
    --------
    >>> competing_risk_table([2, 3, 4, 5], [1, 2, 1, 0], [0, 3, 5])
       day  n_at_risk  cumulative_events  cumulative_competing  cumulative_censored
    0  0.0          4                  0                     0                    0
    1  3.0          3                  1                     1                    0
    2  5.0          1                  2                     1                    1
    """
    time, code, cause, day = _as_inputs(time_days, event, cause, days)
    return cumulative_counts(time, day, **_outcomes(code, cause))
