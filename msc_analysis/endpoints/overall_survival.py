"""Overall survival (primary endpoint): time from the infusion (day 0) to death from any cause.

Population: the treated subjects (received the infusion). Every treated subject has one row in
:func:`survival_times` with an explicit status and reason; nobody is dropped.

Derivation rules
----------------
Follow-up comes from the one derivation of every page, :func:`msc_analysis.derive.follow_up.follow_up`:

- Event: death from any cause; time = ``died_on`` - ``infused_on`` in whole days.
- Censoring: alive subjects are censored at their last day known alive: the later of
  ``last_known_alive_on`` (capped at the cutoff; the loader already moves a later date to the
  cutoff and blanks deaths after it) and the discharge (alive then). A subject with no date
  known alive on or after the infusion is censored at day 0 (alive at the infusion), with that
  reason.
- No administrative censoring at day 60: the estimates at days 30 and 60 only use follow-up up
  to those days; the median uses all follow-up.
- Risk table (:func:`risk_table_by_group`): at risk on day t (followed to day t or beyond), died
  before day t, censored before day t; the three add up to the subjects at every day.

Where each subject's follow-up stands at day H (lost to follow-up, not yet followed) is in
:mod:`msc_analysis.endpoints.survival_follow_up`; the sensitivity analyses (lost to follow-up
counted as deaths, per protocol) in :mod:`msc_analysis.endpoints.survival_sensitivity`.

Estimates come from :mod:`msc_analysis.stats.survival` (Kaplan-Meier, log-log CI, log-rank).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import require_columns
from ..derive.follow_up import FOLLOW_UP_STATUSES, follow_up
from ..stats.estimability import NO_SUBJECT_IN_GROUP, NO_SUBJECT_INFUSED, reasons_at_days, with_reason
from ..stats.event_times import step_quantile
from ..stats.survival import (KM_CI_METHOD, LOGRANK_METHOD, MEDIAN_CI_METHOD, kaplan_meier,
                              logrank_test, median_survival, risk_table)

__all__ = ["OS_STATUSES", "RISK_TABLE_DAYS", "survival_times", "report_days", "analysis_groups", "km_curves",
           "survival_at_days", "median_survival_by_group", "QUARTILES", "survival_quantiles", "quartiles_by_group",
           "risk_table_by_group", "logrank_by_arm", "swimmer_lanes", "headline_measures"]

#: Status of each treated subject in the survival analysis.
OS_STATUSES = ("died", "censored")
#: Quantiles of survival time shown beside the median (25th, 50th, 75th percentile of the time to death).
QUARTILES = (0.25, 0.5, 0.75)
#: Days of the risk table drawn under the Kaplan-Meier plot.
RISK_TABLE_DAYS = (0, 7, 14, 21, 28, 30, 45, 60)

_SUBJECT_COLUMNS = ("subject_id", "arm", "treated", "infused_on", "died_on", "discharged_on",
                    "last_known_alive_on")


def survival_times(subjects: pd.DataFrame, cutoff_date) -> pd.DataFrame:
    """Time to death or censoring of every treated subject.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``subject_id``; ``arm``; ``treated`` (bool); ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on`` (dates, may be missing). Only treated rows
        are used.
    cutoff_date : date-like
        Data cutoff date.

    Returns
    -------
    pandas.DataFrame
        One row per treated subject: ``subject_id``; ``arm``; ``infused_on``; ``end_date``
        (death or censoring date); ``time_days`` (float, days from the infusion: the
        ``follow_up_days`` of :func:`~msc_analysis.derive.follow_up.follow_up`); ``event``
        (int, 1 = died, 0 = censored); ``status`` (categorical :data:`OS_STATUSES`);
        ``reason`` (str: "death", "alive at the cutoff", "alive at last contact before the
        cutoff" or "no date known alive after the infusion", censored on day 0);
        ``days_to_cutoff`` (int, days from the infusion to the cutoff); ``follow_up_status``
        (categorical :data:`~msc_analysis.derive.follow_up.FOLLOW_UP_STATUSES`, the status
        at the cutoff).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "arm": "MSC", "treated": True,
    ...     "infused_on": d(["2020-08-01", "2020-08-03"]), "died_on": d(["2020-08-11", None]),
    ...     "discharged_on": d([None, "2020-08-15"]), "last_known_alive_on": d(["2020-08-10", "2020-08-20"])})
    >>> survival_times(s, "2020-09-01")[["subject_id", "time_days", "event", "reason"]]
      subject_id  time_days  event                                   reason
    0          A       10.0      1                                    death
    1          B       17.0      0  alive at last contact before the cutoff
    """
    require_columns(subjects, _SUBJECT_COLUMNS, "subjects")
    f = follow_up(subjects, cutoff_date)
    died = f["death_day"].notna().to_numpy()
    known = f["known_alive_day"].to_numpy(float)
    no_contact = ~died & (np.isnan(known) | (known < 0))
    at_cutoff = ~died & (known >= f["days_to_cutoff"].to_numpy(float))
    reason = np.select([died, no_contact, at_cutoff],
                       ["death", "no date known alive after the infusion", "alive at the cutoff"],
                       default="alive at last contact before the cutoff")
    time = f["follow_up_days"].to_numpy(float)
    infused = pd.to_datetime(f["infused_on"])
    return pd.DataFrame({
        "subject_id": f["subject_id"].to_numpy(),
        "arm": f["arm"],  # keeps a categorical arm's levels
        "infused_on": infused.to_numpy(),
        "end_date": (infused + pd.to_timedelta(time, unit="D")).to_numpy(),
        "time_days": time,
        "event": died.astype(int),
        "status": pd.Categorical(np.where(died, "died", "censored"), categories=OS_STATUSES),
        "reason": reason,
        "days_to_cutoff": f["days_to_cutoff"].to_numpy(int),
        "follow_up_status": pd.Categorical(f["status"].astype(str), categories=FOLLOW_UP_STATUSES),
    })


def analysis_groups(times: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``[("all", times)]``, then one group per arm when ``arm`` has more than one level.

    A categorical ``arm`` contributes all its categories, so an arm without subjects appears
    (with no estimates) rather than disappearing.
    """
    arm = times["arm"]
    levels = list(arm.cat.categories) if isinstance(arm.dtype, pd.CategoricalDtype) else sorted(arm.dropna().unique())
    groups = [("all", times)]
    if len(levels) > 1:
        groups += [(str(level), times[arm == level]) for level in levels]
    return groups


def _empty_reason(group: str) -> str:
    return NO_SUBJECT_INFUSED if group == "all" else NO_SUBJECT_IN_GROUP


def km_curves(times: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier curve of each group, for plotting.

    Returns
    -------
    pandas.DataFrame
        ``group`` then the columns of :func:`~msc_analysis.stats.survival.kaplan_meier`
        (``time_days``, ``n_at_risk``, ``n_events``, ``n_censored``, ``survival_prop``,
        ``ci95_lower``, ``ci95_upper``), one row per distinct time of each group, then
        ``not_estimable_reason`` ("" on every row of a curve). A group without subjects has
        one row at day 0 with missing estimates and the reason ("no subject infused yet" for
        the whole population, "no subject in this group" for an empty arm).
    """
    frames = []
    for name, g in analysis_groups(times):
        km = kaplan_meier(g["time_days"], g["event"])
        if km.empty:
            km = kaplan_meier(g["time_days"], g["event"], times=[0])
        frames.append(km.assign(group=name, not_estimable_reason="" if len(g) else _empty_reason(name)))
    out = pd.concat(frames, ignore_index=True)
    return out[["group", *(c for c in out.columns if c != "group")]]


def report_days(days=None) -> tuple:
    """``days``, or the registered days (``trial.yaml: time_frames.overall_survival``) when None."""
    return definitions.time_frames("overall_survival")["report_days"] if days is None else tuple(days)


def survival_at_days(times: pd.DataFrame, days=None) -> pd.DataFrame:
    """Kaplan-Meier survival of each group at the given days, with 95 % log-log CI.

    ``days`` None means the registered days (``definitions/trial.yaml``,
    ``time_frames.overall_survival.report_days``: days 30 and 60).

    Returns
    -------
    pandas.DataFrame
        ``group``, ``day``, ``n`` (subjects in the group), ``n_at_risk`` (still followed on
        that day), ``survival_prop``, ``ci95_lower``, ``ci95_upper`` (NaN when not
        estimable), ``not_estimable_reason`` ("" when estimated; "no subject infused yet",
        "no subject in this group" or "nobody at risk at day N" when the follow-up has not
        reached that day). Where everyone has died the survival is 0 (estimated) and its
        interval missing (undefined on the log-log scale).
    """
    days = report_days(days)
    rows = []
    for name, g in analysis_groups(times):
        km = kaplan_meier(g["time_days"], g["event"], times=list(days))
        reason = reasons_at_days(km["survival_prop"], len(g), km["n_at_risk"], km["time_days"],
                                 empty=_empty_reason(name))
        rows.append(pd.DataFrame({"group": name, "day": km["time_days"], "n": len(g),
                                  "n_at_risk": km["n_at_risk"], "survival_prop": km["survival_prop"],
                                  "ci95_lower": km["ci95_lower"], "ci95_upper": km["ci95_upper"],
                                  "not_estimable_reason": reason}))
    return pd.concat(rows, ignore_index=True)


def median_survival_by_group(times: pd.DataFrame) -> pd.DataFrame:
    """Median survival of each group: ``group``, ``n``, ``n_events``, ``median_days``,
    ``ci95_lower``, ``ci95_upper`` (``inf`` = not reached, shown as "NR"; NaN = not
    estimable, see :func:`~msc_analysis.stats.survival.median_survival`: a median reached on
    day 0 is a real 0), ``not_estimable_reason`` (of a missing median: "no subject infused
    yet" or "no subject in this group"; "" otherwise)."""
    out = pd.concat([median_survival(g["time_days"], g["event"]).assign(
        group=name, not_estimable_reason="" if len(g) else _empty_reason(name))
        for name, g in analysis_groups(times)], ignore_index=True)
    return out[["group", "n", "n_events", "median_days", "ci95_lower", "ci95_upper", "not_estimable_reason"]]


def survival_quantiles(time_days, event, probs=QUARTILES) -> pd.DataFrame:
    """Quantiles of the time to the event from the Kaplan-Meier curve, with 95 % CI (R rule).

    The p-th quantile is the first day the curve falls to 1 - p or below (where it stays exactly at
    1 - p, the middle of that stretch); its limits are where the log-log CI bands cross 1 - p:
    R ``quantile(survfit(Surv(time, status) ~ 1, conf.type = "log-log"), probs)``. ``inf`` = not
    reached within follow-up; NaN with no subject, and for a limit when the curve falls from 1
    straight to 0 (as :func:`~msc_analysis.stats.survival.median_survival`).

    Returns
    -------
    pandas.DataFrame
        One row per ``probs``: ``quantile_prop`` (p), ``n``, ``n_events``, ``time_days``,
        ``ci95_lower``, ``ci95_upper`` (days).

    Examples
    --------
    Checked against R (survival 3.x): ``quantile(survfit(Surv(c(3, 5, 5, 8, 10, 12, 15, 20, 22, 30),
    c(1, 0, 1, 1, 0, 1, 0, 0, 1, 0)) ~ 1, conf.type = "log-log"), c(.25, .5, .75))`` gives 8, 22, NA
    (lower 3, 3, 12; upper 22, NA, NA; NA = not reached):

    >>> q = survival_quantiles([3, 5, 5, 8, 10, 12, 15, 20, 22, 30], [1, 0, 1, 1, 0, 1, 0, 0, 1, 0])
    >>> q[["time_days", "ci95_lower", "ci95_upper"]].values.tolist()
    [[8.0, 3.0, 22.0], [22.0, 3.0, inf], [inf, 12.0, inf]]
    """
    km = kaplan_meier(time_days, event)
    n, n_events = int(len(np.asarray(time_days))), int(np.asarray(event, dtype=int).sum())
    rows = []
    for p in probs:
        row = {"quantile_prop": float(p), "n": n, "n_events": n_events}
        if km.empty:
            rows.append(row | {"time_days": np.nan, "ci95_lower": np.nan, "ci95_upper": np.nan})
            continue
        x = np.r_[0.0, km["time_days"].to_numpy(float)]
        surv = km["survival_prop"].to_numpy(float)
        row["time_days"] = step_quantile(x, np.r_[0.0, 1 - surv], p)
        for column, band in (("ci95_lower", km["ci95_lower"]), ("ci95_upper", km["ci95_upper"])):
            band = band.to_numpy(float)
            limit = step_quantile(x, np.r_[0.0, 1 - band], p)
            below = surv < 1
            undefined = bool(below.any() and np.all(np.isnan(band[below])))
            row[column] = np.nan if np.isinf(limit) and undefined else limit
        rows.append(row)
    return pd.DataFrame(rows, columns=["quantile_prop", "n", "n_events", "time_days", "ci95_lower", "ci95_upper"])


def quartiles_by_group(times: pd.DataFrame, probs=QUARTILES) -> pd.DataFrame:
    """:func:`survival_quantiles` of each group: ``group`` then its columns (one row per quantile)."""
    out = pd.concat([survival_quantiles(g["time_days"], g["event"], probs).assign(group=name)
                     for name, g in analysis_groups(times)], ignore_index=True)
    return out[["group", *(c for c in out.columns if c != "group")]]


def risk_table_by_group(times: pd.DataFrame, days=RISK_TABLE_DAYS) -> pd.DataFrame:
    """At risk, died before and censored before each of ``days``, by group: rows that add up.

    Convention: on day *t* a subject is **at risk** when followed to day *t* or beyond
    (``time_days >= t``, the Kaplan-Meier risk set: a subject who dies on day *t* is at risk on
    day *t*); every other subject has left before day *t*, either **died before day t**
    (``time_days < t``, event) or **censored before day t** (``time_days < t``, censored). So at
    every day ``n_at_risk + deaths_before_day + censored_before_day == n``. A death on day *t*
    is in the survival estimate at day *t* and in ``deaths_before_day`` from day *t* + 1.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``day``, ``n`` (subjects in the group), ``n_at_risk``,
        ``deaths_before_day``, ``censored_before_day`` (int).

    Examples
    --------
    >>> t = pd.DataFrame({"arm": "MSC", "time_days": [0.0, 10, 15, 60], "event": [0, 1, 0, 0]})
    >>> risk_table_by_group(t, (0, 10, 30, 60))
      group   day  n  n_at_risk  deaths_before_day  censored_before_day
    0   all   0.0  4          4                  0                    0
    1   all  10.0  4          3                  0                    1
    2   all  30.0  4          1                  1                    2
    3   all  60.0  4          1                  1                    2
    """
    frames = []
    for name, g in analysis_groups(times):
        day = np.asarray(list(days), dtype=float)
        time = g["time_days"].to_numpy(float)[:, None]
        died = g["event"].to_numpy(int)[:, None] == 1
        before = time < day[None, :]
        at_risk = risk_table(g["time_days"], g["event"], list(day))["n_at_risk"].to_numpy(int)  # time >= day
        frames.append(pd.DataFrame({"group": name, "day": day, "n": len(g), "n_at_risk": at_risk,
                                    "deaths_before_day": (before & died).sum(axis=0).astype(int),
                                    "censored_before_day": (before & ~died).sum(axis=0).astype(int)}))
    return pd.concat(frames, ignore_index=True)


def logrank_by_arm(times: pd.DataFrame) -> pd.DataFrame:
    """Log-rank test across arms (one row; NaN statistic when there is a single arm).

    Returns
    -------
    pandas.DataFrame
        ``n_groups``, ``n``, ``n_events``, ``chisq``, ``df``, ``p_value``, ``method``.
    """
    return logrank_test(times["time_days"], times["event"], times["arm"].astype(str)).assign(
        method=LOGRANK_METHOD)


def swimmer_lanes(times: pd.DataFrame, subjects: pd.DataFrame, negativity: pd.DataFrame | None = None) -> pd.DataFrame:
    """One lane per treated subject for the swimmer plot: follow-up, discharge, negativity, death.

    Parameters
    ----------
    times : pandas.DataFrame
        Output of :func:`survival_times`.
    subjects : pandas.DataFrame
        ``subject_id``, ``discharged_on`` (date, may be missing).
    negativity : pandas.DataFrame, optional
        ``subject_id``, ``negativity_day`` (e.g. from
        :func:`~msc_analysis.endpoints.pcr_negativity.negativity_status`).

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``arm``, ``end_day`` (death or censoring, days since infusion),
        ``died`` (bool), ``discharge_day``, ``negativity_day``, ``death_day`` (float, NaN when
        none or after ``end_day``).
    """
    require_columns(subjects, ("subject_id", "discharged_on"), "subjects")
    # reindex, not Series.map: pandas' map fails on an empty mapping of dates (no subject yet)
    discharged = pd.Series(subjects.set_index("subject_id")["discharged_on"].reindex(times["subject_id"]).to_numpy(),
                           index=times.index)
    discharge_day = (discharged - times["infused_on"]).dt.days.astype(float).clip(lower=0)
    lanes = pd.DataFrame({
        "subject_id": times["subject_id"], "arm": times["arm"], "end_day": times["time_days"],
        "died": times["event"].astype(bool),
        "discharge_day": discharge_day.where(discharge_day <= times["time_days"]),
        "negativity_day": np.nan,
        "death_day": times["time_days"].where(times["event"].astype(bool)),
    })
    if negativity is not None:
        neg = times["subject_id"].map(negativity.set_index("subject_id")["negativity_day"]).astype(float)
        lanes["negativity_day"] = neg.where(neg <= times["time_days"])
    return lanes.reset_index(drop=True)


def headline_measures(times: pd.DataFrame, days=None) -> pd.DataFrame:
    """Headline numbers for :func:`~msc_analysis.report.results.result_rows`.

    ``days`` None means the registered days (``definitions/trial.yaml``).

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method``. For each group ("all", then each arm if there are several):
        ``survival_prop`` at each of ``days``; ``median_days`` (``inf`` = not reached);
        ``survival_q1_days``, ``survival_q3_days`` (quartiles of :func:`survival_quantiles`);
        ``deaths`` (deaths on or before the last of ``days``, with that ``day``); ``n``
        (treated subjects). With several arms, ``logrank_p`` (group "arms"). A missing
        estimate or confidence limit stays missing and the ``method`` says why.
    """
    days = report_days(days)
    at = survival_at_days(times, days)
    rows = [dict(measure="survival_prop", group=r.group, day=r.day, estimate=r.survival_prop,
                 ci95_lower=r.ci95_lower, ci95_upper=r.ci95_upper, n=r.n, unit="proportion",
                 method=with_reason(KM_CI_METHOD, r.not_estimable_reason)) for r in at.itertuples()]
    horizon = max(days)
    for (name, g), m in zip(analysis_groups(times), median_survival_by_group(times).itertuples()):
        method = MEDIAN_CI_METHOD + "; inf = not reached within follow-up"
        if not np.isnan(m.median_days) and (np.isnan(m.ci95_lower) or np.isnan(m.ci95_upper)):
            method += ("; a missing confidence limit is not estimable: the curve fell from 100% straight "
                       "to 0% (everyone at risk died at the first death), so its band is undefined")
        rows.append(dict(measure="median_days", group=name, estimate=m.median_days, ci95_lower=m.ci95_lower,
                         ci95_upper=m.ci95_upper, n=m.n, unit="days",
                         method=with_reason(method, m.not_estimable_reason)))
        quartiles = survival_quantiles(g["time_days"], g["event"], (0.25, 0.75))
        for q, measure in zip(quartiles.itertuples(), ("survival_q1_days", "survival_q3_days")):
            rows.append(dict(measure=measure, group=name, estimate=q.time_days, ci95_lower=q.ci95_lower,
                             ci95_upper=q.ci95_upper, n=q.n, unit="days",
                             method=with_reason(f"{q.quantile_prop:.0%} quantile of the Kaplan-Meier curve (first day "
                                                f"it falls to {1 - q.quantile_prop:.0%} or below); 95% CI where the "
                                                "log-log bands cross it (R quantile.survfit); inf = not reached",
                                                m.not_estimable_reason)))
        deaths = int(((g["event"] == 1) & (g["time_days"] <= horizon)).sum())
        rows.append(dict(measure="deaths_by_day", group=name, day=horizon, estimate=deaths, n=len(g),
                         unit="subjects", method=f"count of deaths from day 0 to day {horizon:g}"))
        rows.append(dict(measure="n", group=name, estimate=len(g), n=len(g), unit="subjects",
                         method="treated subjects in the analysis (none excluded)"))
    test = logrank_by_arm(times).iloc[0]
    if test["n_groups"] > 1:
        rows.append(dict(measure="logrank_p", group="arms", estimate=test["p_value"], n=test["n"],
                         unit="p-value", method=f"{LOGRANK_METHOD}; chi-square {test['chisq']:.3f}"))
    return pd.DataFrame(rows)
