"""Kaplan-Meier survival, its median, the risk table and the log-rank test.

Libraries: the Kaplan-Meier curve and its pointwise 95 % confidence interval come from
:func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData`
(``sf.confidence_interval(method="log-log")``: Greenwood variance, log-log transform); the
log-rank test from :func:`statsmodels.duration.survfunc.survdiff`. Ties are exact: subjects
with the same day form one step, and a subject censored on the day of an event is still at
risk for that event (R ``survival`` convention). Every number here is checked against R
``survival::survfit(..., conf.type = "log-log")`` and ``survdiff`` to 1e-6
(``tests/reference/survival_reference.R``).

Conventions (the same as R's):

- where the estimate is 1 (before any event) the interval is ``[1, 1]``; where it is 0 the
  interval is missing (the log-log transform is undefined);
- at a requested day after the last observed time the curve is carried forward only if it had
  reached 0; otherwise it is missing (not estimable beyond follow-up);
- **median**: the first day the curve drops to 0.5 or below; where it stays exactly at 0.5
  over an interval, the midpoint of that interval (up to the last follow-up day if it never
  leaves 0.5). Its 95 % CI is read off the pointwise log-log CI bands the same way
  (R ``quantile.survfit``). **Not reached is ``inf``** (formatted "NR"): the median, or a
  confidence limit, lies beyond follow-up. **NaN means not estimable**: no subjects; or a
  confidence limit when the band is undefined at every time the curve is below 1, i.e. the
  curve falls from 1 straight to 0 (everyone still at risk had the event at the first event
  time, e.g. every subject dead on day 0): there is then no band to read, not a band that
  fails to reach 0.5. R reports ``NA`` for both; for everyone dead on day 0 R gives a median
  of 0 (a real 0, kept) with both limits ``NA``.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from .event_times import (at_risk_on, check_days, counts_at_times, cumulative_counts, read_at_days, step_quantile,
                          time_and_event)

__all__ = ["kaplan_meier", "median_survival", "risk_table", "logrank_test", "KM_CI_METHOD",
           "MEDIAN_CI_METHOD", "LOGRANK_METHOD", "KM_COLUMNS"]

#: How survival and its interval are made, for footnotes and the ``method`` column.
KM_CI_METHOD = ("Kaplan-Meier (scipy.stats.ecdf); 95% CI: Greenwood variance, log-log transform "
                "(as R survival::survfit, conf.type = 'log-log')")
#: How the median and its interval are made.
MEDIAN_CI_METHOD = ("median of the Kaplan-Meier curve; 95% CI where the log-log CI bands cross 0.5 "
                    "(R survival quantile rule)")
#: How arms are compared.
LOGRANK_METHOD = "log-rank test (statsmodels survdiff), chi-square with (arms - 1) df"

#: Output columns of :func:`kaplan_meier`, in order.
KM_COLUMNS = ("time_days", "n_at_risk", "n_events", "n_censored", "survival_prop", "ci95_lower",
              "ci95_upper")


def _inputs(time_days, event):
    time, raw = time_and_event(time_days, event)
    if raw.dtype != bool:
        values = pd.unique(raw)
        if not set(values.tolist()) <= {0, 1}:
            raise ValueError(f"event must be 1/True (event) or 0/False (censored), got {sorted(map(str, values))}")
    return time, raw.astype(bool)


def _curve(time: np.ndarray, died: np.ndarray):
    """Distinct times, number at risk, counts (``events``, ``censored``), survival and
    log-log CI at each (scipy)."""
    utime, n_at_risk, n = counts_at_times(time, events=died, censored=~died)
    if time.size == 0:
        empty = np.zeros(0)
        return utime, n_at_risk, n, empty, empty, empty
    fit = stats.ecdf(stats.CensoredData.right_censored(time, ~died)).sf
    with warnings.catch_warnings():  # undefined where S is 0 or 1: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = fit.confidence_interval(confidence_level=0.95, method="log-log")
        surv = fit.evaluate(utime)
        lower, upper = ci.low.evaluate(utime), ci.high.evaluate(utime)
    one = surv == 1
    lower[one] = upper[one] = 1.0
    zero = surv == 0
    lower[zero] = upper[zero] = np.nan
    return utime, n_at_risk, n, surv, lower, upper


def kaplan_meier(time_days, event, *, times=None) -> pd.DataFrame:
    """Kaplan-Meier survival with its 95 % log-log confidence interval.

    Parameters
    ----------
    time_days : array-like of float
        Days from the infusion (day 0) to the event or censoring, >= 0.
    event : array-like of bool or 0/1
        True/1 = the event (death) at ``time_days``; False/0 = censored then.
    times : array-like of float, optional
        Days at which to read the curve; without it, one row per distinct observed time.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KM_COLUMNS`: ``time_days`` (float, the distinct time or requested
        day); ``n_at_risk`` (int, subjects with ``time_days`` >= that day); ``n_events``,
        ``n_censored`` (int, on exactly that day); ``survival_prop`` (0-1, the step
        function's value at that day); ``ci95_lower``, ``ci95_upper`` (0-1). See the module
        notes for ``[1, 1]`` and missing intervals and days beyond follow-up. With no
        subjects: no rows, or NaN estimates at the requested days.

    Examples
    --------
    Deaths on days 2 and 4 (two), censored on days 2 and 7, of 5 subjects:

    >>> km = kaplan_meier([2, 2, 4, 4, 7], [1, 0, 1, 1, 0])
    >>> km[["time_days", "n_at_risk", "n_events", "n_censored", "survival_prop"]]
       time_days  n_at_risk  n_events  n_censored  survival_prop
    0        2.0          5         1           1       0.800000
    1        4.0          3         2           0       0.266667
    2        7.0          1         0           1       0.266667
    >>> kaplan_meier([2, 2, 4, 4, 7], [1, 0, 1, 1, 0], times=[0, 3, 30])["survival_prop"].round(4).tolist()
    [1.0, 0.8, nan]
    """
    time, died = _inputs(time_days, event)
    utime, n_at_risk, n, surv, lower, upper = _curve(time, died)
    if times is None:
        return pd.DataFrame(dict(zip(KM_COLUMNS, (utime, n_at_risk, *n.values(), surv, lower, upper))))
    days = check_days(times)
    values, on_day = read_at_days(utime, days, curves=(surv, lower, upper), counts=n, start=1.0)
    return pd.DataFrame(dict(zip(KM_COLUMNS, (days, at_risk_on(time, days), *on_day.values(), *values))))


def median_survival(time_days, event) -> pd.DataFrame:
    """Median survival with its 95 % CI (R ``survival`` rule; ``inf`` = not reached).

    Parameters
    ----------
    time_days, event
        As for :func:`kaplan_meier`.

    Returns
    -------
    pandas.DataFrame
        One row: ``n`` (int), ``n_events`` (int), ``median_days``, ``ci95_lower``,
        ``ci95_upper`` (float days; ``inf`` where not reached within follow-up; NaN when
        ``n`` is 0, and for the limits when the curve falls from 1 straight to 0).

    Examples
    --------
    >>> median_survival([1, 2, 3, 4], [1, 1, 1, 1])[["n", "median_days"]].to_dict("records")
    [{'n': 4, 'median_days': 2.5}]
    >>> median_survival([5, 8], [0, 0])["median_days"].item()
    inf

    Everyone dead on day 0: the median is 0 and its limits are not estimable (R: 0, NA, NA):

    >>> median_survival([0, 0, 0], [1, 1, 1])[["median_days", "ci95_lower", "ci95_upper"]].to_dict("records")
    [{'median_days': 0.0, 'ci95_lower': nan, 'ci95_upper': nan}]
    """
    time, died = _inputs(time_days, event)
    row = {"n": int(time.size), "n_events": int(died.sum())}
    if time.size == 0:
        return pd.DataFrame([row | {"median_days": np.nan, "ci95_lower": np.nan, "ci95_upper": np.nan}])
    utime, _, _, surv, lower, upper = _curve(time, died)
    x = np.r_[0.0, utime]
    row["median_days"] = step_quantile(x, np.r_[0.0, 1 - surv], 0.5)
    for column, band in (("ci95_lower", lower), ("ci95_upper", upper)):
        limit = step_quantile(x, np.r_[0.0, 1 - band], 0.5)
        below = surv < 1
        undefined = bool(below.any() and np.all(np.isnan(band[below])))  # from 1 straight to 0
        row[column] = np.nan if np.isinf(limit) and undefined else limit
    return pd.DataFrame([row])


def risk_table(time_days, event, days) -> pd.DataFrame:
    """Numbers at risk, cumulative events and cumulative censored at given days.

    Parameters
    ----------
    time_days, event
        As for :func:`kaplan_meier`.
    days : array-like of float
        Days since the infusion (e.g. 0, 7, 14, 21, 28, 30, 45, 60).

    Returns
    -------
    pandas.DataFrame
        One row per day: ``day`` (float); ``n_at_risk`` (subjects still followed at the start
        of that day, ``time_days >= day``); ``cumulative_events`` (events on or before that
        day); ``cumulative_censored`` (censored on or before that day). At every day
        ``n_at_risk + cumulative_events + cumulative_censored`` is the number of subjects,
        except that subjects leaving *on* that day are both at risk and counted.

    Examples
    --------
    >>> risk_table([2, 2, 4, 4, 7], [1, 0, 1, 1, 0], [0, 2, 5])
       day  n_at_risk  cumulative_events  cumulative_censored
    0  0.0          5                  0                    0
    1  2.0          5                  1                    1
    2  5.0          1                  3                    1
    """
    time, died = _inputs(time_days, event)
    return cumulative_counts(time, days, events=died, censored=~died)


def logrank_test(time_days, event, group) -> pd.DataFrame:
    """Log-rank test of equal survival across groups (statsmodels ``survdiff``).

    Groups without subjects (e.g. an unused categorical level) are ignored; with fewer than
    two non-empty groups there is no test and the statistic and p-value are NaN.

    Parameters
    ----------
    time_days, event
        As for :func:`kaplan_meier`.
    group : array-like
        Group (arm) of each subject.

    Returns
    -------
    pandas.DataFrame
        One row: ``n_groups`` (int, non-empty groups), ``n`` (int), ``n_events`` (int),
        ``chisq`` (float), ``df`` (int, ``n_groups - 1``), ``p_value`` (float).

    Examples
    --------
    >>> logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["A", "A", "A", "A"])["n_groups"].item()
    1
    """
    time, died = _inputs(time_days, event)
    labels = pd.Series(np.asarray(group, dtype=object).ravel())
    if labels.size != time.size:
        raise ValueError("group must have one value per subject")
    if labels.isna().any():
        raise ValueError("group has missing values")
    codes, uniques = pd.factorize(labels, sort=True)
    row = {"n_groups": len(uniques), "n": int(time.size), "n_events": int(died.sum()),
           "chisq": np.nan, "df": max(len(uniques) - 1, 0), "p_value": np.nan}
    if len(uniques) >= 2:
        chisq, p_value = survdiff(time, died.astype(float), codes)
        row["chisq"], row["p_value"] = float(chisq), float(p_value)
    return pd.DataFrame([row])
