"""Analysis populations: screened, eligible, enrolled, treated.

Eligibility criteria are data (``definitions/eligibility.csv``); the Liao criterion uses the
score at the screening assessment: the last vital-sign assessment dated on the screening day.
"""
from __future__ import annotations

import pandas as pd

from ..definitions import eligibility_criteria
from .liao_score import LIAO_PARAMETERS, liao_score

__all__ = ["POPULATIONS", "eligibility_criteria", "screening_liao", "assess_eligibility"]

POPULATIONS = ("screened", "eligible", "enrolled", "treated")


def screening_liao(subjects: pd.DataFrame, vitals: pd.DataFrame) -> pd.DataFrame:
    """Liao (NEWS-C) score of each subject's screening assessment.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``screened_on`` (date), ``age_years``.
    vitals : DataFrame
        The vitals table of the cut (see the data dictionary).

    Returns
    -------
    DataFrame
        One row per subject with a vital-sign assessment on the screening day (a row with
        no vital sign at all does not count):
        ``subject_id``, ``liao_total_at_screening``, ``liao_level_at_screening``,
        ``liao_incomplete_at_screening`` (the assessment lacked a parameter, so the score
        is a lower bound).
    """
    # A join, not Series.map: pandas' map fails on an empty mapping of dates (a cut in which
    # nobody has been screened yet).
    screened_on = vitals[["subject_id"]].merge(subjects[["subject_id", "screened_on"]], on="subject_id",
                                               how="left")["screened_on"].set_axis(vitals.index)
    # A row with no vital sign at all is not an assessment: scored, it would read as a (lower
    # bound) green and hide that the screening level is unknown.
    physiology = [c for c in dict.fromkeys(LIAO_PARAMETERS.values()) if c in vitals.columns]
    measured = vitals[physiology].notna().any(axis=1)
    on_day = vitals[(vitals["measured_at"].dt.normalize() == screened_on) & measured]
    last = on_day.sort_values("measured_at", kind="stable").drop_duplicates("subject_id", keep="last")
    scored = liao_score(last, subjects[["subject_id", "age_years"]])
    return pd.DataFrame({
        "subject_id": scored["subject_id"].to_numpy(),
        "liao_total_at_screening": scored["liao_total"].to_numpy(),
        "liao_level_at_screening": scored["liao_level"].to_numpy(),
        "liao_incomplete_at_screening": scored["incomplete"].to_numpy(),
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
