"""RT-PCR negativity: where each treated subject stands at the end of the window, and the status table.

A subject censored before the end of the window (day H, 28) stopped having RT-PCR results. Whether
that is **lost to follow-up** or **not yet followed** is decided by the one follow-up derivation
of every page: day H has passed by the calendar (:func:`msc_analysis.derive.follow_up.evaluable_by_calendar`,
infused at least H days before the cutoff) or not. This changes nothing in the analysis
(:mod:`msc_analysis.endpoints.pcr_negativity`, rule 5: censoring at the last result).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import require_columns
from ..derive.follow_up import evaluable_by_calendar
from .pcr_negativity import PCR_STATUSES

__all__ = ["FOLLOW_UP_STATES", "follow_up_to_horizon", "status_summary"]

#: Where a treated subject stands at the end of the window (``follow_up_to_horizon``), H = the window.
FOLLOW_UP_STATES = ("negative by day H", "died before negativity by day H", "followed to day H, not negative",
                    "lost to follow-up before day H", "not yet followed to day H",
                    "excluded: never positive after infusion")


def follow_up_to_horizon(status: pd.DataFrame, follow: pd.DataFrame, horizon_days: int | None = None) -> pd.DataFrame:
    """Where each treated subject stands at the end of the window, and why a censored one stopped.

    The window for day H closes on ``infused_on + H``. A subject censored before day H is **lost
    to follow-up** when day H has passed by the calendar (evaluable by calendar: infused at least
    H days before the cutoff; no RT-PCR result after the last one, though day H has passed); only
    while day H is after the cutoff is it **not yet followed to day H**.

    Parameters
    ----------
    status : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.pcr_negativity.negativity_status` (made with
        the same ``horizon_days``).
    follow : pandas.DataFrame
        Output of :func:`~msc_analysis.derive.follow_up.follow_up` for the same cut
        (``subject_id``, ``infused_on``, ``days_to_cutoff``).
    horizon_days : int, optional
        H; None: the registered time frame (``definitions/trial.yaml``, 28 days).

    Returns
    -------
    pandas.DataFrame
        One row per subject of ``status``: ``subject_id``, ``status``, ``reason``,
        ``window_closes_on`` (date), ``follow_up`` (categorical :data:`FOLLOW_UP_STATES` with
        H written as the day), ``detail`` (str; for a lost subject "lost to follow-up (last
        RT-PCR result day X)" or "(no RT-PCR result after the infusion)", for one still in the
        window "not yet followed to day H (last RT-PCR result day X)", else the reason).

    Examples
    --------
    >>> f = pd.DataFrame({"subject_id": ["A", "B"], "infused_on": pd.to_datetime(["2020-10-01", "2020-12-20"]),
    ...                   "days_to_cutoff": [90, 10]})
    >>> st = pd.DataFrame({"subject_id": ["A", "B"], "status": "censored", "time_days": [12.0, 5.0],
    ...     "last_result_day": [12.0, 5.0], "n_results_after_infusion": [3, 2], "in_analysis": True,
    ...     "reason": ["no RT-PCR result after day 12", "no RT-PCR result after day 5"]})
    >>> follow_up_to_horizon(st, f, 28)["detail"].tolist()
    ['lost to follow-up (last RT-PCR result day 12)', 'not yet followed to day 28 (last RT-PCR result day 5)']
    """
    require_columns(status, ("subject_id", "status", "reason", "time_days", "last_result_day",
                             "n_results_after_infusion", "in_analysis"), "status")
    require_columns(follow, ("subject_id", "infused_on", "days_to_cutoff"), "follow")
    h = int(definitions.time_frames("pcr_negativity")["horizon_days"] if horizon_days is None else horizon_days)
    states = [x.replace("day H", f"day {h}") for x in FOLLOW_UP_STATES]
    aligned = follow.set_index("subject_id").reindex(status["subject_id"])
    if aligned["days_to_cutoff"].isna().any():
        raise ValueError("every subject of status needs a row in follow (the same cut's treated subjects)")
    closed = evaluable_by_calendar(aligned, h)
    st = status["status"].astype(str).to_numpy()
    time = status["time_days"].to_numpy(float)
    censored = st == PCR_STATUSES[2]
    state = np.select([st == PCR_STATUSES[0], st == PCR_STATUSES[1], st == PCR_STATUSES[3],
                       censored & (time >= h), censored & closed],
                      [states[0], states[1], states[5], states[2], states[3]], default=states[4])
    detail = []
    for s, why, last, k in zip(state, status["reason"], status["last_result_day"], status["n_results_after_infusion"]):
        seen = f"last RT-PCR result day {last:g}" if k > 0 else "no RT-PCR result after the infusion"
        if s == states[3]:
            detail.append(f"lost to follow-up ({seen})")
        elif s == states[4]:
            detail.append(f"not yet followed to day {h} ({seen})")
        else:
            detail.append(str(why))
    closes = pd.to_datetime(aligned["infused_on"]) + pd.Timedelta(days=h)
    return pd.DataFrame({"subject_id": status["subject_id"].to_numpy(), "status": status["status"].to_numpy(),
                         "reason": status["reason"].to_numpy(), "window_closes_on": closes.to_numpy(),
                         "follow_up": pd.Categorical(state, categories=states), "detail": detail})


def status_summary(status: pd.DataFrame, follow_up: pd.DataFrame | None = None) -> pd.DataFrame:
    """Subjects by status and reason (day numbers in the reasons written as N).

    ``status``: output of :func:`~msc_analysis.endpoints.pcr_negativity.negativity_status`.

    With ``follow_up`` (from :func:`follow_up_to_horizon`), rows are also split by where the
    follow-up stands, and a censored subject lost to follow-up no longer reads "not yet
    confirmed" (it was never confirmed).

    Returns
    -------
    pandas.DataFrame
        ``status``, ``reason``, [``follow_up``,] ``n_subjects`` (int); one row per combination present.
    """
    frame = status.assign(reason=status["reason"].str.replace(r"\d+", "N", regex=True))
    keys = ["status", "reason"]
    if follow_up is not None:
        state = pd.Series(follow_up["follow_up"].to_numpy(), index=status.index)
        lost = state.astype(str).str.startswith("lost to follow-up").to_numpy()
        frame["reason"] = frame["reason"].where(~lost, frame["reason"].str.replace("not yet confirmed",
                                                                                   "never confirmed"))
        frame["follow_up"] = state
        keys.append("follow_up")
    out = frame.groupby(keys, observed=True, sort=True).size().rename("n_subjects").reset_index()
    return out.astype({"n_subjects": int, "reason": str})
