"""Overall survival: where each treated subject's follow-up stands at the last reported day H.

The state comes from the one follow-up derivation of every page
(:func:`msc_analysis.derive.follow_up.state_at_day`), worded for the survival page: died by day
H, died after day H, alive and followed to day H, **lost to follow-up before day H** (censored
before day H although infusion + H days fell on or before the cutoff: evaluable by calendar) or
**not yet followed to day H** (that day falls after the cutoff). This changes nothing in the
analysis: every subject not known to have died stays censored at the last day known alive.

:func:`reverse_km_follow_up` gives the median follow-up by the **reverse Kaplan-Meier** method
(Schemper & Smith 1996): the Kaplan-Meier estimate with the indicators swapped (censoring is the
"event", a death censors the follow-up), so deaths do not shorten the median follow-up.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.checks import require_columns
from ..derive.follow_up import state_at_day
from ..stats.survival import median_survival
from .overall_survival import analysis_groups, report_days

__all__ = ["follow_up_to_day", "follow_up_summary", "REVERSE_KM_METHOD", "reverse_km_follow_up", "follow_up_measures"]

#: How the median follow-up is made, for footnotes and the ``method`` column.
REVERSE_KM_METHOD = ("reverse Kaplan-Meier (Schemper & Smith 1996): Kaplan-Meier with censoring as the event and "
                     "death as censoring; median and 95% CI where the log-log bands cross 0.5 (R survfit(Surv(time, "
                     "1 - status) ~ 1, conf.type = 'log-log'))")


def _day_text(value: float) -> str:
    return f"{value:g}"


def follow_up_to_day(times: pd.DataFrame, day: float | None = None) -> pd.DataFrame:
    """Where each treated subject's follow-up stands with respect to ``day`` (the registered
    time frame: the last reported day when None, day 60).

    The state is :func:`~msc_analysis.derive.follow_up.state_at_day` of the shared follow-up,
    worded for this page; the follow-up window for ``day`` closes on ``infused_on + day``:

    - "died" at day H: "died by day H"; "followed" after a death later than H: "died after day H";
      "followed" alive: "alive, followed to day H";
    - "lost to follow-up": **"lost to follow-up before day H"** (its detail: "lost to follow-up
      (last known alive day X)"): censored before day H although the window closed on or
      before the cutoff, never "not yet followed";
    - "not yet reached": "not yet followed to day H" (censored before day H, the window still
      open after the cutoff).

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.overall_survival.survival_times` (``subject_id``,
        ``arm``, ``infused_on``, ``time_days``,
        ``event``, ``reason``, ``days_to_cutoff``).
    day : float, optional
        H; None: the last of the registered days (``definitions/trial.yaml``).

    Returns
    -------
    pandas.DataFrame
        One row per subject: ``subject_id``, ``arm``, ``time_days``, ``event``,
        ``window_closes_on`` (date), ``follow_up`` (categorical, the five states above in that
        order, worded with H), ``detail`` (str: "died on day X", "last known alive day X",
        "lost to follow-up (last known alive day X)", "not yet followed to day H (last known
        alive day X)").

    Examples
    --------
    >>> from msc_analysis.endpoints.overall_survival import survival_times
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "arm": "MSC", "treated": True,
    ...     "infused_on": d(["2020-10-28", "2020-12-01"]), "died_on": pd.NaT, "discharged_on": pd.NaT,
    ...     "last_known_alive_on": d(["2020-11-22", "2020-12-21"])})
    >>> follow_up_to_day(survival_times(s, "2020-12-30"), 60)["detail"].tolist()
    ['lost to follow-up (last known alive day 25)', 'not yet followed to day 60 (last known alive day 20)']
    """
    require_columns(times, ("subject_id", "arm", "infused_on", "time_days", "event", "reason", "days_to_cutoff"),
                    "times")
    h = float(max(report_days(None))) if day is None else float(day)
    states = [f"died by day {h:g}", f"died after day {h:g}", f"alive, followed to day {h:g}",
              f"lost to follow-up before day {h:g}", f"not yet followed to day {h:g}"]
    died = times["event"].to_numpy(int) == 1
    time = times["time_days"].to_numpy(float)
    at = np.asarray(state_at_day(pd.DataFrame({"death_day": np.where(died, time, np.nan), "follow_up_days": time,
                                               "days_to_cutoff": times["days_to_cutoff"].to_numpy(int)}), h), str)
    state = np.select([at == "died", (at == "followed") & died, at == "followed", at == "lost to follow-up"],
                      states[:4], default=states[4])
    no_contact = (times["reason"] == "no date known alive after the infusion").to_numpy(bool)
    seen = [("no date known alive after the infusion" if nc else f"last known alive day {_day_text(t)}")
            for t, nc in zip(time, no_contact)]
    detail = [f"died on day {_day_text(t)}" if s in states[:2] else see if s == states[2] else
              f"lost to follow-up ({see})" if s == states[3] else f"not yet followed to day {h:g} ({see})"
              for s, t, see in zip(state, time, seen)]
    return pd.DataFrame({"subject_id": times["subject_id"].to_numpy(), "arm": times["arm"].to_numpy(),
                         "time_days": time, "event": times["event"].to_numpy(int),
                         "window_closes_on": (pd.to_datetime(times["infused_on"]) + pd.Timedelta(days=h)).to_numpy(),
                         "follow_up": pd.Categorical(state, categories=states), "detail": detail})


def follow_up_summary(follow: pd.DataFrame) -> pd.DataFrame:
    """Subjects in each follow-up state of :func:`follow_up_to_day`, every state listed (0 included).

    Returns
    -------
    pandas.DataFrame
        ``follow_up``, ``n_subjects`` (int), ``median_time_days``, ``min_time_days``,
        ``max_time_days`` (day of death, or of the last date known alive; NaN when nobody).
    """
    require_columns(follow, ("follow_up", "time_days"), "follow")
    out = (follow.groupby("follow_up", observed=False, sort=True)["time_days"]
           .agg(n_subjects="size", median_time_days="median", min_time_days="min", max_time_days="max")
           .reset_index())
    return out.astype({"n_subjects": int})


def reverse_km_follow_up(times: pd.DataFrame) -> pd.DataFrame:
    """Median follow-up of each group by reverse Kaplan-Meier, beside the observed follow-up.

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`~msc_analysis.endpoints.overall_survival.survival_times` (``arm``,
        ``time_days``, ``event``).

    Returns
    -------
    pandas.DataFrame
        One row per group ("all", then each arm when there are several): ``group``, ``n``,
        ``n_censored`` (subjects alive at their last day known alive: the "events" of the reverse
        curve), ``median_days``, ``ci95_lower``, ``ci95_upper`` (reverse Kaplan-Meier median and
        95% CI; ``inf`` = not reached, NaN = no subject or not estimable), ``observed_median_days``,
        ``observed_min_days``, ``observed_max_days`` (of ``time_days`` over every subject, deaths
        included; NaN when nobody).

    Examples
    --------
    Checked against R (survival 3.x): ``survfit(Surv(c(3, 5, 5, 8, 10, 12, 15, 20, 22, 30),
    1 - c(1, 0, 1, 1, 0, 1, 0, 0, 1, 0)) ~ 1, conf.type = "log-log")`` gives median 20, 95% CI 5 to NA:

    >>> t = pd.DataFrame({"arm": "MSC", "time_days": [3.0, 5, 5, 8, 10, 12, 15, 20, 22, 30],
    ...                   "event": [1, 0, 1, 1, 0, 1, 0, 0, 1, 0]})
    >>> reverse_km_follow_up(t)[["n_censored", "median_days", "ci95_lower", "ci95_upper", "observed_median_days"]]
       n_censored  median_days  ci95_lower  ci95_upper  observed_median_days
    0           5         20.0         5.0         inf                  11.0
    """
    require_columns(times, ("arm", "time_days", "event"), "times")
    rows = []
    for name, g in analysis_groups(times):
        m = median_survival(g["time_days"], 1 - g["event"].astype(int)).iloc[0]
        t = g["time_days"].astype(float)
        rows.append({"group": name, "n": len(g), "n_censored": int((g["event"].astype(int) == 0).sum()),
                     "median_days": m["median_days"], "ci95_lower": m["ci95_lower"], "ci95_upper": m["ci95_upper"],
                     "observed_median_days": t.median() if len(t) else np.nan,
                     "observed_min_days": t.min() if len(t) else np.nan,
                     "observed_max_days": t.max() if len(t) else np.nan})
    return pd.DataFrame(rows)


def follow_up_measures(follow_up: pd.DataFrame) -> pd.DataFrame:
    """Results rows of :func:`reverse_km_follow_up`: ``follow_up_reverse_km_median_days`` per group
    (``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``, ``method``)."""
    return pd.DataFrame({"measure": "follow_up_reverse_km_median_days", "group": follow_up["group"],
                         "estimate": follow_up["median_days"], "ci95_lower": follow_up["ci95_lower"],
                         "ci95_upper": follow_up["ci95_upper"], "n": follow_up["n"], "unit": "days",
                         "method": REVERSE_KM_METHOD + "; inf = not reached"})
