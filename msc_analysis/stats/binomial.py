"""Proportions with exact (Clopper-Pearson) confidence intervals, via scipy."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

__all__ = ["exact_proportion", "EXACT_CI_METHOD"]

#: How the interval is made, for footnotes and the ``method`` column of results.
EXACT_CI_METHOD = "exact (Clopper-Pearson) 95% CI"


def exact_proportion(successes, n, confidence: float = 0.95) -> pd.DataFrame:
    """Proportions ``successes / n`` with exact Clopper-Pearson confidence intervals.

    Parameters
    ----------
    successes, n : int or array-like of int
        Subjects with the outcome and the denominator, pairwise (0 <= successes <= n).
        Where ``n == 0`` the estimate and interval are missing.
    confidence : float
        Confidence level (default 0.95).

    Returns
    -------
    DataFrame
        One row per pair: ``successes``, ``n`` (int), ``estimate_prop``, ``ci95_lower``,
        ``ci95_upper`` (proportions 0-1).

    Examples
    --------
    >>> exact_proportion(3, 10).round(4).to_dict("records")
    [{'successes': 3, 'n': 10, 'estimate_prop': 0.3, 'ci95_lower': 0.0667, 'ci95_upper': 0.6525}]
    >>> exact_proportion([0], [0])["estimate_prop"].isna().all()
    np.True_
    """
    k = np.atleast_1d(np.asarray(successes, dtype=int))
    m = np.atleast_1d(np.asarray(n, dtype=int))
    if k.shape != m.shape:
        raise ValueError("successes and n must have the same length")
    if np.any(m < 0) or np.any(k < 0) or np.any(k > m):
        raise ValueError(f"need 0 <= successes <= n, got successes={k.tolist()}, n={m.tolist()}")
    rows = []
    for ki, mi in zip(k, m):
        if mi == 0:
            rows.append((np.nan, np.nan, np.nan))
            continue
        ci = binomtest(int(ki), int(mi)).proportion_ci(confidence_level=confidence, method="exact")
        rows.append((ki / mi, ci.low, ci.high))
    est = np.array(rows, dtype=float).reshape(-1, 3)
    return pd.DataFrame({"successes": k, "n": m, "estimate_prop": est[:, 0],
                         "ci95_lower": est[:, 1], "ci95_upper": est[:, 2]})
