"""Trial overview: flow from screening to treatment, enrollment over time, status at the cutoff.

Pure functions on the tables of a :class:`~msc_analysis.cut.Cut`; each returns a tidy frame.
The follow-up of each treated subject (status at the cutoff, hospital status, day-H states) is
derived once, in :mod:`msc_analysis.derive.follow_up`; :func:`status_at_cutoff` applies it, and
``last_registered_day``, ``hospital_status``, ``FOLLOW_UP_STATUSES`` and ``HOSPITAL_STATUSES``
are re-exported from there for the pages (rules in ``docs/endpoints/00_overview.md``).
"""
from __future__ import annotations

import pandas as pd

from ..derive.follow_up import (FOLLOW_UP_STATUSES, HOSPITAL_STATUSES, evaluable_by_calendar, follow_up,
                                hospital_status, last_registered_day)
from ..derive.liao_score import LIAO_LEVELS, adult_score_min_age
from ..derive.populations import POPULATIONS
from ..stats.estimability import NO_SUBJECT_INFUSED, with_reason

__all__ = ["trial_flow", "flow_deviations", "screen_failures", "enrollment_over_time", "last_registered_day",
           "hospital_status", "status_at_cutoff", "status_counts", "FOLLOW_UP_STATUSES", "HOSPITAL_STATUSES",
           "headline_measures", "infusion_notice", "AGE_BANDS_YEARS", "age_distribution",
           "eligibility_by_liao_level", "children_overview_measures", "adult_score_min_age"]



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


def status_at_cutoff(subjects: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int | None = None) -> pd.DataFrame:
    """Follow-up and hospital status of each treated subject at the cutoff.

    :func:`~msc_analysis.derive.follow_up.follow_up` (the one follow-up derivation of the kit,
    rules there and in ``docs/endpoints/00_overview.md``) plus ``window_closed``; ``00_overview``
    counts these statuses, and ``03_hospital_stay`` and the toxicity monitoring of ``08_safety``
    derive their follow-up with the same function, so the pages cannot disagree.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``treated``, ``infused_on``, ``discharged_on``, ``died_on``,
        ``last_known_alive_on`` (dates).
    cutoff : Timestamp
        Data cutoff date.
    horizon_days : int, optional
        H, the last registered day of follow-up (None: :func:`last_registered_day`, 60).

    Returns
    -------
    DataFrame
        The columns of :func:`~msc_analysis.derive.follow_up.follow_up` (``subject_id``, ...,
        ``follow_up_days``, ``known_alive_day``, ``days_to_cutoff``, ``hospital_status``,
        ``status``, ``status_text``) and ``window_closed`` (bool: day H has passed by the
        calendar, i.e. the subject is evaluable by calendar at H).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> s = pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "treated": True,
    ...     "infused_on": d(["2020-08-01"] * 3 + ["2020-09-20"]), "discharged_on": d([None, "2020-08-09", None, None]),
    ...     "died_on": d(["2020-08-11", None, None, None]),
    ...     "last_known_alive_on": d(["2020-08-10", "2020-08-20", "2020-10-05", "2020-10-01"])})
    >>> status_at_cutoff(s, pd.Timestamp("2020-10-30"))[["status_text", "hospital_status"]].values.tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['died (day 10)', 'died in hospital'], ['lost to follow-up (last known alive day 19)', 'discharged alive'],
     ['alive, day-60 follow-up complete', 'in hospital at the cutoff'],
     ['in follow-up (known alive to day 11)', 'in hospital at the cutoff']]
    """
    horizon = last_registered_day() if horizon_days is None else int(horizon_days)
    t = subjects[subjects["treated"].astype(bool)]
    follow = follow_up(t, cutoff, horizon_days=horizon)
    return follow.assign(window_closed=evaluable_by_calendar(follow, horizon))


def status_counts(status: pd.DataFrame) -> pd.DataFrame:
    """Treated subjects by follow-up status (rows) and hospital status (columns), zeros included.

    Parameters
    ----------
    status : DataFrame
        ``status``, ``hospital_status`` (from :func:`status_at_cutoff`).

    Returns
    -------
    DataFrame
        ``status`` then one column per hospital status (:data:`HOSPITAL_STATUSES`) and
        ``total``: subject counts (int), a last row ``status`` = "total".
    """
    counts = pd.crosstab(status["status"], status["hospital_status"], dropna=False)
    counts = counts.reindex(index=list(FOLLOW_UP_STATUSES), columns=list(HOSPITAL_STATUSES), fill_value=0)
    counts = counts.astype(int)
    counts.loc["total"] = counts.sum()
    counts["total"] = counts.sum(axis=1)
    counts.index.name = "status"
    counts.columns.name = None
    return counts.reset_index()


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

    Parameters
    ----------
    subjects : DataFrame
        ``Cut.subjects``.
    status : DataFrame
        :func:`status_at_cutoff` of the same cut.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper`` (the interquartile
        range for the median), ``n``, ``unit``, ``method``: the count of each population
        (``group`` names it; ``n`` the same count); the median days of follow-up of the treated
        subjects (``n`` treated); the number treated in each follow-up status (every status of
        :data:`FOLLOW_UP_STATUSES`, zeros included; ``n`` treated).
    """
    flow = trial_flow(subjects)
    rows = [dict(measure="subjects", group=r.population, estimate=int(r.n_subjects), n=int(r.n_subjects),
                 unit="subjects", method="count") for r in flow.itertuples()]
    days = status["follow_up_days"]
    rows.append(dict(measure="follow_up_days_median", group="treated", estimate=days.median(),
                     ci95_lower=days.quantile(0.25), ci95_upper=days.quantile(0.75), n=len(days), unit="days",
                     method=with_reason("median; lower and upper hold the interquartile range (Q1, Q3), not a CI",
                                        "" if len(days) else NO_SUBJECT_INFUSED)))
    counts = status["status"].astype(str).value_counts()
    for name in FOLLOW_UP_STATUSES:
        rows.append(dict(measure="follow_up_status", group=name, estimate=int(counts.get(name, 0)), n=len(status),
                         unit="subjects", method="count at the cutoff"))
    return pd.DataFrame(rows)


#: Upper ends (exclusive, years) of the adult age bands of :func:`age_distribution` after the children;
#: 65 is the NEWS-C age item's limit.
AGE_BANDS_YEARS = (65,)


def _age_band(age: pd.Series, limit: float) -> pd.Series:
    edges = [limit, *(b for b in AGE_BANDS_YEARS if b > limit)]
    names = [f"children (under {limit:g})"]
    names += [f"{lo:g} to {hi - 1:g}" for lo, hi in zip(edges[:-1], edges[1:])] + [f"{edges[-1]:g} or more"]
    band = pd.cut(age, [-float("inf"), *edges, float("inf")], right=False, labels=names)
    return band.cat.add_categories("age not recorded").fillna("age not recorded")


def age_distribution(subjects: pd.DataFrame, min_age_years: float | None = None) -> pd.DataFrame:
    """Subjects by age band in each population, the children (younger than the adult score's limit) counted.

    Parameters
    ----------
    subjects : DataFrame
        ``Cut.subjects``: ``age_years`` (completed years) and the boolean population columns
        ``screened``, ``eligible``, ``enrolled``, ``treated``.
    min_age_years : float, optional
        The adult score's age limit (None: ``definitions/liao_adult_score.yaml``, 16).

    Returns
    -------
    DataFrame
        One row per age band (children under the limit, then the adult bands of
        :data:`AGE_BANDS_YEARS`, then "age not recorded"; every band shown, zeros included):
        ``age_band`` (text), ``age_min_years``, ``age_max_years`` (float, the youngest and oldest
        screened subject in the band; missing when none), and ``n_<population>`` (int) for each
        population of ``POPULATIONS``.

    Examples
    --------
    >>> s = pd.DataFrame({"age_years": [8, 15.5, 40, 70, None], "screened": True,
    ...                   "eligible": [False, True, True, True, False], "enrolled": [False, True, True, True, False],
    ...                   "treated": [False, True, True, False, False]})
    >>> age_distribution(s)[["age_band", "n_screened", "n_treated"]].values.tolist()
    [['children (under 16)', 2, 1], ['16 to 64', 1, 1], ['65 or more', 1, 0], ['age not recorded', 1, 0]]
    """
    limit = adult_score_min_age(min_age_years)
    band = _age_band(pd.to_numeric(subjects["age_years"], errors="coerce"), limit)
    out = pd.DataFrame({"age_band": [str(c) for c in band.cat.categories]})
    ages = pd.to_numeric(subjects["age_years"], errors="coerce").groupby(band, observed=False)
    out["age_min_years"] = ages.min().to_numpy(float)
    out["age_max_years"] = ages.max().to_numpy(float)
    for population in POPULATIONS:
        chosen = subjects[population].fillna(False).astype(bool).to_numpy()
        out[f"n_{population}"] = band[chosen].value_counts().reindex(band.cat.categories, fill_value=0) \
            .to_numpy("int64")
    return out


def eligibility_by_liao_level(subjects: pd.DataFrame, min_age_years: float | None = None) -> pd.DataFrame:
    """Screened subjects by Liao level at screening (the level used for eligibility), children counted.

    Parameters
    ----------
    subjects : DataFrame
        ``Cut.subjects``: ``age_years``, ``liao_level_at_screening`` (missing: no assessment),
        ``eligible``, ``treated`` and, when the cut has them, ``liao_level_source_at_screening``
        ("site"/"computed").
    min_age_years : float, optional
        The adult score's age limit (None: ``definitions/liao_adult_score.yaml``).

    Returns
    -------
    DataFrame
        One row per level (``LIAO_LEVELS``, then "not assessed"): ``liao_level``, ``n_screened``,
        ``n_eligible``, ``n_treated``, ``n_children_screened``, ``n_children_eligible`` (children
        found eligible), ``n_children_eligible_by_adult_score`` (of those, the children whose level was
        computed with the adult bands, not assessed at the site: qualified by the adult score); all int.

    Examples
    --------
    >>> s = pd.DataFrame({"age_years": [8, 40, 12], "liao_level_at_screening": ["orange", "red", "yellow"],
    ...                   "eligible": [True, True, False], "treated": [True, True, False]})
    >>> t = eligibility_by_liao_level(s)
    >>> columns = ["n_screened", "n_children_eligible", "n_children_eligible_by_adult_score"]
    >>> t.loc[t["liao_level"] == "orange", columns].values.tolist()
    [[1, 1, 1]]
    """
    limit = adult_score_min_age(min_age_years)
    level = subjects["liao_level_at_screening"].astype(object)
    level = level.where(level.notna(), "not assessed").astype(str)
    child = pd.to_numeric(subjects["age_years"], errors="coerce").lt(limit).to_numpy(bool)
    source = (subjects["liao_level_source_at_screening"].astype(object) if "liao_level_source_at_screening" in subjects
              else pd.Series("computed", index=subjects.index))
    adult_score = source.ne("site").to_numpy(bool) & level.ne("not assessed").to_numpy(bool)
    eligible = subjects["eligible"].fillna(False).astype(bool).to_numpy()
    treated = subjects["treated"].fillna(False).astype(bool).to_numpy()
    rows = []
    for name in (*LIAO_LEVELS, "not assessed"):
        at = level.eq(name).to_numpy(bool)
        rows.append(dict(liao_level=name, n_screened=int(at.sum()), n_eligible=int((at & eligible).sum()),
                         n_treated=int((at & treated).sum()), n_children_screened=int((at & child).sum()),
                         n_children_eligible=int((at & child & eligible).sum()),
                         n_children_eligible_by_adult_score=int((at & child & eligible & adult_score).sum())))
    return pd.DataFrame(rows)


def children_overview_measures(subjects: pd.DataFrame, min_age_years: float | None = None) -> pd.DataFrame:
    """Results rows of the overview on children: ``children_screened``, ``children_treated`` and
    ``children_eligible_by_adult_score`` (children who met the Liao criterion with the adult score's
    level), each a count with ``n`` = the population it is counted in (screened, treated, eligible).

    >>> s = pd.DataFrame({"age_years": [8, 40], "liao_level_at_screening": ["orange", "red"], "screened": True,
    ...                   "eligible": [True, True], "enrolled": [True, True], "treated": [True, True]})
    >>> children_overview_measures(s)[["measure", "estimate", "n"]].values.tolist()
    [['children_screened', 1, 2], ['children_treated', 1, 2], ['children_eligible_by_adult_score', 1, 2]]
    """
    limit = adult_score_min_age(min_age_years)
    ages = age_distribution(subjects, limit).iloc[0]
    levels = eligibility_by_liao_level(subjects, limit)
    by_adult = int(levels["n_children_eligible_by_adult_score"].sum())
    what = f"count of subjects younger than {limit:g} years (the adult Liao score's age limit, NEWS2)"
    return pd.DataFrame([
        dict(measure="children_screened", group="all", estimate=int(ages["n_screened"]),
             n=int(subjects["screened"].fillna(False).astype(bool).sum()), unit="subjects", method=what),
        dict(measure="children_treated", group="all", estimate=int(ages["n_treated"]),
             n=int(subjects["treated"].fillna(False).astype(bool).sum()), unit="subjects", method=what),
        dict(measure="children_eligible_by_adult_score", group="all", estimate=by_adult,
             n=int(subjects["eligible"].fillna(False).astype(bool).sum()), unit="subjects",
             method=what + " found eligible with a Liao level computed with the adult bands"),
    ])
