"""Adverse events by organ class and preferred term (MedDRA, as coded at the site), and by relatedness and grade.

Part of the safety endpoint (:mod:`.adverse_events`, which offers these functions too): the
treatment-emergent AEs of the treated subjects, a subject counted once per row at their worst
grade. Rules (related categories, a missing assessment) are data in
``msc_analysis/definitions/safety.yaml``. Conventions: ``docs/endpoints/08_safety.md``.
"""
from __future__ import annotations

import pandas as pd

from ..definitions import safety_definitions
from ..derive.checks import require_columns
from .ae_listings import treatment_emergent_of

__all__ = ["adverse_events_by_soc_and_term", "SOC_TERM_COLUMNS", "relatedness_by_grade", "RELATEDNESS_ROWS"]


_GRADE_COLUMNS = tuple(f"n_subjects_grade_{g}" for g in range(1, 6))
#: Columns of :func:`adverse_events_by_soc_and_term`.
SOC_TERM_COLUMNS = ("level", "soc", "term", *_GRADE_COLUMNS, "n_subjects_any_grade",
                    "n_subjects_grade_3_plus", "n_events", "n_treated", "any_grade_prop")


def _worst_grade_row(rows: pd.DataFrame) -> dict:
    """Subjects (once, at their worst grade within ``rows``) per grade, and the events of ``rows``."""
    worst = rows.groupby("subject_id")["grade"].max()
    out = {c: int((worst == g).sum()) for g, c in enumerate(_GRADE_COLUMNS, start=1)}
    out.update(n_subjects_any_grade=int(len(worst)), n_subjects_grade_3_plus=int((worst >= 3).sum()),
               n_events=int(len(rows)))
    return out


def adverse_events_by_soc_and_term(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Subjects with treatment-emergent AEs by system organ class and term, at their worst grade (AET02/AET04).

    A subject counts once in a row, at the worst grade of their events in it: once per term, once
    per SOC (over all its terms) and once in the "any" row.

    Parameters
    ----------
    flagged : DataFrame
        Output of :func:`~.adverse_events.classify_adverse_events` on coded AEs
        (:func:`~msc_analysis.endpoints.ae_coding.code_adverse_events`: ``soc``, ``pt``).
    treated : DataFrame
        Treated population (``subject_id``), the denominator.

    Returns
    -------
    DataFrame
        :data:`SOC_TERM_COLUMNS`: ``level`` ("any", "soc" or "term"), ``soc`` ("" in the "any"
        row), ``term`` (the coded term; "" in "any" and "soc" rows), ``n_subjects_grade_1`` ...
        ``_5`` (subjects whose worst grade in the row is g), ``n_subjects_any_grade``,
        ``n_subjects_grade_3_plus``, ``n_events``, ``n_treated``, ``any_grade_prop`` (NaN when
        nobody was treated). The "any" row first, then SOCs by descending number of subjects
        (then name), each followed by its terms by descending number of subjects (then name).

    Examples
    --------
    >>> from msc_analysis.endpoints.adverse_events import classify_adverse_events
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["A", "A", "B"],
    ...     "term": ["Fever", "Chills", "Fever"], "soc": ["General"] * 3, "pt": ["Fever", "Chills", "Fever"],
    ...     "grade": [1, 3, 2], "serious": False, "related": "unrelated", "infusion_related": False,
    ...     "days_since_infusion": [1, 2, 3]}))
    >>> t = adverse_events_by_soc_and_term(ae, pd.DataFrame({"subject_id": ["A", "B", "C"]}))
    >>> t[["level", "term", "n_subjects_grade_2", "n_subjects_grade_3", "n_events"]].values.tolist()
    [['any', '', 1, 1, 3], ['soc', '', 1, 1, 3], ['term', 'Fever', 1, 0, 2], ['term', 'Chills', 0, 1, 1]]
    """
    require_columns(flagged, ("soc", "pt"), "flagged adverse events (code them with code_adverse_events first)")
    te = treatment_emergent_of(flagged, treated)
    n_treated = int(treated["subject_id"].nunique())
    rows = [dict(level="any", soc="", term="", **_worst_grade_row(te))]
    if not te.empty:
        te = te.assign(soc=te["soc"].astype(str), pt=te["pt"].astype(str))
        socs = sorted(((-te.loc[te["soc"] == s, "subject_id"].nunique(), s) for s in te["soc"].unique()))
        for _, soc in socs:
            in_soc = te[te["soc"] == soc]
            rows.append(dict(level="soc", soc=soc, term="", **_worst_grade_row(in_soc)))
            terms = sorted((-in_soc.loc[in_soc["pt"] == p, "subject_id"].nunique(), p) for p in in_soc["pt"].unique())
            rows += [dict(level="term", soc=soc, term=p, **_worst_grade_row(in_soc[in_soc["pt"] == p]))
                     for _, p in terms]
    out = pd.DataFrame(rows)
    out["n_treated"] = n_treated
    out["any_grade_prop"] = out["n_subjects_any_grade"] / n_treated if n_treated else float("nan")
    return out[list(SOC_TERM_COLUMNS)]


#: Rows of :func:`relatedness_by_grade`: the recorded assessment, in order of increasing likelihood.
RELATEDNESS_ROWS = ("unrelated", "unlikely", "possible", "probable", "definite", "not assessed")


def relatedness_by_grade(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Treatment-emergent AEs by the recorded relationship to MSC and by grade.

    Returns
    -------
    DataFrame
        One row per :data:`RELATEDNESS_ROWS` entry (another recorded text gets its own row after
        them): ``related`` (text), ``counts_as_related`` (bool, the kit's rule), ``n_events_grade_1``
        ... ``n_events_grade_5`` and ``n_events`` (events), ``n_subjects`` (subjects with >= 1
        such event, each counted once), ``n_treated``.

    Examples
    --------
    >>> from msc_analysis.endpoints.adverse_events import classify_adverse_events
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["A", "A", "B"], "term": ["Fever"] * 3,
    ...     "grade": [1, 3, 1], "serious": False, "related": ["possible", "possible", None],
    ...     "infusion_related": False, "days_since_infusion": [1, 2, 3]}))
    >>> r = relatedness_by_grade(ae, pd.DataFrame({"subject_id": ["A", "B"]})).set_index("related")
    >>> r.loc[["possible", "not assessed"], ["n_events_grade_1", "n_events_grade_3", "n_subjects"]].values.tolist()
    [[1, 1, 1], [1, 0, 1]]
    """
    te = treatment_emergent_of(flagged, treated)
    text = te["related"].astype("string").str.strip().str.lower().fillna("")
    te = te.assign(related=text.where(text != "", "not assessed").astype(str))
    extra = sorted(set(te["related"]) - set(RELATEDNESS_ROWS))
    rows = []
    for category in (*RELATEDNESS_ROWS, *extra):
        hit = te[te["related"] == category]
        rule = bool(hit["related_to_msc"].any()) if len(hit) else _counts_as_related(category)
        row = dict(related=category, counts_as_related=rule)
        row.update({f"n_events_grade_{g}": int((hit["grade"] == g).sum()) for g in range(1, 6)})
        row.update(n_events=int(len(hit)), n_subjects=int(hit["subject_id"].nunique()),
                   n_treated=int(treated["subject_id"].nunique()))
        rows.append(row)
    return pd.DataFrame(rows)


def _counts_as_related(category: str) -> bool:
    a = safety_definitions()["adverse_events"]
    if category == "not assessed":
        return bool(a["missing_relatedness_counts_as_related"])
    return category in [c.lower() for c in a["related_categories"]]
