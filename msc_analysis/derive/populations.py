"""Analysis populations: screened, eligible, enrolled, treated.

Eligibility criteria are data (``definitions/eligibility.csv``); the Liao criterion uses the
score at the screening assessment: the last vital-sign assessment dated on the screening day, or
the level assessed at the site (optional ``liao_level_site`` column) when that assessment has one.
"""
from __future__ import annotations

import pandas as pd

from ..definitions import eligibility_criteria
from .liao_score import LIAO_LEVELS, LIAO_PARAMETERS, liao_score

__all__ = ["POPULATIONS", "SITE_LEVEL_COLUMN", "eligibility_criteria", "screening_liao", "assess_eligibility",
           "site_level_agreement"]

POPULATIONS = ("screened", "eligible", "enrolled", "treated")


#: The optional vitals column with the level assessed at the site (data dictionary, ``vitals.csv``).
SITE_LEVEL_COLUMN = "liao_level_site"


def screening_liao(subjects: pd.DataFrame, vitals: pd.DataFrame) -> pd.DataFrame:
    """Liao (NEWS-C) score of each subject's screening assessment, and the level used for eligibility.

    The level used for eligibility (``liao_level_at_screening``) is the level assessed at the site
    (the optional ``liao_level_site`` column of ``vitals.csv``, e.g. a paediatric early warning
    score for a child) when the screening assessment has one, else the level computed with the
    adult score.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``screened_on`` (date), ``age_years``.
    vitals : DataFrame
        The vitals table of the cut (see the data dictionary); ``liao_level_site`` is optional.

    Returns
    -------
    DataFrame
        One row per subject with a vital-sign assessment (or a site-assessed level) on the
        screening day, the last one of the day:
        ``subject_id``, ``liao_total_at_screening`` (adult score, points),
        ``liao_level_at_screening`` (the level used for eligibility),
        ``liao_incomplete_at_screening`` (the assessment lacked a parameter, so the score
        is a lower bound), ``liao_level_computed_at_screening`` (adult score; missing when no
        vital sign was measured), ``liao_level_site_at_screening`` (missing when not recorded),
        ``liao_level_source_at_screening`` ("site" or "computed").

    Examples
    --------
    >>> subjects = pd.DataFrame({"subject_id": ["C1"], "screened_on": pd.to_datetime(["2020-08-01"]),
    ...                          "age_years": [6]})
    >>> vitals = pd.DataFrame({"subject_id": ["C1"], "measured_at": pd.to_datetime(["2020-08-01 09:00"]),
    ...     "resp_rate_per_min": [26.0], "spo2_pct": [97.0], "on_oxygen": [False], "temp_c": [37.0],
    ...     "sbp_mmhg": [112.0], "heart_rate_bpm": [105.0], "consciousness": ["A"],
    ...     "liao_level_site": ["yellow"]})
    >>> out = screening_liao(subjects, vitals)
    >>> [str(out.at[0, c]) for c in ("liao_level_computed_at_screening", "liao_level_at_screening",
    ...                              "liao_level_source_at_screening")]
    ['orange', 'yellow', 'site']
    """
    # A join, not Series.map: pandas' map fails on an empty mapping of dates (a cut in which
    # nobody has been screened yet).
    screened_on = vitals[["subject_id"]].merge(subjects[["subject_id", "screened_on"]], on="subject_id",
                                               how="left")["screened_on"].set_axis(vitals.index)
    # A row with no vital sign at all is not an assessment: scored, it would read as a (lower
    # bound) green and hide that the screening level is unknown.
    physiology = [c for c in dict.fromkeys(LIAO_PARAMETERS.values()) if c in vitals.columns]
    has_site = SITE_LEVEL_COLUMN in vitals.columns
    measured = vitals[physiology].notna().any(axis=1)
    assessed = measured | vitals[SITE_LEVEL_COLUMN].notna() if has_site else measured
    on_day = vitals[(vitals["measured_at"].dt.normalize() == screened_on) & assessed]
    last = on_day.sort_values("measured_at", kind="stable").drop_duplicates("subject_id", keep="last")
    scored = liao_score(last.drop(columns=[SITE_LEVEL_COLUMN]) if has_site else last,
                        subjects[["subject_id", "age_years"]])
    levels = pd.CategoricalDtype(LIAO_LEVELS, ordered=True)
    computed = scored["liao_level"].astype(levels).where(measured.loc[last.index].to_numpy())
    site = (last[SITE_LEVEL_COLUMN] if has_site else pd.Series(pd.NA, index=last.index)).astype(object)
    site = site.where(site.notna(), None).astype(levels)
    use_site = site.notna()
    return pd.DataFrame({
        "subject_id": scored["subject_id"].to_numpy(),
        "liao_total_at_screening": scored["liao_total"].where(measured.loc[last.index]).to_numpy(),
        "liao_level_at_screening": pd.Categorical(site.where(use_site, computed), dtype=levels),
        "liao_incomplete_at_screening": scored["incomplete"].where(measured.loc[last.index]).to_numpy(),
        "liao_level_computed_at_screening": pd.Categorical(computed, dtype=levels),
        "liao_level_site_at_screening": pd.Categorical(site, dtype=levels),
        "liao_level_source_at_screening": pd.Series(use_site.to_numpy()).map({True: "site", False: "computed"})
        .to_numpy(),
    })


def assess_eligibility(subjects: pd.DataFrame) -> pd.DataFrame:
    """Each subject against each criterion, in long form.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id`` and the columns named in ``eligibility.csv``
        (``liao_level_at_screening`` missing = not assessed, counted as not met).

    Returns
    -------
    DataFrame
        ``subject_id``, ``criterion``, ``kind`` (inclusion/exclusion), ``label``, ``met``
        (bool: the subject satisfies this requirement for eligibility).
    """
    rows = []
    for c in eligibility_criteria().itertuples(index=False):
        wanted = [v == "True" if v in ("True", "False") else v for v in c.eligible_values.split("|")]
        met = subjects[c.column].astype(object).isin(wanted).to_numpy()
        rows.append(pd.DataFrame({"subject_id": subjects["subject_id"].to_numpy(),
                                  "criterion": c.criterion, "kind": c.kind,
                                  "label": c.label, "met": met}))
    return pd.concat(rows, ignore_index=True)


def site_level_agreement(subjects: pd.DataFrame) -> pd.DataFrame:
    """Screening level computed with the adult score against the level assessed at the site.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``liao_level_computed_at_screening`` and ``liao_level_site_at_screening``
        (from :func:`screening_liao`; missing = not available).

    Returns
    -------
    DataFrame
        One row per pair of levels that occurs among the subjects with both levels, computed level
        then site level in ``LIAO_LEVELS`` order: ``computed_level``, ``site_level`` (text),
        ``n_subjects`` (int), ``agree`` (bool: the same level), ``same_eligibility`` (bool: both
        levels meet the Liao criterion of ``eligibility.csv`` (orange or red), or neither). Empty
        (these columns) when no subject has both.

    Examples
    --------
    >>> s = pd.DataFrame({"subject_id": ["A", "B", "C"],
    ...     "liao_level_computed_at_screening": ["orange", "orange", "red"],
    ...     "liao_level_site_at_screening": ["yellow", "orange", None]})
    >>> site_level_agreement(s).values.tolist()
    [['orange', 'yellow', 1, False, False], ['orange', 'orange', 1, True, True]]
    """
    pair = subjects[["liao_level_computed_at_screening", "liao_level_site_at_screening"]].astype(object)
    pair = pair[pair.notna().all(axis=1)]
    columns = ["computed_level", "site_level", "n_subjects", "agree", "same_eligibility"]
    if pair.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, (object, object, "int64", bool, bool))})
    counts = (pair.groupby(list(pair.columns), sort=False).size().rename("n_subjects").reset_index()
              .set_axis(["computed_level", "site_level", "n_subjects"], axis=1))
    rank = {lv: i for i, lv in enumerate(LIAO_LEVELS)}
    counts = counts.sort_values(["computed_level", "site_level"], key=lambda c: c.map(rank)).reset_index(drop=True)
    criteria = eligibility_criteria()
    high = set("|".join(criteria.loc[criteria["column"] == "liao_level_at_screening", "eligible_values"]).split("|"))
    counts["agree"] = counts["computed_level"] == counts["site_level"]
    counts["same_eligibility"] = counts["computed_level"].isin(high) == counts["site_level"].isin(high)
    counts["n_subjects"] = counts["n_subjects"].astype("int64")
    return counts[columns]
