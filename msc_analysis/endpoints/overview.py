"""Trial overview: flow from screening to treatment, enrollment over time, follow-up status.

Pure functions on the tables of a :class:`~msc_analysis.cut.Cut`; each returns a tidy frame.
"""
from __future__ import annotations

import pandas as pd

from ..derive.populations import POPULATIONS
from ..stats.estimability import NO_SUBJECT_INFUSED, with_reason

__all__ = ["trial_flow", "flow_deviations", "screen_failures", "enrollment_over_time", "follow_up_status",
           "FOLLOW_UP_STATUSES", "headline_measures", "infusion_notice"]

#: Follow-up status of a treated subject at the cutoff, in display order.
FOLLOW_UP_STATUSES = ("died", "alive, day-60 follow-up complete", "in hospital",
                      "discharged, in follow-up", "lost to follow-up")


def trial_flow(subjects: pd.DataFrame) -> pd.DataFrame:
    """Number of subjects at each stage: screened, eligible, enrolled, treated.

    Parameters
    ----------
    subjects : DataFrame
        Boolean columns ``screened``, ``eligible``, ``enrolled``, ``treated``.

    Returns
    -------
    DataFrame
        ``population``, ``n_subjects``.

    Examples
    --------
    >>> s = pd.DataFrame({"screened": [True] * 3, "eligible": [True, True, False],
    ...                   "enrolled": [True, True, False], "treated": [True, False, False]})
    >>> trial_flow(s)["n_subjects"].tolist()
    [3, 2, 2, 1]
    """
    return pd.DataFrame({"population": list(POPULATIONS),
                         "n_subjects": [int(subjects[p].sum()) for p in POPULATIONS]})


def flow_deviations(subjects: pd.DataFrame) -> pd.DataFrame:
    """Subjects who did not follow screened -> eligible -> enrolled -> treated.

    Parameters
    ----------
    subjects : DataFrame
        Boolean columns ``eligible``, ``enrolled``, ``treated``.

    Returns
    -------
    DataFrame
        ``step`` ("eligible, not enrolled", "enrolled, not eligible" (a protocol
        deviation), "enrolled, not infused"), ``n_subjects``. (An infusion without
        enrollment is refused by the loader.)
    """
    e, r, t = subjects["eligible"], subjects["enrolled"], subjects["treated"]
    steps = {"eligible, not enrolled": e & ~r, "enrolled, not eligible": r & ~e,
             "enrolled, not infused": r & ~t}
    return pd.DataFrame({"step": list(steps), "n_subjects": [int(m.sum()) for m in steps.values()]})


def screen_failures(eligibility: pd.DataFrame) -> pd.DataFrame:
    """Screened subjects failing each criterion (a subject may fail several).

    Parameters
    ----------
    eligibility : DataFrame
        ``subject_id``, ``criterion``, ``kind``, ``label``, ``met`` (see ``Cut.eligibility``).

    Returns
    -------
    DataFrame
        ``criterion``, ``kind``, ``label``, ``n_failing``, and ``n_failing_only_this``
        (subjects for whom this is the only unmet criterion), in the criteria's order.
    """
    failing = eligibility[~eligibility["met"]]
    n_unmet = failing.groupby("subject_id")["criterion"].transform("size")
    order = eligibility.drop_duplicates("criterion")[["criterion", "kind", "label"]]
    counts = failing.groupby("criterion").size().rename("n_failing")
    only = failing[n_unmet == 1].groupby("criterion").size().rename("n_failing_only_this")
    out = order.join(counts, on="criterion").join(only, on="criterion")
    return out.fillna({"n_failing": 0, "n_failing_only_this": 0}).astype(
        {"n_failing": int, "n_failing_only_this": int}).reset_index(drop=True)


def enrollment_over_time(subjects: pd.DataFrame) -> pd.DataFrame:
    """Cumulative numbers screened, enrolled and treated by calendar date.

    Parameters
    ----------
    subjects : DataFrame
        ``screened_on``, ``enrolled`` (bool), ``enrolled_on`` (date; where missing the
        screening date stands in), ``infused_on`` (date or missing).

    Returns
    -------
    DataFrame
        ``date``, ``population`` (screened, enrolled, treated), ``n_subjects_cumulative``:
        one row per date on which the count changed.
    """
    enrolled_on = subjects["enrolled_on"].fillna(subjects["screened_on"])
    dated = {
        "screened": subjects["screened_on"],
        "enrolled": enrolled_on[subjects["enrolled"]],
        "treated": subjects["infused_on"].dropna(),
    }
    frames = []
    for population, dates in dated.items():
        counts = dates.value_counts().sort_index().cumsum()
        frames.append(pd.DataFrame({"date": counts.index, "population": population,
                                    "n_subjects_cumulative": counts.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def follow_up_status(subjects: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int = 60,
                     lost_after_days: int = 14) -> pd.DataFrame:
    """Status of each treated subject at the cutoff date, and days of follow-up.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``treated``, ``infused_on``, ``discharged_on``, ``died_on``,
        ``last_known_alive_on`` (dates).
    cutoff : Timestamp
        Data cutoff date.
    horizon_days : int
        Planned follow-up (60 days after the infusion).
    lost_after_days : int
        A subject alive, out of hospital, short of the horizon and not seen for more than
        this many days before the cutoff is "lost to follow-up".

    Returns
    -------
    DataFrame
        ``subject_id``, ``follow_up_days`` (infusion to death, else to the last date known
        alive; 0 if none), ``status`` (one of :data:`FOLLOW_UP_STATUSES`, categorical).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B"], "treated": [True, True],
    ...     "infused_on": d(["2020-08-01", "2020-08-01"]), "discharged_on": d([None, None]),
    ...     "died_on": d(["2020-08-11", None]), "last_known_alive_on": d(["2020-08-10", "2020-08-20"])})
    >>> follow_up_status(s, pd.Timestamp("2020-08-20"))[["follow_up_days", "status"]].values.tolist()
    [[10, 'died'], [19, 'in hospital']]
    """
    t = subjects[subjects["treated"]]
    end = t["died_on"].fillna(t["last_known_alive_on"]).fillna(t["infused_on"])
    days = (end - t["infused_on"]).dt.days.clip(lower=0)
    stale = (cutoff - t["last_known_alive_on"]).dt.days > lost_after_days
    status = pd.Series("discharged, in follow-up", index=t.index, dtype=object)
    status[stale.fillna(True)] = "lost to follow-up"
    status[t["discharged_on"].isna()] = "in hospital"
    status[days >= horizon_days] = "alive, day-60 follow-up complete"
    status[t["died_on"].notna()] = "died"
    return pd.DataFrame({
        "subject_id": t["subject_id"].to_numpy(),
        "follow_up_days": days.astype(int).to_numpy(),
        "status": pd.Categorical(status, categories=FOLLOW_UP_STATUSES),
    })


def infusion_notice(subjects: pd.DataFrame, cutoff_date) -> str:
    """One plain sentence for the top of every page: how many subjects have been infused.

    A first interim cut may be taken before anyone is infused; then every endpoint counted
    from the infusion has no data yet, and the sentence says so, so that no reader takes an
    empty table or a "not estimable" for a result.

    Parameters
    ----------
    subjects : DataFrame
        Boolean columns ``screened``, ``enrolled``, ``treated`` (``Cut.subjects``).
    cutoff_date : date-like
        Data cutoff date.

    Examples
    --------
    >>> s = pd.DataFrame({"screened": [True, True], "enrolled": [True, False], "treated": [False, False]})
    >>> print(infusion_notice(s, "2020-08-15"))  # doctest: +NORMALIZE_WHITESPACE
    NOTE: no subject infused yet at this cutoff (2020-08-15): 2 screened, 1 enrolled, 0 treated. The
    endpoints counted from the infusion have no data yet; their estimates on this page are not
    estimable, never 0.
    >>> print(infusion_notice(s.assign(treated=[True, False]), "2020-08-15"))
    Treated (infused) subjects at this cutoff (2020-08-15): 1 of 1 enrolled.
    """
    counts = {p: int(subjects[p].astype(bool).sum()) for p in ("screened", "enrolled", "treated")}
    day = pd.Timestamp(cutoff_date).date()
    if counts["treated"]:
        return (f"Treated (infused) subjects at this cutoff ({day}): {counts['treated']} of "
                f"{counts['enrolled']} enrolled.")
    return (f"NOTE: {NO_SUBJECT_INFUSED} at this cutoff ({day}): {counts['screened']} screened, "
            f"{counts['enrolled']} enrolled, 0 treated. The endpoints counted from the infusion have no data "
            "yet; their estimates on this page are not estimable, never 0.")


def headline_measures(subjects: pd.DataFrame, status: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers of the overview, ready for :func:`~msc_analysis.report.results.result_rows`.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``,
        ``method``: the count of each population (``group`` names it); the median days of
        follow-up of treated subjects with the interquartile range in the CI columns; the
        number treated in each follow-up status.
    """
    flow = trial_flow(subjects)
    rows = [dict(measure="subjects", group=r.population, estimate=r.n_subjects, n=r.n_subjects,
                 unit="subjects", method="count") for r in flow.itertuples()]
    days = status["follow_up_days"]
    rows.append(dict(measure="follow_up_days_median", group="treated", estimate=days.median(),
                     ci95_lower=days.quantile(0.25), ci95_upper=days.quantile(0.75), n=len(days),
                     unit="days", method=with_reason("median; CI columns hold the interquartile range, not a CI",
                                                     "" if len(days) else NO_SUBJECT_INFUSED)))
    for name, count in status["status"].value_counts(sort=False).items():
        rows.append(dict(measure="follow_up_status", group=name, estimate=count, n=len(status),
                         unit="subjects", method="count at the cutoff"))
    return pd.DataFrame(rows)
