"""Worst-rank composite of a longitudinal value at each visit: an analysis that does not lose the deaths.

The observed median of a value at a visit describes the subjects still alive, in hospital and
measured: as the sickest die and the healthiest go home, it follows whoever is left. The
worst-rank composite keeps every subject whose visit window has **closed by the calendar**
(``evaluable_by_calendar``: infused at least ``window_end_day`` days before the cutoff, whatever
happened to the subject) and ranks them on one scale, worst to best:

1. **died** by the window's last day: worse than any value;
2. **a value measured at the visit** (or its change from baseline), ordered by the value;
3. **discharged alive** by the window's last day without a value at the visit: better than any
   value (discharge alive is the recovery the value is meant to show; values are measured only
   while the patient is in hospital, so a last in-hospital value would misdescribe them).

Left out and counted: subjects alive and **lost to follow-up** before the window's end, and
subjects alive in hospital with **no value** at the visit (outcome unknown); with
``require_baseline`` (a change from baseline), subjects without a baseline are not in the
population.

Quantiles (median, Q1, Q3) are taken on the value scale with the states at its ends: for a value
where higher is worse, "died" sits above every value and "discharged" below every value; where
lower is worse, the other way round. The quantile method is R type 7 (linear interpolation,
pandas default): with n ranked subjects sorted on that scale, h = (n - 1) q, j = floor(h); the
quantile is item j when h is whole; between two values it is the linear interpolation; between
a value and a state (or two equal states) it is the state (a value beyond every value, as with an
infinite one); between "died" and "discharged" (no value ranked between) it is "died", the
worse. A quantile that is a state has a missing number and its state in ``*_state``.

This module reads frames only (statuses as strings), like :mod:`msc_analysis.stats.paired`.
References: Lachin JM, Control Clin Trials 1999;20:408-22 (worst-rank scores for informatively
missing data, death worst); Felker GM, Maisel AS, Circ Heart Fail 2010;3:643-6 (global rank).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .binomial import exact_proportion
from .estimability import NO_SUBJECT_INFUSED, no_subject_evaluable
from .paired import MEASURED

__all__ = ["WORST_RANK_STATES", "WORST_RANK_METHOD", "worst_rank_quantile", "worst_rank_by_visit"]

#: States of a ranked subject, worst first on the goodness scale: death, a value, discharge alive.
WORST_RANK_STATES = ("died", "value", "discharged")
WORST_RANK_METHOD = (
    "worst-rank composite among subjects whose visit window had closed by the data cutoff: death by the "
    "window's last day ranked worst, discharge alive without a value ranked best, measured values in "
    "between; lost to follow-up and missing values left out and counted; quantiles R type 7 on that "
    "scale, a quantile between a value and a state is the state")
_DIED, _DISCHARGED, _LOST, _NO_VALUE = "died", "discharged", "lost to follow-up", "no value"


def worst_rank_quantile(values, states, q: float, *, higher_is_worse: bool) -> tuple[float, str]:
    """Quantile ``q`` of a worst-rank composite: ``(number, state)``.

    Parameters
    ----------
    values : array-like of float
        The value of each ranked subject (ignored unless its state is "value").
    states : array-like of str
        :data:`WORST_RANK_STATES` of each ranked subject.
    q : float
        Quantile, 0-1 (0.5: median), on the value scale (0.25 is Q1, the lower values).
    higher_is_worse : bool
        Direction of the value: True puts "died" above every value, False below.

    Returns
    -------
    tuple
        ``(number, "value")`` or ``(nan, "died")`` / ``(nan, "discharged")``; ``(nan, "")``
        when nobody is ranked.

    Examples
    --------
    >>> worst_rank_quantile([np.nan, 5.0, 7.0, np.nan], ["died", "value", "value", "discharged"], 0.5,
    ...                     higher_is_worse=True)
    (6.0, 'value')
    >>> worst_rank_quantile([np.nan, np.nan, 5.0, 7.0], ["died", "died", "value", "value"], 0.5,
    ...                     higher_is_worse=True)
    (nan, 'died')
    """
    return _quantiles(values, states, [q], higher_is_worse)[0]


def _quantiles(values, states, qs, higher_is_worse: bool) -> list[tuple[float, str]]:
    """:func:`worst_rank_quantile` at each of ``qs``, ranking the subjects once."""
    x = np.asarray(values, dtype=float)
    s = np.asarray(states, dtype=object)
    if len(s) == 0:
        return [(math.nan, "")] * len(qs)
    unknown = set(s) - set(WORST_RANK_STATES)
    if unknown:
        raise ValueError(f"states must be {WORST_RANK_STATES}, got {sorted(unknown)}")
    top, bottom = (_DIED, _DISCHARGED) if higher_is_worse else (_DISCHARGED, _DIED)
    key = np.where(s == top, np.inf, np.where(s == bottom, -np.inf, x))
    order = np.argsort(key, kind="stable")
    key, s = key[order], s[order]
    return [_quantile(key, s, q) for q in qs]


def _quantile(key: np.ndarray, s: np.ndarray, q: float) -> tuple[float, str]:
    """Quantile ``q`` of the ranked keys ``key`` (sorted) with their states ``s``."""
    h = (len(key) - 1) * q
    j = int(math.floor(h))
    g = h - j
    if g == 0 or j + 1 >= len(key):
        return (float(key[j]), "value") if s[j] == "value" else (math.nan, str(s[j]))
    a, b = s[j], s[j + 1]
    if a == "value" and b == "value":
        return (float(key[j] + g * (key[j + 1] - key[j])), "value")
    if a == b:
        return (math.nan, str(a))
    if "value" in (a, b):
        return (math.nan, str(b if a == "value" else a))
    return (math.nan, _DIED)


def worst_rank_by_visit(long: pd.DataFrame, score_column: str, *, higher_is_worse: bool,
                        require_baseline: bool = False, stem: str = "worst_rank",
                        visits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Worst-rank composite of ``score_column`` at each visit after day 0 (see the module).

    Parameters
    ----------
    long : DataFrame
        One row per subject and visit, as made by ``derive.visits.longitudinal`` with a cutoff:
        ``visit``, ``target_day``, ``status`` (``derive.visits.VISIT_STATUSES``),
        ``evaluable_by_calendar`` (bool; missing is refused: pass the cutoff), ``score_column``
        (the value or its change) and, with ``require_baseline``, ``has_baseline``.
    score_column : str
        The value ranked among the measured subjects.
    higher_is_worse : bool
        True for CRP or a CT score (and their changes), False for PaO2/FiO2.
    require_baseline : bool
        The population is the subjects with a baseline (use for a change from baseline).
    stem : str
        Prefix of the quantile columns.
    visits : DataFrame, optional
        ``visit``, ``target_day`` of the visits to report when ``long`` has no subject (nobody
        infused yet): each gets a row with zero counts and the reason "no subject infused yet".

    Returns
    -------
    DataFrame
        One row per visit after day 0: ``visit``, ``target_day``, ``n_subjects``;
        ``n_not_evaluable`` (window not closed by the cutoff), ``n_no_baseline`` (window closed,
        no baseline; 0 without ``require_baseline``), ``n_evaluable`` (the population);
        ``n_died``, ``n_measured``, ``n_discharged`` (ranked), ``n_ranked``;
        ``n_lost_to_follow_up``, ``n_no_value`` (left out); ``died_prop`` (``n_died /
        n_ranked``) with ``died_ci95_lower``, ``died_ci95_upper`` (Clopper-Pearson);
        ``<stem>_median``, ``<stem>_q1``, ``<stem>_q3`` (float, missing when the quantile is a
        state) and ``<stem>_median_state``, ``<stem>_q1_state``, ``<stem>_q3_state`` ("value",
        "died", "discharged"; "" when nobody is ranked); ``not_estimable_reason`` ("" when
        someone is ranked).

    Examples
    --------
    >>> long = pd.DataFrame({"visit": "Day 7", "target_day": 7,
    ...     "status": ["died", "measured", "measured", "discharged", "no value", "follow-up not reached"],
    ...     "evaluable_by_calendar": [True, True, True, True, True, False],
    ...     "crp": [np.nan, 4.0, 6.0, np.nan, np.nan, np.nan]})
    >>> r = worst_rank_by_visit(long, "crp", higher_is_worse=True)
    >>> r[["n_evaluable", "n_ranked", "n_no_value", "worst_rank_median", "worst_rank_q3_state"]].values.tolist()
    [[5, 4, 1, 5.0, 'died']]
    """
    need = ["visit", "target_day", "status", "evaluable_by_calendar", score_column]
    need += ["has_baseline"] if require_baseline else []
    missing = [c for c in need if c not in long]
    if missing:
        raise ValueError(f"long is missing column(s) {missing}")
    rows = []
    for (visit, day), g in long[long["target_day"] > 0].groupby(["visit", "target_day"], sort=False,
                                                                  observed=True):
        passed = g["evaluable_by_calendar"].astype("boolean")
        if passed.isna().any():
            raise ValueError("evaluable_by_calendar is missing: derive the visits with the data cutoff")
        passed = passed.to_numpy(bool)
        based = g["has_baseline"].to_numpy(bool) if require_baseline else np.ones(len(g), bool)
        pop = g[passed & based]
        status = pop["status"].astype(str).to_numpy()
        score = pop[score_column].astype("float64").to_numpy()
        died, discharged = status == _DIED, status == _DISCHARGED
        measured = (status == MEASURED) & ~np.isnan(score)
        ranked = died | measured | discharged
        states = np.where(died, _DIED, np.where(discharged, _DISCHARGED, "value"))[ranked]
        row = {"visit": visit, "target_day": int(day), "n_subjects": len(g),
               "n_not_evaluable": int((~passed).sum()), "n_no_baseline": int((passed & ~based).sum()),
               "n_evaluable": len(pop), "n_died": int(died.sum()), "n_measured": int(measured.sum()),
               "n_discharged": int(discharged.sum()), "n_ranked": int(ranked.sum()),
               "n_lost_to_follow_up": int((status == _LOST).sum()),
               "n_no_value": int(len(pop) - ranked.sum() - (status == _LOST).sum())}
        quantiles = _quantiles(score[ranked], states, (0.5, 0.25, 0.75), higher_is_worse)
        for name, (number, state) in zip(("median", "q1", "q3"), quantiles):
            row[f"{stem}_{name}"], row[f"{stem}_{name}_state"] = number, state
        row["not_estimable_reason"] = ("" if row["n_ranked"] else NO_SUBJECT_INFUSED if not len(g)
                                       else no_subject_evaluable(int(day)))
        rows.append(row)
    if not rows and visits is not None:
        for visit, day in zip(visits["visit"], visits["target_day"]):
            if int(day) > 0:
                rows.append({"visit": visit, "target_day": int(day), **dict.fromkeys(
                    ("n_subjects", "n_not_evaluable", "n_no_baseline", "n_evaluable", "n_died", "n_measured",
                     "n_discharged", "n_ranked", "n_lost_to_follow_up", "n_no_value"), 0),
                     **{f"{stem}_{n}": math.nan for n in ("median", "q1", "q3")},
                     **{f"{stem}_{n}_state": "" for n in ("median", "q1", "q3")},
                     "not_estimable_reason": NO_SUBJECT_INFUSED})
    columns = ["visit", "target_day", "n_subjects", "n_not_evaluable", "n_no_baseline", "n_evaluable", "n_died",
               "n_measured", "n_discharged", "n_ranked", "n_lost_to_follow_up", "n_no_value",
               *(f"{stem}_{n}{s}" for n in ("median", "q1", "q3") for s in ("", "_state")), "not_estimable_reason"]
    out = pd.DataFrame(rows, columns=columns)
    ci = exact_proportion(out["n_died"].to_numpy(int), out["n_ranked"].to_numpy(int))
    out.insert(12, "died_prop", ci["estimate_prop"].to_numpy(dtype=float))
    out.insert(13, "died_ci95_lower", ci["ci95_lower"].to_numpy(dtype=float))
    out.insert(14, "died_ci95_upper", ci["ci95_upper"].to_numpy(dtype=float))
    for c in (f"{stem}_median", f"{stem}_q1", f"{stem}_q3"):
        out[c] = out[c].astype("float64")
    return out
