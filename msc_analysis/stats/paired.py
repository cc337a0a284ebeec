"""Paired comparisons of a value with its baseline at each visit: Wilcoxon signed-rank test
(scipy.stats.wilcoxon) and the geometric-mean ratio with a t interval (scipy.stats.t).

Both take a long frame with one row per subject and visit, like the one of
:func:`msc_analysis.derive.visits.longitudinal`, and use the subjects measured at the visit
(``status`` :data:`MEASURED`) who have a baseline. This module reads frames only: it imports
nothing from the derivations above it, which import the status and the visit grouping from here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["MEASURED", "MIN_NONZERO_PAIRS", "TOO_FEW_PAIRS", "WILCOXON_METHOD", "GMR_METHOD", "visit_groups", "signed_rank_by_visit",
           "geometric_mean_ratio_by_visit"]

#: Status of a subject with a value at a visit (the first of ``derive.visits.VISIT_STATUSES``).
MEASURED = "measured"

#: Fewest non-zero changes for which a Wilcoxon p-value is shown. With n non-zero changes the
#: smallest two-sided exact p is 2 / 2**n: 0.0625 at n = 5, so below 6 pairs the test cannot
#: reach 0.05 whatever the data, and a p of 1.000 at n = 1 would read as evidence of no change.
MIN_NONZERO_PAIRS = 6
#: ``test_method`` of a visit with too few non-zero changes (no p-value); tables say "too few pairs".
TOO_FEW_PAIRS = "not done: too few pairs"

WILCOXON_METHOD = (
    "Wilcoxon signed-rank test of the change (scipy.stats.wilcoxon, two-sided), done when at least "
    f"{MIN_NONZERO_PAIRS} subjects have a non-zero change: zero changes "
    "dropped (zero_method='wilcox'); exact null distribution when the non-zero changes are at "
    "most 50 and untied (no two absolute changes equal), exact permutation distribution over the "
    "sign patterns when tied and at most 13, otherwise the "
    "normal approximation with tie correction and no continuity correction")
GMR_METHOD = ("geometric mean of value/baseline with a 95% t interval on the log ratios "
              "(scipy.stats.t); pairs with a value or baseline of 0 are left out and counted")


def visit_groups(long: pd.DataFrame):
    """``(visit, target_day, rows)`` of each visit of a long frame, in order of appearance.

    Examples
    --------
    >>> long = pd.DataFrame({"visit": ["Baseline", "Day 7", "Day 7"], "target_day": [0, 7, 7]})
    >>> [(visit, day, len(rows)) for visit, day, rows in visit_groups(long)]
    [('Baseline', 0, 1), ('Day 7', 7, 2)]
    """
    for (visit, day), g in long.groupby(["visit", "target_day"], sort=False, observed=True):
        yield visit, day, g


def _after_day0(long: pd.DataFrame):
    return ((visit, day, g) for visit, day, g in visit_groups(long) if day != 0)


def _signed_rank(d: np.ndarray, n_pairs: int) -> tuple[float, float, str]:
    if n_pairs == 0:
        return np.nan, np.nan, "not done: no subject with a baseline and a value"
    if len(d) == 0:
        return np.nan, np.nan, "not done: every change is 0"
    if len(d) < MIN_NONZERO_PAIRS:
        return np.nan, np.nan, f"{TOO_FEW_PAIRS} ({len(d)} non-zero change{'s' if len(d) != 1 else ''}; " \
                               f"at least {MIN_NONZERO_PAIRS} needed)"
    tied = len(np.unique(np.abs(d))) < len(d)
    if not tied and len(d) <= 50:
        method, how = "exact", "exact"
    elif tied and len(d) <= 13:
        method, how = stats.PermutationMethod(), "exact permutation (ties)"
    else:
        method, how = "asymptotic", "normal approximation"
    r = stats.wilcoxon(d, zero_method="wilcox", method=method)
    return float(r.statistic), float(r.pvalue), how


def signed_rank_by_visit(long: pd.DataFrame, change_column: str = "change") -> pd.DataFrame:
    """Wilcoxon signed-rank test of the change from baseline at each post-baseline visit.

    Parameters
    ----------
    long : DataFrame
        ``visit``, ``target_day``, ``status``, ``has_baseline`` and ``change_column``.

    Returns
    -------
    DataFrame
        One row per visit after day 0: ``visit``, ``target_day``, ``n_no_baseline`` (subjects
        without a baseline), ``n_pairs`` (measured with a baseline), ``n_zero`` (changes of exactly 0, dropped), ``n_nonzero``,
        ``wilcoxon_statistic`` (the smaller of the positive and negative rank sums),
        ``p_value`` (two-sided; missing with fewer than :data:`MIN_NONZERO_PAIRS` non-zero
        changes), ``test_method`` (which null distribution was used, or why the test was not
        done; see :data:`WILCOXON_METHOD`). Changes are rounded to 10 decimals first so that
        values equal on paper are tied.

    Examples
    --------
    >>> long = pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured",
    ...                      "has_baseline": True, "change": [-3.0, -1.0, -2.0, -4.0, -6.0, -5.0, 0.0]})
    >>> signed_rank_by_visit(long)[["n_pairs", "n_nonzero", "wilcoxon_statistic", "p_value"]]
       n_pairs  n_nonzero  wilcoxon_statistic  p_value
    0        7          6                 0.0  0.03125
    >>> signed_rank_by_visit(long.iloc[4:])["test_method"].item()
    'not done: too few pairs (2 non-zero changes; at least 6 needed)'
    """
    rows = []
    for visit, day, g in _after_day0(long):
        d = g.loc[(g["status"] == MEASURED) & g["has_baseline"], change_column]
        d = np.round(d.dropna().to_numpy(float), 10)
        nonzero = d[d != 0]
        statistic, p, how = _signed_rank(nonzero, len(d))
        rows.append({"visit": visit, "target_day": int(day), "n_no_baseline": int((~g["has_baseline"]).sum()),
                     "n_pairs": len(d), "n_zero": int((d == 0).sum()), "n_nonzero": len(nonzero),
                     "wilcoxon_statistic": statistic, "p_value": p, "test_method": how})
    return pd.DataFrame(rows, columns=["visit", "target_day", "n_no_baseline", "n_pairs", "n_zero", "n_nonzero",
                                       "wilcoxon_statistic", "p_value", "test_method"])


def geometric_mean_ratio_by_visit(long: pd.DataFrame, value_column: str = "value",
                                  baseline_column: str = "baseline_value") -> pd.DataFrame:
    """Geometric mean of value / baseline at each post-baseline visit, with a 95 % t interval.

    Parameters
    ----------
    long : DataFrame
        ``visit``, ``target_day``, ``status``, ``has_baseline``, ``value_column`` and
        ``baseline_column`` (positive numbers; zeros cannot be logged).

    Returns
    -------
    DataFrame
        One row per visit after day 0: ``visit``, ``target_day``, ``n_no_baseline`` (subjects
        without a baseline), ``n_pairs`` (measured with a baseline), ``n_nonpositive`` (pairs left out because the value or baseline is 0),
        ``n_ratio`` (pairs used), ``geometric_mean_ratio``, ``ci95_lower``, ``ci95_upper``
        (``exp(mean(log r) -/+ t(0.975, n-1) * sd(log r) / sqrt(n))``; missing when fewer
        than 2 pairs). See :data:`GMR_METHOD`.

    Examples
    --------
    >>> long = pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured",
    ...     "has_baseline": True, "value": [2.0, 8.0], "baseline_value": [4.0, 4.0]})
    >>> r = geometric_mean_ratio_by_visit(long).iloc[0]
    >>> float(r["geometric_mean_ratio"]), int(r["n_ratio"])
    (1.0, 2)
    """
    rows = []
    for visit, day, g in _after_day0(long):
        p = g[(g["status"] == MEASURED) & g["has_baseline"]]
        value = p[value_column].to_numpy(float)
        base = p[baseline_column].to_numpy(float)
        ok = (value > 0) & (base > 0)
        logs = np.log(value[ok] / base[ok])
        n = len(logs)
        est = float(np.exp(logs.mean())) if n else np.nan
        lower = upper = np.nan
        if n >= 2:
            half = stats.t.ppf(0.975, n - 1) * logs.std(ddof=1) / np.sqrt(n)
            lower, upper = float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))
        rows.append({"visit": visit, "target_day": int(day), "n_no_baseline": int((~g["has_baseline"]).sum()),
                     "n_pairs": len(p), "n_nonpositive": int((~ok).sum()), "n_ratio": n,
                     "geometric_mean_ratio": est, "ci95_lower": lower, "ci95_upper": upper})
    return pd.DataFrame(rows, columns=["visit", "target_day", "n_no_baseline", "n_pairs", "n_nonpositive", "n_ratio",
                                       "geometric_mean_ratio", "ci95_lower", "ci95_upper"])
