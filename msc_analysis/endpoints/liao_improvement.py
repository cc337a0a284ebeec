"""Improvement of the Liao (NEWS-C) score after the infusion: the pre-specified measures and their estimands.

Population: treated subjects; day 0 is the infusion. Every vital-sign assessment is scored with
:func:`msc_analysis.derive.liao_score.liao_score` (its five switches are passed through).
By default assessments flagged ``incomplete`` (a vital sign missing, so the score is only a
lower bound) are left out of every measure here (``include_incomplete=False``); the count
left out is reported by :func:`assessment_completeness`. Estimands: ``docs/endpoints/06_liao_score.md``.

1. Change in total score from baseline by visit (baseline and visit rules of the ``liao`` rows
   of ``definitions/baseline.yaml`` and ``definitions/visit_windows.csv``), observed cases.
2. Proportion whose level fell by at least one colour by each horizon day (exact CI) among the
   subjects **evaluable by calendar** (``derive.follow_up``); a death on or before the horizon
   counts as not improved. The "known so far" proportion is a secondary measure.
3. Time to clinical stability (a sustained low score without the age item) or discharge alive,
   death competing; the pre-specified sustained low score (age item included, discharge censored)
   as a sensitivity analysis: :mod:`msc_analysis.endpoints.liao_sustained`, re-exported here.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.baseline import derive_baseline
from ..derive.follow_up import evaluable_by_calendar, follow_up
from ..derive.liao_score import LIAO_LEVELS, LIAO_PARAMETERS, liao_score
from ..derive.visit_summary import summarise_visits
from ..derive.visits import VISIT_STATUSES, family_rule, longitudinal, visit_windows
from ..stats.binomial import exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_evaluable
from ..stats.paired import signed_rank_by_visit
from ..derive.checks import isin, positions, require_columns
from ..derive.liao_score import adult_score_min_age, children_scored_adult, without_children
from ..derive.populations import site_level_agreement
from .liao_results import (ADULTS_ONLY_MEASURES, IMPROVED_MEASURES, children_measures, headline_measures,
                           score_change_worst_rank)
from .liao_sustained import (STABLE_OUTCOMES, SUSTAINED_OUTCOMES, cutoff_or_latest_date, physiology_total,
                             stable_or_discharged, sustained_low_score, sustained_low_score_incidence,
                             usable_assessments)

__all__ = ["FAMILY", "LEVEL_CATEGORIES", "IMPROVEMENT_OUTCOMES", "NOT_FOLLOWED_OUTCOMES", "SUSTAINED_OUTCOMES",
           "STABLE_OUTCOMES", "DENOMINATORS", "IMPROVED_MEASURES", "score_assessments", "assessment_completeness",
           "liao_by_visit", "score_change_summary", "score_change_tests", "level_distribution", "level_improvement",
           "improvement_proportions", "sustained_low_score", "stable_or_discharged", "physiology_total",
           "sustained_low_score_incidence", "score_change_worst_rank", "headline_measures",
           "ADULTS_ONLY_MEASURES", "children_measures", "adult_score_min_age", "children_scored_adult",
           "without_children", "exclude_children_setting", "site_level_agreement"]

FAMILY = "liao"


def exclude_children_setting(exclude_children: bool | None = None) -> bool:
    """The page's ``exclude_children`` parameter: itself, or when None the ``exclude_children`` of
    ``definitions/liao_adult_score.yaml`` (False: children stay in, as the trial scored them).

    >>> exclude_children_setting(), exclude_children_setting(True)
    (False, True)
    """
    value = definitions.liao_adult_score()["exclude_children"] if exclude_children is None else exclude_children
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"exclude_children must be True, False or None, got {value!r}")
    return bool(value)
#: Categories of the level-by-visit figure: the four levels, then why there is no level.
LEVEL_CATEGORIES = (*LIAO_LEVELS, *VISIT_STATUSES[1:])
#: Outcome of a subject at an improvement horizon, in display order.
IMPROVEMENT_OUTCOMES = ("improved", "not improved", "died", "not yet evaluable", "lost to follow-up", "no baseline")
#: The two outcomes of a subject alive but not followed up to the horizon (left out of the denominator).
NOT_FOLLOWED_OUTCOMES = ("not yet evaluable", "lost to follow-up")


def score_assessments(vitals: pd.DataFrame, subjects: pd.DataFrame, *, age_points: int = 3,
                      age_triggers_single_parameter_rule: bool = False, spo2_scale: int = 1,
                      consciousness_scale: str = "ACVPU", level_rule: str = "total") -> pd.DataFrame:
    """Liao (NEWS-C) score and level of every vital-sign assessment of the subjects given.

    Parameters
    ----------
    vitals : DataFrame
        The vitals table (``Cut.vitals``, with ``days_since_infusion``).
    subjects : DataFrame
        ``subject_id``, ``age_years``: the population to score.
    age_points, age_triggers_single_parameter_rule, spo2_scale, consciousness_scale, level_rule
        The five switches of :func:`~msc_analysis.derive.liao_score.liao_score` (same defaults).

    Returns
    -------
    DataFrame
        ``subject_id``, ``measured_at``, ``days_since_infusion``, ``liao_total`` (int),
        ``liao_level`` (ordered categorical), ``incomplete`` (bool), ``n_parameters_missing``,
        ``age_points`` (Int64: the points age adds to every assessment of the subject),
        ``n_vital_signs`` (int: physiological parameters recorded, 0-7; an assessment with
        none is never used, see ``liao_sustained.usable_assessments``).
    """
    physiology = list(LIAO_PARAMETERS.values())[:7]
    used = ["subject_id", "measured_at", "days_since_infusion", *physiology]  # only what the score needs
    require_columns(vitals, used, "vitals")
    used = vitals[used]
    keep = isin(vitals["subject_id"].astype(str), subjects["subject_id"].astype(str)).to_numpy(bool)
    scored = liao_score(used if keep.all() else used[keep], subjects[["subject_id", "age_years"]],
                        age_points=age_points, age_triggers_single_parameter_rule=age_triggers_single_parameter_rule,
                        spo2_scale=spo2_scale, consciousness_scale=consciousness_scale, level_rule=level_rule,
                        per_parameter=False)
    recorded = len(physiology) - scored["n_parameters_missing"] + scored["age_points"].isna().astype("int64")
    return scored[["subject_id", "measured_at", "days_since_infusion", "liao_total", "liao_level",
                   "incomplete", "n_parameters_missing", "age_points"]].assign(
        n_vital_signs=recorded).reset_index(drop=True)


def assessment_completeness(scored: pd.DataFrame) -> pd.DataFrame:
    """One row: ``n_assessments``, ``n_incomplete`` (a vital sign missing), ``n_subjects``."""
    return pd.DataFrame({"n_assessments": [len(scored)], "n_incomplete": [int(scored["incomplete"].sum())],
                         "n_subjects": [scored["subject_id"].nunique()]})


def _level_code(levels) -> np.ndarray:
    """0 green .. 3 red; -1 missing."""
    levels = pd.Series(levels)
    if isinstance(levels.dtype, pd.CategoricalDtype):  # recode the categories, not every value
        recode = pd.Categorical(levels.cat.categories.astype(object), categories=LIAO_LEVELS).codes
        return np.append(recode, -1).astype(recode.dtype)[levels.cat.codes.to_numpy()]
    return pd.Categorical(levels.astype(object), categories=LIAO_LEVELS).codes


def liao_by_visit(scored: pd.DataFrame, subjects: pd.DataFrame, *, include_incomplete: bool = False,
                  windows: pd.DataFrame | None = None, window_days_before: int | None = None,
                  day0_values: str | None = None, cutoff_date=None) -> pd.DataFrame:
    """Total score and level of each treated subject at baseline and at each visit.

    Parameters
    ----------
    scored : DataFrame
        From :func:`score_assessments`.
    subjects : DataFrame
        The treated population: ``subject_id``, ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on``.
    include_incomplete : bool, default False
        Use assessments with a missing vital sign (their score is a lower bound).
    windows, window_days_before, day0_values
        Visit windows and baseline rule; ``None`` reads the ``liao`` rows of the definitions.
    cutoff_date : date-like, optional
        The data cutoff: splits "lost to follow-up" from "follow-up not reached" and adds
        ``evaluable_by_calendar`` (``derive.visits.longitudinal``); None: no split.

    Returns
    -------
    DataFrame
        One row per subject for the baseline and for each visit: ``subject_id``, ``visit``,
        ``target_day`` (0 = baseline), ``status``, ``days_since_infusion``, ``measured_at``,
        ``liao_total``, ``liao_level`` (ordered categorical), ``incomplete``, ``death_day``,
        ``discharge_day``, ``has_baseline``, ``liao_total_baseline``, ``liao_level_baseline``,
        ``liao_change`` (total - baseline total, points), ``level_change`` (Int64: colours
        moved from the baseline level; negative is better).
    """
    rule = family_rule(FAMILY, windows, window_days_before, day0_values)
    long = longitudinal(usable_assessments(scored, include_incomplete), subjects, value_column="liao_total",
                        time_column="measured_at", carry=("liao_level", "incomplete"), cutoff_date=cutoff_date,
                        **rule)
    long = long.drop(columns=["change_pct", "baseline_incomplete"]).rename(columns={
        "value": "liao_total", "baseline_value": "liao_total_baseline",
        "baseline_liao_level": "liao_level_baseline", "change": "liao_change"})
    level, base = _level_code(long["liao_level"]), _level_code(long["liao_level_baseline"])
    dtype = pd.CategoricalDtype(LIAO_LEVELS, ordered=True)
    return long.assign(
        liao_level=pd.Categorical.from_codes(level, dtype=dtype),
        liao_level_baseline=pd.Categorical.from_codes(base, dtype=dtype),
        level_change=pd.Series(level - base, index=long.index, dtype="Int64")
        .where((level >= 0) & (base >= 0)))


def score_change_summary(by_visit: pd.DataFrame) -> pd.DataFrame:
    """``derive.visit_summary.summarise_visits`` of the total (``liao_total_*``) and its change (``liao_change_*``),
    ``*_not_estimable_reason`` saying why a median is missing; every Liao visit is reported even with
    no subject (nobody infused yet), with zero counts."""
    return summarise_visits(by_visit, "liao_total", "liao_change", visits=visit_windows(FAMILY))


def score_change_tests(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of the score change at each visit (columns of
    ``stats.paired.signed_rank_by_visit``)."""
    return signed_rank_by_visit(by_visit, "liao_change")


def level_distribution(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Every treated subject at every visit: their level, or why there is none.

    Returns
    -------
    DataFrame
        One row per visit (baseline first) and category of :data:`LEVEL_CATEGORIES` (zeros
        included): ``visit``, ``target_day``, ``category`` (the level if assessed; otherwise
        died, discharged, follow-up not reached or no value), ``n_subjects``, ``share_prop``
        (of the treated subjects at that visit).
    """
    measured = by_visit["status"] == VISIT_STATUSES[0]
    category = by_visit["liao_level"].astype(object).where(measured, by_visit["status"].astype(object))
    counts = pd.DataFrame({"visit": by_visit["visit"].to_numpy(), "category": category.to_numpy()}) \
        .groupby(["visit", "category"]).size().rename("n_subjects")
    visits = by_visit[["visit", "target_day"]].drop_duplicates()
    out = visits.merge(pd.DataFrame({"category": LEVEL_CATEGORIES}), how="cross") \
        .join(counts, on=["visit", "category"])
    out["n_subjects"] = out["n_subjects"].fillna(0).astype("int64")
    out["category"] = pd.Categorical(out["category"], categories=LEVEL_CATEGORIES, ordered=True)
    total = out.groupby("visit", sort=False)["n_subjects"].transform("sum")
    out["share_prop"] = (out["n_subjects"] / total.where(total > 0)).astype("float64")
    return out.reset_index(drop=True)


def level_improvement(scored: pd.DataFrame, subjects: pd.DataFrame, *,
                      horizons: Sequence[int] | None = None, include_incomplete: bool = False,
                      cutoff=None, window_days_before: int | None = None,
                      day0_values: str | None = None) -> pd.DataFrame:
    """Whether each treated subject's level fell by at least one colour by each horizon day.

    A subject has **improved by day X** when some assessment on days 1 to X is at least one
    colour below the baseline level. Outcomes at day X, in this order of precedence:
    "no baseline" (no baseline assessment); "died" (death on or before day X: counted as **not
    improved**, even after an earlier improvement); "not yet evaluable" (alive at the cutoff and
    day X after it: infused fewer than X days before the cutoff); "lost to follow-up" (day X has
    passed by the calendar, but the subject, alive, was not followed to it: ``follow_up_days`` of
    :func:`msc_analysis.derive.follow_up.follow_up` below X); "improved"; "not improved"
    (including a green baseline, which cannot fall).

    The headline denominator (``evaluable``) is the subjects **evaluable by calendar** (infused
    at least X days before the cutoff, deaths and survivors alike) with a baseline, less those
    lost to follow-up. The secondary "known so far" denominator (``known``) is every subject whose
    outcome is known at the cutoff: it lets in a death before day X of a subject infused fewer
    than X days before the cutoff, while the survivors infused as late are not yet counted.

    Parameters
    ----------
    scored : DataFrame
        From :func:`score_assessments`.
    subjects : DataFrame
        The treated population (columns of ``derive.follow_up.follow_up``).
    horizons : sequence of int, optional
        Days after the infusion; None: ``time_frames.liao_score.report_days`` of
        ``definitions/trial.yaml`` (pre-specified).
    include_incomplete, window_days_before, day0_values
        As in :func:`liao_by_visit`.
    cutoff : date-like, optional
        The data cutoff (``Cut.cutoff_date``). None: the latest date recorded for the subjects
        (``liao_sustained.cutoff_or_latest_date``, a lower bound of the cutoff).

    Returns
    -------
    DataFrame
        One row per subject and horizon: ``subject_id``, ``horizon_day``,
        ``liao_level_baseline`` (ordered categorical), ``first_improvement_day`` (Int64: first
        day with a level below baseline), ``outcome`` (categorical,
        :data:`IMPROVEMENT_OUTCOMES`), ``improved`` (bool), ``evaluable_by_calendar`` (bool:
        infused at least X days before the cutoff), ``evaluable`` (bool: the headline
        denominator, evaluable by calendar and improved, not improved or died), ``known`` (bool:
        improved, not improved or died, whatever the calendar: the "known so far" denominator).
    """
    if horizons is None:
        horizons = definitions.time_frames("liao_score")["report_days"]
    if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in horizons):
        raise ValueError(f"horizons must be whole days >= 1, got {list(horizons)}")
    rule = family_rule(FAMILY, None, window_days_before, day0_values)
    usable = usable_assessments(scored, include_incomplete)
    base = derive_baseline(usable, subjects, value_column="liao_total", time_column="measured_at",
                           carry=("liao_level",), window_days_before=rule["window_days_before"],
                           day0_values=rule["day0_values"])
    follow = follow_up(subjects, cutoff_or_latest_date(subjects, cutoff))
    base_code = _level_code(base["baseline_liao_level"]).astype("int64")
    post = usable[["subject_id", "days_since_infusion", "liao_level"]][
        (usable["days_since_infusion"] >= 1).fillna(False).to_numpy(bool)]
    post_at = positions(post["subject_id"], base["subject_id"])  # the subject's row of ``base``
    post_code = _level_code(post["liao_level"])
    below = (post_code <= np.append(base_code, -1)[post_at] - 1) & (post_code >= 0)  # -1: no baseline row
    never = np.iinfo(np.int64).max
    first = np.full(len(base), never, dtype=np.int64)  # first day below baseline, by subject
    np.minimum.at(first, post_at[below], post.loc[below, "days_since_infusion"].astype("int64").to_numpy())
    first_day = pd.arrays.IntegerArray(first, first == never)
    at = positions(base["subject_id"], follow["subject_id"])
    if (at < 0).any():
        raise ValueError("subjects must be the treated population (a subject is not treated)")
    follow = follow.iloc[at].reset_index(drop=True)
    frames = []
    level = pd.Categorical(base["baseline_liao_level"].astype(object), categories=LIAO_LEVELS, ordered=True)
    code = {o: i for i, o in enumerate(IMPROVEMENT_OUTCOMES)}  # outcomes as category codes
    for h in horizons:
        calendar = evaluable_by_calendar(follow, h)
        outcome = np.select(
            [~base["has_baseline"].to_numpy(bool), follow["death_day"].to_numpy(float) <= h, ~calendar,
             follow["follow_up_days"].to_numpy(float) < h, pd.Series(first_day <= h).fillna(False).to_numpy(bool)],
            [code["no baseline"], code["died"], code["not yet evaluable"], code["lost to follow-up"],
             code["improved"]], default=code["not improved"])
        known = np.isin(outcome, [code["improved"], code["not improved"], code["died"]])
        frames.append(pd.DataFrame({
            "subject_id": base["subject_id"].to_numpy(), "horizon_day": int(h),
            "liao_level_baseline": level, "first_improvement_day": first_day,
            "outcome": pd.Categorical.from_codes(outcome, categories=IMPROVEMENT_OUTCOMES),
            "improved": outcome == code["improved"], "evaluable_by_calendar": calendar,
            "evaluable": known & calendar, "known": known}))
    columns = ["subject_id", "horizon_day", "liao_level_baseline", "first_improvement_day", "outcome",
               "improved", "evaluable_by_calendar", "evaluable", "known"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


#: The two denominators of :func:`improvement_proportions`.
DENOMINATORS = ("calendar", "known")


def improvement_proportions(per_subject: pd.DataFrame, horizons: Sequence[int] | None = None, *,
                            denominator: str = "calendar") -> pd.DataFrame:
    """Proportion improved by each horizon with an exact 95 % CI, over one of two denominators.

    Parameters
    ----------
    per_subject : DataFrame
        From :func:`level_improvement`.
    horizons : sequence of int, optional
        Horizons to report; a horizon without any subject (e.g. nobody infused yet) gets a row
        of zeros with a missing proportion. Default: the horizons in ``per_subject``, or
        the registered days (``definitions/trial.yaml``) when it is empty.
    denominator : {"calendar", "known"}
        "calendar" (the headline): subjects evaluable by calendar with a baseline, less those lost
        to follow-up (column ``evaluable``); "known" (secondary, "known so far"): every subject
        whose outcome is known at the cutoff (column ``known``).

    Returns
    -------
    DataFrame
        One row per horizon: ``horizon_day``, ``n_subjects``, ``n_no_baseline``,
        ``n_not_yet_evaluable`` (left out because the day is after the cutoff: with "calendar",
        every subject with a baseline infused fewer days before the cutoff, deaths included;
        with "known", those of them still alive), ``n_lost_to_follow_up`` (day passed, not
        followed to it), ``n_evaluable`` (the denominator; the four counts add up to
        ``n_subjects``), ``n_improved``, ``n_died`` (in the denominator, counted as not
        improved), ``improved_prop``, ``ci95_lower``, ``ci95_upper`` (Clopper-Pearson,
        ``stats.binomial.exact_proportion``; missing when nobody is evaluable),
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet" or "no subject
        evaluable at day N").
    """
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, got {denominator!r}")
    if horizons is None:
        horizons = (sorted(set(per_subject["horizon_day"])) if len(per_subject)
                    else definitions.time_frames("liao_score")["report_days"])
    rows = []
    for h in horizons:
        g = per_subject[per_subject["horizon_day"] == h]
        outcome = g["outcome"]  # categorical: compared by code
        based = (outcome != "no baseline").to_numpy(bool)
        if denominator == "calendar":
            counted = g["evaluable"].to_numpy(bool)
            not_yet = based & ~g["evaluable_by_calendar"].to_numpy(bool)
        else:
            counted = g["known"].to_numpy(bool) if "known" in g else g["evaluable"].to_numpy(bool)
            not_yet = (outcome == "not yet evaluable").to_numpy(bool)
        rows.append({"horizon_day": int(h), "n_subjects": len(g), "n_no_baseline": int((~based).sum()),
                     "n_not_yet_evaluable": int(not_yet.sum()),
                     "n_lost_to_follow_up": int((outcome == "lost to follow-up").sum()),
                     "n_evaluable": int(counted.sum()),
                     "n_improved": int((counted & g["improved"].to_numpy(bool)).sum()),
                     "n_died": int((counted & (outcome == "died").to_numpy(bool)).sum())})
    out = pd.DataFrame(rows, columns=["horizon_day", "n_subjects", "n_no_baseline", "n_not_yet_evaluable",
                                      "n_lost_to_follow_up", "n_evaluable", "n_improved", "n_died"])
    ci = exact_proportion(out["n_improved"].to_numpy(int), out["n_evaluable"].to_numpy(int))
    reason = [NO_SUBJECT_INFUSED if n == 0 else no_subject_evaluable(h) if e == 0 else ""
              for h, n, e in zip(out["horizon_day"], out["n_subjects"], out["n_evaluable"])]
    return out.assign(improved_prop=ci["estimate_prop"].to_numpy(), ci95_lower=ci["ci95_lower"].to_numpy(),
                      ci95_upper=ci["ci95_upper"].to_numpy(), not_estimable_reason=reason)
