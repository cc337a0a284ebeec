"""Cumulative incidence with competing risks (Aalen-Johansen), its interval and its quantiles.

Estimate: :class:`statsmodels.duration.survfunc.CumIncidenceRight` gives the Aalen-Johansen
estimate of the cumulative incidence function (CIF) of each cause,
``F_k(t) = sum over event times t_j <= t of S(t_j-) d_kj / n_j`` (``S`` the all-cause
Kaplan-Meier curve, ``n_j`` the number at risk, ``d_kj`` the events of cause ``k`` at ``t_j``).
Ties are handled exactly: all subjects with the same time form one step, events before
censorings (no jitter).

Standard error: the infinitesimal jackknife (IJ) of R ``survival::survfit`` for multi-state data
(its ``std.err``; Therneau, "The survival package: multi-state" and "validation" vignettes). The
influence of subject ``i`` on ``F_k`` is built up over the event times; with ``U0_i`` its
influence on ``S`` (both 0 before the first time), at each time ``t_j``, for ``i`` at risk
(``time_i >= t_j``), ``e_ki`` = 1 if ``i`` has cause ``k`` at ``t_j`` and ``e_i`` = 1 if ``i`` has
any event then (else 0; a subject not at risk has the bracketed terms 0):

``U_ki <- U_ki + U0_i d_kj / n_j + S(t_j-) (e_ki - d_kj / n_j) / n_j``;
``U0_i <- U0_i (1 - d_j / n_j) - S(t_j-) (e_i - d_j / n_j) / n_j``;

and ``se F_k(t_j) = sqrt(sum_i U_ki^2)``. It is defined at every time, also from a time at which
everyone still at risk has an event (``d_j = n_j``; the all-cause risk set is exhausted), where
the delta-method error of statsmodels (Marubini & Valsecchi 1995, Stata ``stcompet``) is 0/0.
Elsewhere the two agree to 1e-6 on every reference case (tested), and equal R's ``std.err``. It is not the
Aalen-type variance of ``cmprsk::cuminc`` (different in the third significant digit on
``mgus2``); the point estimates agree with both.

Confidence interval: log-log, with the formula of R ``survival:::survfit_confint(conf.type =
"log-log")``: ``exp(-exp(log(-log F) -/+ z * se / (F * log F)))``, ``z`` the 0.975 normal
quantile. It matches ``survfit(Surv(time, factor(status)) ~ 1, conf.type = "log-log")`` to
1e-6 at every time on R's datasets (``mgus2``, ``pbc``), hand-made cases with ties and an
exhausted risk set, and the demo cuts (``tests/reference/survival_reference.R``,
``tests/reference/cif_exhausted_reference.R``).

Conventions (R gives missing values in some of these cases):

- where the estimate is 0 (no event of the cause yet) the interval is ``[0, 0]`` (R: NA);
- where the estimate is 1 (the all-cause curve reached 0 with events of this cause only) the
  interval is missing (NaN), as in R: ``log(-log F)`` is undefined there;
- at a requested day after the last observed time the estimate is carried forward if the last
  time at risk ended with events and no censoring (the all-cause curve reached 0), and is
  missing (NaN) if a subject was censored at the last time: the curve is not estimable beyond
  follow-up.

Quantiles (:func:`cumulative_incidence_quantiles`): R's rule for a step curve
(``survival:::findq``, used by ``quantile.survfit``): the first day the curve reaches ``p``;
where it stays exactly at ``p`` over an interval, the midpoint of that interval (up to the last
observed day if it never leaves ``p``). The 95 % interval reads the pointwise log-log band the
same way: the lower limit is the first day the *upper* band reaches ``p``, the upper limit the
first day the *lower* band reaches ``p``. R's ``quantile()`` refuses multi-state fits; the
reference hands ``1 - F_k`` and its band to ``quantile.survfit`` as a single-state curve.
Where R says NA, the kit says ``inf`` ("not reached": the curve or band never reaches ``p``
within follow-up), except for a limit whose band is missing at every time the estimate is
above 0 (the curve goes from 0 straight to 1): NaN, not estimable.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import norm
from statsmodels.duration.survfunc import CumIncidenceRight

from .event_times import (at_risk_on, check_days, counts_at_times, cumulative_counts, read_at_days, step_quantile,
                          time_and_event)

__all__ = ["cumulative_incidence", "cumulative_incidence_quantile", "cumulative_incidence_quantiles",
           "competing_risk_table", "CIF_CI_METHOD", "CIF_QUANTILE_CI_METHOD", "CIF_COLUMNS"]

#: How the estimate and its interval are made, for footnotes and the ``method`` column.
CIF_CI_METHOD = ("Aalen-Johansen cumulative incidence; 95% CI: log-log transform of the "
                 "infinitesimal-jackknife standard error, as R survival::survfit multi-state, "
                 "conf.type = 'log-log'")

#: How a quantile (the median) of the cumulative incidence and its interval are read.
CIF_QUANTILE_CI_METHOD = ("first day the cumulative incidence reaches the level (midpoint where it stays "
                          "exactly at it); 95% CI: the days the upper and the lower limits of its pointwise "
                          "95% log-log interval reach the level (R survival quantile rule); "
                          "not reached if they never do within follow-up")

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
    """Cumulative incidence (statsmodels) and its IJ standard error of ``cause`` at each distinct time."""
    if code.max(initial=0) < cause:  # no event of this cause: the curve is 0 throughout
        return np.zeros(utime.size), np.zeros(utime.size)
    with warnings.catch_warnings():  # its delta-method SE is 0/0 where the risk set is exhausted: unused
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = CumIncidenceRight(time, code)
    if not np.array_equal(np.asarray(fit.times, dtype=float), utime):
        raise RuntimeError("statsmodels CumIncidenceRight returned unexpected time points")
    return np.asarray(fit.cinc[cause - 1], dtype=float), _ij_standard_error(time, code, cause, utime)


def _ij_standard_error(time: np.ndarray, code: np.ndarray, cause: int, utime: np.ndarray) -> np.ndarray:
    """Infinitesimal-jackknife standard error of the Aalen-Johansen ``F_cause`` at each of ``utime``
    (R ``survfit`` multi-state ``std.err``; the recursion is in the module notes)."""
    u_event_free = np.zeros(time.size)  # influence of each subject on S (all-cause Kaplan-Meier)
    u_cause = np.zeros(time.size)  # influence of each subject on F_cause
    surv = 1.0  # S(t_j-)
    se = np.zeros(utime.size)
    for j, t in enumerate(utime):
        at_risk = time >= t
        n_risk = at_risk.sum()
        event = (time == t) & (code > 0)
        of_cause = event & (code == cause)
        hazard_cause, hazard_all = of_cause.sum() / n_risk, event.sum() / n_risk
        d_cause = np.where(at_risk, of_cause - hazard_cause, 0.0) / n_risk
        d_all = np.where(at_risk, event - hazard_all, 0.0) / n_risk
        u_cause = u_cause + u_event_free * hazard_cause + surv * d_cause
        u_event_free = u_event_free * (1 - hazard_all) - surv * d_all
        surv *= 1 - hazard_all
        se[j] = np.sqrt(np.sum(u_cause ** 2))
    return se


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

    See Also
    --------
    cumulative_incidence_quantiles : the same day(s) with their 95 % intervals.

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


def cumulative_incidence_quantiles(curve: pd.DataFrame, probs=(0.5,)) -> pd.DataFrame:
    """Days by which the cumulative incidence reaches each level, with 95 % intervals.

    The rule of R ``survival``'s ``quantile.survfit`` (``survival:::findq``) applied to the
    cumulative incidence and its pointwise log-log band (module notes,
    :data:`CIF_QUANTILE_CI_METHOD`): the lower limit is the day the upper band reaches ``p``,
    the upper limit the day the lower band reaches ``p``. Matches R to 1e-6 on
    ``tests/reference/cif_quantiles.csv``.

    Parameters
    ----------
    curve : pandas.DataFrame
        Output of :func:`cumulative_incidence` without ``times`` (``time_days``,
        ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper``).
    probs : sequence of float, default (0.5,)
        Levels in (0, 1]; 0.5 gives the median.

    Returns
    -------
    pandas.DataFrame
        One row per level: ``p`` (float); ``quantile_days``, ``ci95_lower``, ``ci95_upper``
        (float, days since the time origin). ``inf`` where the curve (or, for a limit, its
        band) never reaches ``p`` within follow-up ("not reached"); NaN when ``curve`` is
        empty, and for a limit whose band is missing wherever the estimate is above 0 (the
        curve goes from 0 straight to 1: R gives NA, not estimable).

    Raises
    ------
    ValueError
        A level outside (0, 1].

    Examples
    --------
    F = 1/4, 1/2, 3/4, 1 on days 2 to 5: the median is the midpoint of days 3 and 4; the upper
    band reaches 1/2 on day 2; the lower band never does (R: NA), "not reached":

    >>> cumulative_incidence_quantiles(cumulative_incidence([2, 3, 4, 5], [1, 1, 1, 1]))
         p  quantile_days  ci95_lower  ci95_upper
    0  0.5            3.5         2.0         inf
    """
    probs = np.asarray(probs, dtype=float).ravel()
    if np.any(~(probs > 0) | (probs > 1)):
        raise ValueError(f"probs must be in (0, 1], got {probs.tolist()}")
    out = pd.DataFrame({"p": probs, "quantile_days": np.nan, "ci95_lower": np.nan, "ci95_upper": np.nan})
    if len(curve) == 0:
        return out
    x = np.r_[0.0, curve["time_days"].to_numpy(float)]
    estimate = curve["cumulative_incidence_prop"].to_numpy(float)
    above = estimate > 0
    for column, band_column in (("quantile_days", "cumulative_incidence_prop"),
                                ("ci95_lower", "ci95_upper"), ("ci95_upper", "ci95_lower")):
        band = curve[band_column].to_numpy(float)
        undefined = bool(above.any() and np.all(np.isnan(band[above])))  # from 0 straight to 1
        for i, p in enumerate(probs):
            day = step_quantile(x, np.r_[0.0, band], p)
            out.loc[i, column] = np.nan if np.isinf(day) and undefined else day
    return out


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
