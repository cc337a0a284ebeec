"""Follow-up of each treated subject: the one derivation every endpoint uses.

An interim cut is incomplete by design. Two questions must be kept apart:

- **what is known**: how far each subject has been followed (to death, else to the last day
  known alive), and where that leaves the subject at the cutoff;
- **who could be known**: whether day H of a subject has passed by the calendar (the subject
  was infused at least H days before the cutoff), whatever happened to the subject. A day-H
  proportion or median counts these subjects (**evaluable by calendar**), deaths and survivors
  alike: counting only the subjects whose day-H outcome is already known lets the deaths in (they
  are known at once) and keeps the survivors out until they reach day H, which biases every
  interim figure towards the worse outcome.

Rules (days since the infusion, day 0; dates after the cutoff are already blanked by the loader):

- ``known_alive_day``: the later of the last date known alive (capped at the cutoff) and the
  discharge (the subject was alive then); missing when neither is recorded;
- ``follow_up_days``: to the death, else to ``known_alive_day``, else 0;
- ``days_to_cutoff``: from the infusion to the cutoff; day H has passed by the calendar when
  ``days_to_cutoff >= H``;
- state at day H (:func:`state_at_day`): "died" (death on or before day H), "followed" (alive
  and followed to day H or later, or died after day H), "lost to follow-up" (neither, although
  day H has passed by the calendar), "not yet reached" (neither, and day H is after the cutoff);
- follow-up status at the cutoff (:data:`FOLLOW_UP_STATUSES`), with H the last registered day:
  "died"; "alive, follow-up complete"; "in follow-up"; "lost to follow-up".

Rules in words for a reader: ``docs/endpoints/00_overview.md``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from .checks import require_columns

__all__ = ["FOLLOW_UP_STATUSES", "HOSPITAL_STATUSES", "DAY_STATES", "registered_days", "last_registered_day",
           "follow_up", "evaluable_by_calendar", "state_at_day", "day_state_counts", "hospital_status"]

#: Follow-up status of a treated subject at the cutoff, in display order (see :func:`follow_up`).
FOLLOW_UP_STATUSES = ("died", "alive, day-60 follow-up complete", "in follow-up", "lost to follow-up")
#: Hospital status of a treated subject at the cutoff, in display order (see :func:`hospital_status`).
HOSPITAL_STATUSES = ("discharged alive", "died in hospital", "in hospital at the cutoff")
#: State of a treated subject at day H (see :func:`state_at_day`), in display order.
DAY_STATES = ("died", "followed", "lost to follow-up", "not yet reached")

_COLUMNS = ("subject_id", "infused_on", "died_on", "discharged_on", "last_known_alive_on")


def registered_days() -> tuple[int, ...]:
    """Every day of the registered time frames, sorted: the days of ``definitions/trial.yaml``
    ``time_frames`` (keys ending in ``_days``), the days at which the pages report day-H figures.

    >>> registered_days()
    (7, 14, 28, 30, 60)
    """
    days = set()
    for endpoint, keys in definitions.TIME_FRAME_KEYS.items():
        frames = definitions.time_frames(endpoint)
        for key in keys:
            if key.endswith("_days"):
                value = frames[key]
                days |= set(value) if isinstance(value, tuple) else {value}
    return tuple(sorted(int(d) for d in days))


def last_registered_day() -> int:
    """H, the last day of follow-up the trial registered: the largest of :func:`registered_days`.

    >>> last_registered_day()
    60
    """
    return max(registered_days())


def hospital_status(discharged_on: pd.Series, died_on: pd.Series) -> pd.Categorical:
    """The hospital status at the cutoff: the one rule of every page (see :data:`HOSPITAL_STATUSES`).

    "discharged alive" when a discharge date is recorded (a death after it does not change it),
    "died in hospital" for a death without a discharge, "in hospital at the cutoff" for neither.
    The loader blanks discharges and deaths dated after the cutoff, so a discharge on the cutoff
    day counts as a discharge.

    >>> d = pd.to_datetime
    >>> list(hospital_status(d(pd.Series(["2020-08-10", None, None])), d(pd.Series([None, "2020-08-09", None]))))
    ['discharged alive', 'died in hospital', 'in hospital at the cutoff']
    """
    discharged, died = discharged_on.notna().to_numpy(), died_on.notna().to_numpy()
    status = np.select([discharged, ~discharged & died], [0, 1], default=2)  # codes of HOSPITAL_STATUSES
    return pd.Categorical.from_codes(status, categories=HOSPITAL_STATUSES)


def follow_up(subjects: pd.DataFrame, cutoff_date, *, horizon_days: int | None = None) -> pd.DataFrame:
    """Follow-up of each treated subject at the cutoff.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``infused_on``, ``died_on``, ``discharged_on``, ``last_known_alive_on``
        (dates, may be missing except ``infused_on``); with a ``treated`` column only its true
        rows are used, without one every row must have ``infused_on``. ``arm`` is carried when
        present.
    cutoff_date : date-like
        The data cutoff.
    horizon_days : int, optional
        H of the follow-up status; None: :func:`last_registered_day` (day 60).

    Returns
    -------
    DataFrame
        One row per treated subject, in input order: ``subject_id``; ``arm`` (when given);
        ``infused_on``; ``death_day``, ``discharge_day``, ``known_alive_day`` (float days since
        the infusion, NaN when none); ``follow_up_days`` (float: death, else known alive, else
        0); ``days_to_cutoff`` (int); ``hospital_status`` (categorical
        :data:`HOSPITAL_STATUSES`); ``status`` (categorical :data:`FOLLOW_UP_STATUSES`);
        ``status_text`` (e.g. "lost to follow-up (last known alive day 25)").

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B", "C", "D"],
    ...     "infused_on": d(["2020-08-01"] * 3 + ["2020-09-20"]), "discharged_on": d([None, "2020-08-09", None, None]),
    ...     "died_on": d(["2020-08-11", None, None, None]),
    ...     "last_known_alive_on": d(["2020-08-10", "2020-08-20", "2020-10-05", "2020-10-01"])})
    >>> f = follow_up(s, "2020-10-30")
    >>> f["follow_up_days"].tolist(), f["days_to_cutoff"].tolist()
    ([10.0, 19.0, 65.0, 11.0], [90, 90, 90, 40])
    >>> f["status_text"].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['died (day 10)', 'lost to follow-up (last known alive day 19)', 'alive, day-60 follow-up complete',
     'in follow-up (known alive to day 11)']
    """
    require_columns(subjects, _COLUMNS, "subjects")
    horizon = last_registered_day() if horizon_days is None else int(horizon_days)
    cutoff = pd.Timestamp(cutoff_date).normalize()
    t = subjects[subjects["treated"].astype(bool)] if "treated" in subjects else subjects
    if t["infused_on"].isna().any():
        raise ValueError("every subject must have infused_on: pass the treated population")
    infused = pd.to_datetime(t["infused_on"]).dt.normalize()

    def day(column: pd.Series) -> np.ndarray:
        return (pd.to_datetime(column) - infused).dt.days.astype(float).to_numpy()

    last = pd.to_datetime(t["last_known_alive_on"])
    death, discharge = day(t["died_on"]), day(t["discharged_on"])
    known = np.fmax(day(last.where(last.isna() | (last <= cutoff), cutoff)), discharge)
    died = ~np.isnan(death)
    follow = np.where(died, death, np.nan_to_num(known, nan=0.0)).clip(min=0.0)
    to_cutoff = (cutoff - infused).dt.days.to_numpy(int)
    complete = ~died & (known >= horizon)
    lost = ~died & ~complete & (to_cutoff >= horizon)
    status = np.select([died, complete, lost], [0, 1, 3], default=2)  # codes of FOLLOW_UP_STATUSES
    following = ~died & ~complete & ~lost
    no_date = np.isnan(known)
    text = np.full(len(t), f"alive, day-{horizon} follow-up complete", dtype=object)
    text[died] = [f"died (day {d:.0f})" for d in death[died]]
    text[lost & no_date] = "lost to follow-up (no date known alive)"
    text[lost & ~no_date] = [f"lost to follow-up (last known alive day {k:.0f})" for k in known[lost & ~no_date]]
    text[following & no_date] = "in follow-up (no date known alive yet)"
    text[following & ~no_date] = [f"in follow-up (known alive to day {k:.0f})" for k in known[following & ~no_date]]
    out = {"subject_id": t["subject_id"].to_numpy()}
    if "arm" in t:
        out["arm"] = t["arm"].reset_index(drop=True)
    out |= {"infused_on": infused.to_numpy(), "death_day": death, "discharge_day": discharge,
            "known_alive_day": known, "follow_up_days": follow, "days_to_cutoff": to_cutoff,
            "hospital_status": hospital_status(t["discharged_on"], t["died_on"]),
            "status": pd.Categorical.from_codes(status, categories=FOLLOW_UP_STATUSES), "status_text": text.tolist()}
    return pd.DataFrame(out)


def evaluable_by_calendar(follow: pd.DataFrame, day: int) -> np.ndarray:
    """Whether day ``day`` of each subject has passed by the calendar: infused at least ``day``
    days before the cutoff, whatever happened to the subject (bool array, one per row of
    :func:`follow_up`).

    >>> f = pd.DataFrame({"days_to_cutoff": [90, 40, 60]})
    >>> evaluable_by_calendar(f, 60).tolist()
    [True, False, True]
    """
    require_columns(follow, ["days_to_cutoff"], "follow")
    return (follow["days_to_cutoff"].to_numpy(int) >= int(day))


def state_at_day(follow: pd.DataFrame, day: int) -> pd.Categorical:
    """State of each subject at day ``day`` (categorical :data:`DAY_STATES`).

    "died": death on or before the day; "followed": alive and followed to the day or later (a
    death after the day included); "lost to follow-up": neither, although the day has passed by
    the calendar; "not yet reached": neither, and the day falls after the cutoff.

    >>> f = pd.DataFrame({"death_day": [10.0, np.nan, np.nan, np.nan, 70.0],
    ...     "follow_up_days": [10.0, 65.0, 19.0, 11.0, 70.0], "days_to_cutoff": [90, 90, 90, 40, 90]})
    >>> list(state_at_day(f, 60))
    ['died', 'followed', 'lost to follow-up', 'not yet reached', 'followed']
    """
    require_columns(follow, ["death_day", "follow_up_days", "days_to_cutoff"], "follow")
    death = follow["death_day"].to_numpy(float)
    died = death <= day
    followed = ~died & (follow["follow_up_days"].to_numpy(float) >= day)
    lost = ~died & ~followed & evaluable_by_calendar(follow, day)
    state = np.select([died, followed, lost], DAY_STATES[:3], default=DAY_STATES[3])
    return pd.Categorical(state, categories=DAY_STATES)


def day_state_counts(follow: pd.DataFrame, days) -> pd.DataFrame:
    """Subjects by state at each day, with the number evaluable by calendar.

    Returns
    -------
    DataFrame
        One row per day: ``day``, ``n_subjects``, ``n_evaluable_by_calendar``, then
        ``n_died``, ``n_followed``, ``n_lost_to_follow_up``, ``n_not_yet_reached``.

    >>> f = pd.DataFrame({"death_day": [10.0, np.nan, np.nan, np.nan],
    ...     "follow_up_days": [10.0, 65.0, 19.0, 11.0], "days_to_cutoff": [90, 90, 90, 40]})
    >>> day_state_counts(f, [28, 60]).iloc[1].tolist()
    [60, 4, 3, 1, 1, 1, 1]
    """
    rows = []
    for d in days:
        counts = pd.Series(state_at_day(follow, d)).value_counts().reindex(DAY_STATES, fill_value=0)
        rows.append({"day": int(d), "n_subjects": len(follow),
                     "n_evaluable_by_calendar": int(evaluable_by_calendar(follow, d).sum()),
                     "n_died": int(counts["died"]), "n_followed": int(counts["followed"]),
                     "n_lost_to_follow_up": int(counts["lost to follow-up"]),
                     "n_not_yet_reached": int(counts["not yet reached"])})
    return pd.DataFrame(rows, columns=["day", "n_subjects", "n_evaluable_by_calendar", "n_died", "n_followed",
                                       "n_lost_to_follow_up", "n_not_yet_reached"])
