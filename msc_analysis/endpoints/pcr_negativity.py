"""Time to SARS-CoV-2 RT-PCR negativity within 28 days, with death as a competing event.

Population: the treated subjects. Every treated subject has one row in
:func:`negativity_status` with an explicit status and reason.

Derivation rules (keyword defaults of :func:`negativity_status`)
----------------------------------------------------------------
1. **One result per day.** Swabs are dated, not timed: on a day with several swabs the day is
   positive if any is positive, else negative if any is negative, else inconclusive.
   Inconclusive days are skipped: between two negatives they neither break nor count toward
   the pair.
2. **Baseline** is the last positive/negative result on or before day 0 (the infusion day
   counts as baseline: a same-day swab cannot be placed before or after the infusion).
3. **Negativity** (``confirmation="two_consecutive"``): the day of the first of two consecutive
   negative results after day 0; the confirming result may fall after day 28.
   ``confirmation="first_negative"``: the day of the first negative result after day 0.
4. **Death before negativity** (on or before day 28) is a competing event at the day of death,
   whatever the swab schedule. Negativity dated on the day of death counts as negativity.
5. **Censoring**: otherwise at the last positive/negative result (day >= 0), or at day 28 if
   results continue beyond it.
6. **Never positive after the infusion**: a subject with results, none positive after day 0 and
   a baseline that is not positive (negative or absent) was not shown to be infected at or
   after the infusion. ``never_positive="exclude"`` (default) keeps such subjects out of the
   estimate with that status (listed and counted, never silently); ``"include"`` keeps them at
   risk and applies rule 3 to their results after day 0.
7. **No result at all**: the subject is kept at risk (RT-PCR confirmation is an inclusion
   criterion) and censored at day 0, unless rule 4 applies.
8. **No data**: when no subject in the analysis has any positive or negative result (e.g. a cut
   without RT-PCR rows), nothing about negativity can be estimated: the cumulative incidences
   and the median are missing with the reason "no data (no RT-PCR result)", never 0 % or
   "not reached".

The cumulative incidence of negativity is the Aalen-Johansen estimate
(:mod:`msc_analysis.stats.competing_risks`), never 1 - Kaplan-Meier.

The risk table (:func:`risk_table`) counts, at each day, the subjects at risk and those who left
before that day (negativity, death before negativity, censoring): the four add up to the subjects
in the analysis. Where each subject stands at the end of the window (lost to follow-up, not yet
followed) and the status summary of the page are in :mod:`msc_analysis.endpoints.pcr_follow_up`; the
sensitivity analysis of rule 6 in :mod:`msc_analysis.endpoints.pcr_sensitivity`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import isin, require_columns
from ..stats.estimability import NO_SUBJECT_INFUSED, no_data, reasons_at_days, with_reason
from ..stats.competing_risks import CIF_CI_METHOD, CIF_QUANTILE_CI_METHOD, competing_risk_table, cumulative_incidence

__all__ = ["PCR_STATUSES", "CONFIRMATION_RULES", "NEGATIVITY_DAYS", "negativity_status", "incidence_at_days",
           "incidence_curves", "risk_table", "median_negativity", "headline_measures"]

#: Status of each treated subject.
PCR_STATUSES = ("negativity", "died before negativity", "censored", "excluded: never positive after infusion")
#: Negativity definitions: keyword -> description used in tables and results.
CONFIRMATION_RULES = {"two_consecutive": "first of two consecutive negative RT-PCR results",
                      "first_negative": "first negative RT-PCR result"}
#: Days at which the cumulative incidence is reported.
NEGATIVITY_DAYS = (7, 14, 21, 28)
_SHORT_RULES = {"two_consecutive": "first of two consecutive negatives", "first_negative": "first negative"}
_OUTCOMES = {1: "RT-PCR negativity", 2: "death before negativity"}


def _day_results(pcr: pd.DataFrame) -> pd.DataFrame:
    """Conclusive day-level results (rule 1): ``subject_id``, ``day`` (int), ``negative`` (bool),
    sorted by subject and day."""
    p = pcr[pcr["days_since_infusion"].notna()]
    rank = p["result"].astype(str).str.lower().map({"positive": 2, "negative": 1}).fillna(0)
    day = (p.assign(rank=rank, day=p["days_since_infusion"].astype(int))
           .groupby(["subject_id", "day"], sort=True)["rank"].max().reset_index())
    day = day[day["rank"] > 0]
    return pd.DataFrame({"subject_id": day["subject_id"].to_numpy(), "day": day["day"].to_numpy(),
                         "negative": (day["rank"] == 1).to_numpy()})


def _per_subject(day: pd.DataFrame, confirmation: str) -> pd.DataFrame:
    """Per subject with results: the day-level facts :func:`negativity_status` classifies on.

    ``day`` is :func:`_day_results`. Returns one row per subject (index ``subject_id``):
    ``n_days``, ``baseline_result``, ``n_after``, ``positive_after`` (bool), ``last_after_negative``
    (bool: the last result after day 0 is negative), ``last_day`` (last day >= 0, NaN if none),
    ``first_negative_day``, ``negativity_day`` (float, NaN if none).
    """
    sid, d, neg = day["subject_id"].to_numpy(), day["day"].to_numpy(), day["negative"].to_numpy()
    after = d > 0
    # the next row of the same subject (rows are sorted by subject, then day)
    same_next = np.r_[sid[1:] == sid[:-1], False]
    neg_next = np.r_[neg[1:], False]
    if confirmation == "first_negative":
        negativity = after & neg
    else:
        negativity = after & neg & same_next & neg_next
    f = pd.DataFrame({"subject_id": sid, "day": d.astype(float), "after": after,
                      "positive_after": after & ~neg,
                      "first_negative_day": np.where(after & neg, d, np.nan),
                      "negativity_day": np.where(negativity, d, np.nan),
                      "last_day": np.where(d >= 0, d, np.nan),
                      "baseline": np.where(after, None, np.where(neg, "negative", "positive")),
                      "after_result": np.where(after, neg, None)})
    g = f.groupby("subject_id", sort=False)
    out = pd.DataFrame({"n_days": g.size(), "n_after": g["after"].sum(),
                        "positive_after": g["positive_after"].any(),
                        "first_negative_day": g["first_negative_day"].min(),
                        "negativity_day": g["negativity_day"].min(),
                        "last_day": g["last_day"].max(),
                        "baseline_result": g["baseline"].last(),
                        "last_after_negative": g["after_result"].last()})
    out["baseline_result"] = out["baseline_result"].fillna("none")
    out["last_after_negative"] = out["last_after_negative"].fillna(False).astype(bool)
    return out


def _g(values) -> list[str]:
    return [f"{v:g}" for v in values]


def negativity_status(subjects: pd.DataFrame, pcr: pd.DataFrame, *, confirmation: str = "two_consecutive",
                      horizon_days: int | None = None, never_positive: str = "exclude") -> pd.DataFrame:
    """Time to RT-PCR negativity, death (competing) or censoring of every treated subject.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``subject_id``, ``arm``, ``treated`` (bool), ``infused_on``, ``died_on`` (dates).
    pcr : pandas.DataFrame
        ``subject_id``, ``result`` (positive / negative / inconclusive),
        ``days_since_infusion`` (int, infusion day = 0).
    confirmation : {"two_consecutive", "first_negative"}
        Negativity definition (rule 3 of the module notes).
    horizon_days : int, optional
        End of the window; None: ``time_frames.pcr_negativity.horizon_days`` of
        ``definitions/trial.yaml`` (the registered time frame, 28 days).
    never_positive : {"exclude", "include"}
        Rule 6 of the module notes.

    Returns
    -------
    pandas.DataFrame
        One row per treated subject: ``subject_id``; ``arm``; ``baseline_result``
        ("positive", "negative" or "none"); ``n_results_after_infusion`` (int, conclusive
        days after day 0); ``last_result_day``, ``first_negative_day``, ``negativity_day``,
        ``death_day`` (float days since infusion, NaN if none); ``time_days`` (float, NaN when
        excluded); ``event`` (Int64: 1 negativity, 2 death before negativity, 0 censored,
        <NA> excluded); ``status`` (categorical :data:`PCR_STATUSES`); ``reason`` (str);
        ``in_analysis`` (bool); ``negativity_rule`` (str, from :data:`CONFIRMATION_RULES`);
        ``never_positive`` (str, the setting of rule 6: "exclude" or "include").

    Examples
    --------
    Positive on day 0, negative on days 3 and 5 (an inconclusive result on day 4 between them):

    >>> s = pd.DataFrame({"subject_id": ["A"], "arm": "MSC", "treated": True,
    ...     "infused_on": pd.to_datetime(["2020-08-01"]), "died_on": pd.to_datetime([None])})
    >>> p = pd.DataFrame({"subject_id": "A", "days_since_infusion": [0, 3, 4, 5],
    ...                   "result": ["positive", "negative", "inconclusive", "negative"]})
    >>> negativity_status(s, p)[["negativity_day", "time_days", "event", "status"]]
       negativity_day  time_days  event      status
    0             3.0        3.0      1  negativity
    """
    if confirmation not in CONFIRMATION_RULES:
        raise ValueError(f"confirmation must be one of {list(CONFIRMATION_RULES)}, got {confirmation!r}")
    if never_positive not in ("exclude", "include"):
        raise ValueError(f"never_positive must be 'exclude' or 'include', got {never_positive!r}")
    if horizon_days is None:
        horizon_days = definitions.time_frames("pcr_negativity")["horizon_days"]
    if not horizon_days > 0:
        raise ValueError("horizon_days must be positive")
    for frame, name, cols in ((subjects, "subjects", ("subject_id", "arm", "treated", "infused_on", "died_on")),
                              (pcr, "pcr", ("subject_id", "result", "days_since_infusion"))):
        require_columns(frame, cols, name)
    treated = subjects[subjects["treated"].astype(bool)]
    facts = _per_subject(_day_results(pcr[isin(pcr["subject_id"], treated["subject_id"])]), confirmation)
    facts = facts.reindex(treated["subject_id"].to_numpy())
    death = (treated["died_on"] - treated["infused_on"]).dt.days.astype(float).to_numpy()
    has_days = facts["n_days"].notna().to_numpy()
    baseline = facts["baseline_result"].fillna("none").to_numpy(object)
    n_after = facts["n_after"].fillna(0).to_numpy(int)
    positive_after = facts["positive_after"].fillna(False).to_numpy(bool)
    last_after_negative = facts["last_after_negative"].fillna(False).to_numpy(bool)
    first_negative = facts["first_negative_day"].to_numpy(float)
    negativity = facts["negativity_day"].to_numpy(float)
    last_day = facts["last_day"].to_numpy(float)
    last = np.where(np.isnan(last_day), 0.0, last_day)
    horizon = float(horizon_days)
    # rules in the order they apply (the first that holds decides)
    never = has_days & (baseline != "positive") & ~positive_after
    excluded = never & (never_positive == "exclude")
    negative = ~excluded & (negativity <= horizon) & ~(death < negativity)
    died = ~excluded & ~negative & (death <= horizon)
    rest = ~(excluded | negative | died)
    no_result = rest & ~has_days
    beyond = rest & has_days & (last >= horizon)
    short = rest & has_days & ~(last >= horizon)
    time = np.select([excluded, negative, died, no_result, beyond], [np.nan, negativity, death, 0.0, horizon], last)
    event = np.select([negative, died], [1, 2], 0)
    status = np.select([excluded, negative, died], [PCR_STATUSES[3], PCR_STATUSES[0], PCR_STATUSES[1]], PCR_STATUSES[2])
    reason = np.empty(len(treated), dtype=object)
    reason[excluded] = np.where(baseline[excluded] == "negative", "negative at baseline",
                                "no baseline result").astype(object) + ", never positive after"
    reason[negative] = [f"{_SHORT_RULES[confirmation]} on day {v}" for v in _g(negativity[negative])]
    reason[died] = [f"died on day {v} before RT-PCR negativity" for v in _g(death[died])]
    reason[no_result] = "no positive or negative RT-PCR result"
    reason[beyond] = f"not negative by day {horizon_days}"
    unconfirmed = short & last_after_negative
    nothing_after = short & ~last_after_negative & (n_after == 0) & (last == 0)
    other = short & ~unconfirmed & ~nothing_after
    reason[unconfirmed] = [f"negative on day {v}, not yet confirmed" for v in _g(last[unconfirmed])]
    reason[nothing_after] = "no RT-PCR result after the infusion"
    reason[other] = [f"no RT-PCR result after day {v}" for v in _g(last[other])]
    out = pd.DataFrame({"subject_id": treated["subject_id"].to_numpy(), "arm": treated["arm"].to_numpy(),
                        "baseline_result": baseline, "n_results_after_infusion": n_after,
                        "last_result_day": last_day, "first_negative_day": first_negative,
                        "negativity_day": negativity, "death_day": death, "time_days": time,
                        "event": pd.array(np.where(excluded, None, event), dtype="Int64"),
                        "status": pd.Categorical(status, categories=PCR_STATUSES),
                        "reason": reason})
    out["in_analysis"] = out["event"].notna().to_numpy(bool)
    out["negativity_rule"] = CONFIRMATION_RULES[confirmation]
    out["never_positive"] = never_positive
    return out


def _analysed(status: pd.DataFrame) -> pd.DataFrame:
    return status[status["in_analysis"]]


def _data_reason(analysed: pd.DataFrame) -> str:
    """Rule 8: the reason when no subject in the analysis has a conclusive result, else ""."""
    if len(analysed) and (analysed["baseline_result"] == "none").all() \
            and (analysed["n_results_after_infusion"] == 0).all():
        return no_data("no RT-PCR result")
    return ""


_CURVE_COLUMNS = ["time_days", "n_at_risk", "n_events", "n_competing", "n_censored", "cumulative_incidence_prop",
                  "ci95_lower", "ci95_upper"]


def incidence_at_days(status: pd.DataFrame, days=NEGATIVITY_DAYS) -> pd.DataFrame:
    """Cumulative incidence of negativity and of death before negativity at ``days``.

    Returns
    -------
    pandas.DataFrame
        ``outcome`` ("RT-PCR negativity", "death before negativity"), ``n`` (subjects in the
        analysis), then the columns of
        :func:`~msc_analysis.stats.competing_risks.cumulative_incidence` at each day, then
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet", "nobody at risk
        at day N", or "no data (no RT-PCR result)" under rule 8, which leaves both outcomes
        missing).
    """
    a = _analysed(status)
    data_reason = _data_reason(a)
    frames = []
    for cause, label in _OUTCOMES.items():
        inc = cumulative_incidence(a["time_days"], a["event"].astype(int), cause=cause, times=list(days))
        if data_reason:
            inc[["cumulative_incidence_prop", "ci95_lower", "ci95_upper"]] = np.nan
        reason = reasons_at_days(inc["cumulative_incidence_prop"], len(a), inc["n_at_risk"], inc["time_days"],
                                 empty=NO_SUBJECT_INFUSED if len(status) == 0 else "no subject in the analysis",
                                 data_reason=data_reason)
        frames.append(inc.assign(outcome=label, n=len(a), not_estimable_reason=reason))
    return pd.concat(frames, ignore_index=True)[["outcome", "n", *_CURVE_COLUMNS, "not_estimable_reason"]]


def incidence_curves(status: pd.DataFrame) -> pd.DataFrame:
    """Both cumulative incidence curves at every distinct time, for plotting: ``outcome``, the
    columns of :func:`~msc_analysis.stats.competing_risks.cumulative_incidence`, and
    ``not_estimable_reason``. When nothing can be estimated (no subject in the analysis, or
    rule 8) each outcome has one row at day 0 with missing estimates and the reason."""
    a = _analysed(status)
    reason = _data_reason(a) or ("" if len(a) else
                                 NO_SUBJECT_INFUSED if len(status) == 0 else "no subject in the analysis")
    frames = []
    for cause, label in _OUTCOMES.items():
        if reason:
            curve = pd.DataFrame([dict.fromkeys(_CURVE_COLUMNS, 0)]).astype(float)
            curve[["cumulative_incidence_prop", "ci95_lower", "ci95_upper"]] = np.nan
        else:
            curve = cumulative_incidence(a["time_days"], a["event"].astype(int), cause=cause)
        frames.append(curve.assign(outcome=label, not_estimable_reason=reason))
    out = pd.concat(frames, ignore_index=True)
    return out[["outcome", *_CURVE_COLUMNS, "not_estimable_reason"]]


def risk_table(status: pd.DataFrame, days=(0, *NEGATIVITY_DAYS)) -> pd.DataFrame:
    """Subjects in the analysis at risk on each day, and those who left before it: rows that add up.

    Convention: on day *t* a subject is **at risk** when still followed and not yet negative at
    the start of day *t* (``time_days >= t``: negativity, death or censoring on day *t* or
    later); every other subject left before day *t*, by negativity, by death before negativity
    or by censoring (``time_days < t``). At every day ``n_at_risk + events_before_day +
    competing_before_day + censored_before_day == n``.

    Returns
    -------
    pandas.DataFrame
        ``day``, ``n`` (subjects in the analysis), ``n_at_risk``, ``events_before_day``
        (negativity), ``competing_before_day`` (death before negativity),
        ``censored_before_day`` (int).

    Examples
    --------
    >>> st = pd.DataFrame({"time_days": [3.0, 5.0, 9.0, float("nan")], "event": pd.array([1, 2, 0, None], "Int64"),
    ...                    "in_analysis": [True, True, True, False]})
    >>> r = risk_table(st, (0, 5, 10)).set_index("day")
    >>> r.drop(columns="n").to_dict("index")[10.0]
    {'n_at_risk': 0, 'events_before_day': 1, 'competing_before_day': 1, 'censored_before_day': 1}
    >>> r.drop(columns="n").sum(axis=1).tolist()  # every day adds up to n = 3
    [3, 3, 3]
    """
    a = _analysed(status)
    day = np.asarray(list(days), dtype=float)
    at_risk = competing_risk_table(a["time_days"], a["event"].astype(int), list(day), cause=1)["n_at_risk"]
    time = a["time_days"].to_numpy(float)[:, None]
    event = a["event"].astype(int).to_numpy()[:, None]
    before = time < day[None, :]
    return pd.DataFrame({"day": day, "n": len(a), "n_at_risk": at_risk.to_numpy(int),
                         "events_before_day": (before & (event == 1)).sum(axis=0).astype(int),
                         "competing_before_day": (before & (event == 2)).sum(axis=0).astype(int),
                         "censored_before_day": (before & (event == 0)).sum(axis=0).astype(int)})


def median_negativity(status: pd.DataFrame) -> pd.DataFrame:
    """Median days to negativity, with its 95 % CI: the day the cumulative incidence reaches 0.5.

    The median and its limits follow R ``survival``'s quantile rule on the Aalen-Johansen curve
    and its pointwise log-log band (:func:`~msc_analysis.stats.competing_risks.cumulative_incidence_quantiles`,
    ``CIF_QUANTILE_CI_METHOD``): the lower limit is the day the upper band reaches 0.5, the
    upper limit the day the lower band reaches 0.5.

    Returns
    -------
    pandas.DataFrame
        One row: ``n`` (subjects in the analysis), ``n_events`` (negativity), ``median_days``
        (``inf`` if not reached by the end of the window; NaN when not estimable),
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet", "no subject in
        the analysis", or "no data (no RT-PCR result)" under rule 8), ``ci95_lower``,
        ``ci95_upper`` (days; ``inf`` where the band never reaches 0.5 within follow-up, "not
        reached"; NaN when the median is not estimable, or the band is missing wherever the
        incidence is above 0).
    """
    from ..stats.competing_risks import cumulative_incidence_quantiles
    a = _analysed(status)
    curve = cumulative_incidence(a["time_days"], a["event"].astype(int), cause=1)
    reason = _data_reason(a) or ("" if len(a) else
                                 NO_SUBJECT_INFUSED if len(status) == 0 else "no subject in the analysis")
    median = cumulative_incidence_quantiles(curve, [0.5]).iloc[0]
    if reason:
        median[["quantile_days", "ci95_lower", "ci95_upper"]] = np.nan
    return pd.DataFrame([{"n": len(a), "n_events": int((a["event"] == 1).sum()), "median_days": median["quantile_days"],
                          "not_estimable_reason": reason, "ci95_lower": median["ci95_lower"],
                          "ci95_upper": median["ci95_upper"]}])


def headline_measures(status: pd.DataFrame, days=NEGATIVITY_DAYS, *, prefix: str = "") -> pd.DataFrame:
    """Headline numbers for :func:`~msc_analysis.report.results.result_rows`.

    Parameters
    ----------
    status : pandas.DataFrame
        Output of :func:`negativity_status`.
    days : sequence of int
        Days of the cumulative incidence rows.
    prefix : str
        Put before each measure name, e.g. ``"sensitivity_"`` for a second definition.

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``group`` ("all"), ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``,
        ``n``, ``unit``, ``method``: ``cumulative_incidence_prop`` of negativity at each day;
        ``median_days`` (``inf`` = not reached) with its 95% CI; ``excluded_never_positive``
        (subjects excluded by rule 6).
    """
    rule = status["negativity_rule"].iloc[0] if len(status) else "(not applied: no subject)"
    inc = incidence_at_days(status, days)
    inc = inc[inc["outcome"] == _OUTCOMES[1]]
    rows = [dict(measure=f"{prefix}cumulative_incidence_prop", day=r.time_days, estimate=r.cumulative_incidence_prop,
                 ci95_lower=r.ci95_lower, ci95_upper=r.ci95_upper, n=r.n, unit="proportion",
                 method=with_reason(f"negativity = {rule}; {CIF_CI_METHOD}", r.not_estimable_reason))
            for r in inc.itertuples()]
    med = median_negativity(status).iloc[0]
    rows.append(dict(measure=f"{prefix}median_days", estimate=med["median_days"], ci95_lower=med.get("ci95_lower"),
                     ci95_upper=med.get("ci95_upper"), n=med["n"], unit="days",
                     method=with_reason(f"negativity = {rule}; median: {CIF_QUANTILE_CI_METHOD}; inf = not reached",
                                        med["not_estimable_reason"])))
    rows.append(dict(measure=f"{prefix}excluded_never_positive", estimate=int((~status["in_analysis"]).sum()),
                     n=len(status), unit="subjects",
                     method="treated subjects never positive after the infusion, excluded from the estimate"))
    return pd.DataFrame(rows).assign(group="all")
