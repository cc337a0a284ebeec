"""Adverse-event listings: one row per event (or per death), sorted by subject and day.

The listings of ``08_safety``: every AE of the treated, serious AEs, AEs that are not
treatment-emergent, infusion-related AEs outside the reaction window, and deaths with the
grade-5 AE cross-check. Each takes the output of
:func:`~msc_analysis.endpoints.adverse_events.classify_adverse_events` (and the treated
population); the counts and summaries are in :mod:`~msc_analysis.endpoints.adverse_events`,
which also offers these functions under the same names.
"""
from __future__ import annotations

import pandas as pd

from ..derive.checks import isin, require_columns

__all__ = ["LISTING_COLUMNS", "treatment_emergent_of", "adverse_event_listing", "serious_ae_listing",
           "pre_infusion_listing", "late_infusion_related_listing", "death_listing", "NO_CAUSE",
           "infusion_reaction_listing"]

#: ``death_cause`` of a death without a recorded cause.
NO_CAUSE = "cause not recorded"

#: Columns of every AE listing (:func:`serious_ae_listing` and the others).
LISTING_COLUMNS = ("subject_id", "term", "period", "days_since_infusion",
                   "resolved_days_since_infusion", "grade", "serious", "related",
                   "related_to_msc", "infusion_related")


def treatment_emergent_of(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Treatment-emergent AEs of ``treated`` subjects (``subject_id`` as text, ``grade`` whole, ``serious`` bool)."""
    require_columns(flagged, ("treatment_emergent", "related_to_msc", "infusion_reaction", "fatal"),
                    "flagged adverse events (use classify_adverse_events first)")
    require_columns(treated, ("subject_id",), "treated")
    ids = set(treated["subject_id"].astype(str))
    keep = flagged["treatment_emergent"] & isin(flagged["subject_id"].astype(str), ids)
    return flagged.loc[keep].assign(subject_id=lambda f: f["subject_id"].astype(str),
                                    grade=lambda f: pd.to_numeric(f["grade"]).astype(int),
                                    serious=lambda f: f["serious"].fillna(False).astype(bool))


def adverse_event_listing(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Every AE of a treated subject (treatment-emergent or not), by subject and day of onset.

    Returns
    -------
    DataFrame
        The columns of :data:`LISTING_COLUMNS`, then ``soc`` and ``pt`` when the AEs are coded.

    Examples
    --------
    >>> from msc_analysis.endpoints.adverse_events import classify_adverse_events
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["B", "A", "C"], "term": ["Rash", "Fever", "Cough"],
    ...     "grade": [1, 2, 1], "serious": False, "related": None, "infusion_related": False,
    ...     "days_since_infusion": [3, -1, 2]}))
    >>> adverse_event_listing(ae, pd.DataFrame({"subject_id": ["A", "B"]}))["term"].tolist()
    ['Fever', 'Rash']
    """
    require_columns(treated, ("subject_id",), "treated")
    ids = set(treated["subject_id"].astype(str))
    return _listing(flagged[isin(flagged["subject_id"].astype(str), ids)])


def _listing(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows[list(LISTING_COLUMNS) + [c for c in ("soc", "pt") if c in rows]].copy()
    out["subject_id"] = out["subject_id"].astype(str)
    return out.sort_values(["subject_id", "days_since_infusion", "term"], na_position="last").reset_index(drop=True)


def serious_ae_listing(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Every serious AE of a treated subject (treatment-emergent or not), by subject and day.

    Returns
    -------
    DataFrame
        ``subject_id``, ``term``, ``period``, ``days_since_infusion`` (onset),
        ``resolved_days_since_infusion`` (missing while ongoing), ``grade``, ``serious``,
        ``related`` (investigator's category; missing = not assessed), ``related_to_msc``
        (the kit's rule), ``infusion_related``.
    """
    ids = set(treated["subject_id"].astype(str))
    rows = flagged[flagged["serious"].fillna(False).astype(bool) & isin(flagged["subject_id"].astype(str), ids)]
    return _listing(rows)


def pre_infusion_listing(flagged: pd.DataFrame) -> pd.DataFrame:
    """AEs that are not treatment-emergent: onset before the infusion, or subject never infused.

    Returns
    -------
    DataFrame
        The columns of :func:`serious_ae_listing`; ``period`` is "before infusion" or
        "not infused".
    """
    return _listing(flagged[~flagged["treatment_emergent"]])


def late_infusion_related_listing(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Treatment-emergent AEs the investigator called infusion-related outside the reaction window.

    They are counted as AEs (and as related if so assessed) but not as infusion reactions.

    Returns
    -------
    DataFrame
        The columns of :func:`serious_ae_listing`.
    """
    te = treatment_emergent_of(flagged, treated)
    return _listing(te[te["infusion_related"].fillna(False).astype(bool) & ~te["infusion_reaction"]])


def infusion_reaction_listing(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Every infusion reaction (``infusion_reaction``: infusion-related, onset in the reaction window,
    day 0-1 by default) of a treated subject, by subject and day.

    Returns
    -------
    DataFrame
        The columns of :func:`adverse_event_listing`.

    Examples
    --------
    >>> from msc_analysis.endpoints.adverse_events import classify_adverse_events
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["A", "A"], "term": ["Fever", "Chills"],
    ...     "grade": [1, 1], "serious": False, "related": "possible", "infusion_related": True,
    ...     "days_since_infusion": [0, 3]}))
    >>> infusion_reaction_listing(ae, pd.DataFrame({"subject_id": ["A"]}))["term"].tolist()
    ['Fever']
    """
    te = treatment_emergent_of(flagged, treated)
    return _listing(te[te["infusion_reaction"]])


def death_listing(treated: pd.DataFrame, flagged: pd.DataFrame) -> pd.DataFrame:
    """Every death of a treated subject, cross-referenced with grade-5 treatment-emergent AEs.

    Parameters
    ----------
    treated : DataFrame
        Treated subjects: ``subject_id``, ``infused_on``, ``died_on`` (dates; death from any cause).
    flagged : DataFrame
        Output of :func:`classify_adverse_events`.

    Returns
    -------
    DataFrame
        One row per treated subject who died or has a grade-5 AE: ``subject_id``, ``died``
        (bool; recorded death date), ``days_since_infusion`` (day of death; missing if no
        death date), ``death_cause`` (text: the optional ``subjects.death_cause``, "cause not
        recorded" when empty or absent, "" without a recorded death), ``grade_5_terms`` (text, "; "-separated; empty if none),
        ``grade_5_onset_days_since_infusion`` (earliest onset of a grade-5 AE),
        ``grade_5_related`` (bool; any grade-5 AE related by the kit's rule), ``cross_check``
        ("death with a grade-5 AE", "death without a grade-5 AE" or
        "grade-5 AE without a recorded death").

    Examples
    --------
    >>> from msc_analysis.endpoints.adverse_events import classify_adverse_events
    >>> d = pd.to_datetime
    >>> t = pd.DataFrame({"subject_id": ["A", "B"], "infused_on": d(["2020-08-01"] * 2),
    ...                   "died_on": d(["2020-08-11", None])})
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["A"], "term": ["Sepsis"], "grade": [5],
    ...     "serious": [True], "related": ["unrelated"], "infusion_related": [False], "days_since_infusion": [8]}))
    >>> death_listing(t, ae)[["subject_id", "days_since_infusion", "cross_check"]].values.tolist()
    [['A', 10, 'death with a grade-5 AE']]
    """
    require_columns(treated, ("subject_id", "infused_on", "died_on"), "treated")
    te = treatment_emergent_of(flagged, treated)
    g5 = te[te["fatal"]]
    by_subject = g5.groupby("subject_id").agg(
        grade_5_onset_days_since_infusion=("days_since_infusion", "min"),
        grade_5_related=("related_to_msc", "any"))
    terms: dict = {}
    for sid, term in zip(g5["subject_id"], g5["term"].astype(str)):
        terms.setdefault(sid, []).append(term)
    by_subject.insert(0, "grade_5_terms", pd.Series(["; ".join(sorted(terms[sid])) for sid in by_subject.index],
                                                    index=by_subject.index, dtype=object))
    died = treated[treated["died_on"].notna()]
    cause = (died["death_cause"].astype("string").str.strip() if "death_cause" in died
             else pd.Series(pd.NA, index=died.index, dtype="string"))
    deaths = pd.DataFrame({"subject_id": died["subject_id"].astype(str).to_numpy(), "died": True,
                           "days_since_infusion": (died["died_on"] - died["infused_on"]).dt.days.to_numpy(),
                           "death_cause": cause.where(cause.fillna("") != "", NO_CAUSE).astype(str).to_numpy()})
    out = deaths.merge(by_subject.reset_index(), on="subject_id", how="outer")
    has_g5 = out["grade_5_terms"].notna()
    out = out.astype({"days_since_infusion": "Int64", "grade_5_onset_days_since_infusion": "Int64"}).fillna(
        {"died": False, "grade_5_terms": "", "grade_5_related": False, "death_cause": ""})
    out = out.astype({"died": bool, "grade_5_terms": str, "grade_5_related": bool})
    check = pd.Series("death without a grade-5 AE", index=out.index, dtype=object)
    check[out["died"] & has_g5] = "death with a grade-5 AE"
    check[~out["died"]] = "grade-5 AE without a recorded death"
    out["cross_check"] = check
    return out.sort_values(["days_since_infusion", "subject_id"], na_position="last").reset_index(drop=True)
