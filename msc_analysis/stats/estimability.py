"""Why an estimate could not be made: the words shared by every metric function and table.

An estimate that cannot be made from the data is missing (NaN), never 0 and never a
zero-width interval. Each metric function that can return such a NaN says why in a column
``not_estimable_reason``: an empty string where the estimate was made, otherwise one of the
reasons below. The display layer shows "not estimable: <reason>" (or "NE" in a compact cell,
explained in a footnote); the results CSVs keep the NaN and say why in their ``method`` column.

Reasons
-------
- :data:`NO_SUBJECT_INFUSED`: the analysis population (treated subjects) is empty, e.g. a first
  interim cut taken before any infusion.
- :data:`NO_SUBJECT_IN_GROUP`: a group (an arm) has no subject.
- :func:`no_data`: subjects are there, but the cut holds none of the records the estimate needs
  (no RT-PCR result, no complete vital-sign assessment, ...).
- :func:`nobody_at_risk`: nobody was still followed on that day (every subject had left the risk
  set before it: interim follow-up too short).
- :func:`no_subject_evaluable`: a proportion whose denominator is empty.
- :func:`no_subject_measured`: a median of the values at a visit where nobody was measured.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["NO_SUBJECT_INFUSED", "NO_SUBJECT_IN_GROUP", "no_data", "nobody_at_risk", "no_subject_evaluable",
           "no_subject_measured", "reasons_at_days", "with_reason"]

#: The analysis population (treated subjects) is empty.
NO_SUBJECT_INFUSED = "no subject infused yet"
#: A group (arm) of the analysis has no subject.
NO_SUBJECT_IN_GROUP = "no subject in this group"


def no_data(what: str) -> str:
    """Subjects are there but none of the records needed.

    Examples
    --------
    >>> no_data("no RT-PCR result for any subject in the analysis")
    'no data (no RT-PCR result for any subject in the analysis)'
    """
    return f"no data ({what})"


def nobody_at_risk(day: float) -> str:
    """Nobody was still followed (at risk) on ``day``.

    Examples
    --------
    >>> nobody_at_risk(60.0)
    'nobody at risk at day 60'
    """
    return f"nobody at risk at day {day:g}"


def no_subject_evaluable(day: float | None = None) -> str:
    """A proportion whose denominator is empty (at ``day`` if given).

    Examples
    --------
    >>> no_subject_evaluable(14), no_subject_evaluable()
    ('no subject evaluable at day 14', 'no subject evaluable')
    """
    return "no subject evaluable" if day is None else f"no subject evaluable at day {day:g}"


def no_subject_measured(what: str = "measured") -> str:
    """A median over nobody: ``"no subject measured"`` (or another participle).

    Examples
    --------
    >>> no_subject_measured("with a value and a baseline")
    'no subject with a value and a baseline'
    """
    return f"no subject {what}"


def reasons_at_days(estimate: Sequence[float], n: Sequence[int] | int, n_at_risk: Sequence[int],
                    days: Sequence[float], *, empty: str = NO_SUBJECT_INFUSED,
                    data_reason: str = "") -> list[str]:
    """The reason of each missing estimate of a curve read at ``days``; "" where estimated.

    Parameters
    ----------
    estimate : sequence of float
        The estimates (NaN = not estimable).
    n : int or sequence of int
        Subjects behind the curve (one number, or one per row).
    n_at_risk : sequence of int
        Subjects still at risk at each day.
    days : sequence of float
        The days the curve was read at.
    empty : str
        Reason when ``n`` is 0 (default :data:`NO_SUBJECT_INFUSED`).
    data_reason : str
        If given, the reason of every row (the estimates were set missing for want of data).

    Examples
    --------
    >>> reasons_at_days([0.5, np.nan, np.nan], 4, [2, 0, 0], [30, 60, 90])
    ['', 'nobody at risk at day 60', 'nobody at risk at day 90']
    >>> reasons_at_days([np.nan], 0, [0], [30])
    ['no subject infused yet']
    """
    estimate = np.asarray(estimate, dtype=float)
    count = np.broadcast_to(np.asarray(n), estimate.shape)
    out = []
    for e, k, r, d in zip(estimate, count, n_at_risk, days):
        if data_reason:
            out.append(data_reason)
        elif not np.isnan(e):
            out.append("")
        elif k == 0:
            out.append(empty)
        else:  # a curve read beyond follow-up: nobody left at risk that day
            out.append(nobody_at_risk(d) if r == 0 else "not estimable from the data at that day")
    return out


def with_reason(method: str, reason: str) -> str:
    """The ``method`` text of a results row, saying why the estimate is missing (if it is).

    Examples
    --------
    >>> with_reason("Kaplan-Meier", "nobody at risk at day 60")
    'Kaplan-Meier; not estimable: nobody at risk at day 60'
    >>> with_reason("Kaplan-Meier", "")
    'Kaplan-Meier'
    """
    return f"{method}; not estimable: {reason}" if reason else method
