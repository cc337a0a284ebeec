"""Page cells of the organ-class AE tables of ``08_safety``: SOC x term x worst grade (AET02/AET04),
relatedness x grade, event rates per 100 subject-days, uncoded terms and the coded AE listing.

Each function takes the tidy output of the endpoint function named in its docstring and returns
text cells (built with :mod:`.formats`) for :meth:`msc_analysis.report.page.Page.table`.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["format_soc_term_table", "format_relatedness_by_grade", "format_event_rates",
           "format_uncoded_terms", "format_coded_listing"]

_INDENT = "\u2003"  # an em space: a term sits under its organ class


def _resolved(day) -> str:
    return "" if pd.isna(day) else f"resolved (day {int(day)})"


def _yes_no(value) -> str:
    return formats.DASH if formats.is_missing(value) else ("yes" if bool(value) else "no")


def format_soc_term_table(table: pd.DataFrame) -> pd.DataFrame:
    """System organ class and term rows: subjects by worst grade, any grade n (%), grade >= 3, events.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~msc_analysis.endpoints.adverse_events.adverse_events_by_soc_and_term`.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["any", "soc", "term"], "soc": ["", "X", "X"], "term": ["", "", "Fever"],
    ...     **{f"n_subjects_grade_{g}": [1, 1, 1] if g == 2 else [0, 0, 0] for g in range(1, 6)},
    ...     "n_subjects_any_grade": 1, "n_subjects_grade_3_plus": 0, "n_events": 2, "n_treated": 4})
    >>> format_soc_term_table(t)["System organ class / term"].tolist()
    ['Any treatment-emergent AE', 'X', '\u2003Fever']
    """
    label = [("Any treatment-emergent AE" if lv == "any" else soc if lv == "soc" else _INDENT + term)
             for lv, soc, term in zip(table["level"], table["soc"].astype(str), table["term"].astype(str))]
    out = pd.DataFrame({"System organ class / term": label})
    for g in range(1, 6):
        out[f"Grade {g}"] = [formats.count(k) for k in table[f"n_subjects_grade_{g}"]]
    out["Any grade, n (% of treated)"] = [formats.count_pct(k, n) for k, n in
                                          zip(table["n_subjects_any_grade"], table["n_treated"])]
    out["Grade 3 or higher, n (%)"] = [formats.count_pct(k, n) for k, n in
                                       zip(table["n_subjects_grade_3_plus"], table["n_treated"])]
    out["Events"] = [formats.count(k) for k in table["n_events"]]
    return out


def format_relatedness_by_grade(table: pd.DataFrame) -> pd.DataFrame:
    """Events by the investigator's relationship assessment and grade, with subjects.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~msc_analysis.endpoints.adverse_events.relatedness_by_grade`.
    """
    out = pd.DataFrame({"Relationship to MSC (investigator)": table["related"].astype(str).to_numpy(),
                        "Counted as related": [_yes_no(v) for v in table["counts_as_related"]]})
    for g in range(1, 6):
        out[f"Grade {g} events"] = [formats.count(k) for k in table[f"n_events_grade_{g}"]]
    out["All events"] = [formats.count(k) for k in table["n_events"]]
    out["Subjects, n (% of treated)"] = [formats.count_pct(k, n) for k, n in
                                         zip(table["n_subjects"], table["n_treated"])]
    return out


def format_event_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Events per 100 subject-days with the exact Poisson interval, in total and by organ class.

    Parameters
    ----------
    rates : DataFrame
        Output of :func:`~msc_analysis.endpoints.ae_coding.events_per_100_subject_days`.
    """
    return pd.DataFrame({
        "System organ class": ["All treatment-emergent AEs" if s == "all" else s for s in rates["soc"].astype(str)],
        "Events": [formats.count(k) for k in rates["n_events"]],
        "Subject-days of follow-up": [formats.count(d) for d in rates["subject_days"]],
        "Events per 100 subject-days (95% CI)": [
            formats.number_interval(e, lo, hi, 2) for e, lo, hi in
            zip(rates["events_per_100_subject_days"], rates["ci95_lower"], rates["ci95_upper"])],
    })


def format_uncoded_terms(uncoded: pd.DataFrame) -> pd.DataFrame:
    """Reported AE terms that no coding covers, with the nearest CTCAE terms.

    Parameters
    ----------
    uncoded : DataFrame
        Output of :func:`~msc_analysis.endpoints.ae_coding.uncoded_terms`.
    """
    return pd.DataFrame({
        "Reported term": uncoded["term"].astype(str).to_numpy(),
        "Events": [formats.count(k) for k in uncoded["n_events"]],
        "Nearest CTCAE v5.0 terms": [s if s else "none close" for s in uncoded["suggestions"].astype(str)],
    })


def format_coded_listing(listing: pd.DataFrame) -> pd.DataFrame:
    """Every AE with its organ class, onset day, duration, grade, seriousness, relationship and outcome.

    Duration is resolution minus onset in days ("ongoing" without a resolution date); the outcome
    is "fatal" (grade 5), "resolved (day d)" or "ongoing at the cutoff".

    Parameters
    ----------
    listing : DataFrame
        Output of :func:`~msc_analysis.endpoints.ae_listings.adverse_event_listing` with ``soc``
        and ``pt`` (coded AEs).

    Examples
    --------
    >>> l = pd.DataFrame({"subject_id": ["A", "A"], "term": ["Fever", "Feverr"], "pt": ["Fever", "Feverr"],
    ...     "soc": ["General", "uncoded"], "days_since_infusion": [1, 2], "resolved_days_since_infusion": [4, None],
    ...     "grade": [1, 2], "serious": [False, True], "related": ["possible", None], "related_to_msc": [True, True],
    ...     "period": "treatment-emergent"})
    >>> format_coded_listing(l)[["Duration, days", "Outcome"]].values.tolist()
    [['3', 'resolved (day 4)'], ['ongoing', 'ongoing at the cutoff']]
    """
    onset = pd.to_numeric(listing["days_since_infusion"], errors="coerce")
    end = pd.to_numeric(listing["resolved_days_since_infusion"], errors="coerce")
    no_onset, no_end = onset.isna().to_numpy(), end.isna().to_numpy()
    fatal = (pd.to_numeric(listing["grade"], errors="coerce") == 5).to_numpy()
    return pd.DataFrame({
        "Subject": listing["subject_id"].astype(str).to_numpy(),
        "AE term (as reported)": listing["term"].astype(str).to_numpy(),
        "Coded term": listing["pt"].astype(str).to_numpy(),
        "System organ class": listing["soc"].astype(str).to_numpy(),
        "Period": listing["period"].astype(str).to_numpy(),
        "Onset day": [formats.DASH if m else v for v, m in zip(formats.each(onset, formats.count), no_onset)],
        "Duration, days": [formats.DASH if m else ("ongoing" if e else d)
                           for d, e, m in zip(formats.each(end - onset, formats.count), no_end, no_onset)],
        "Grade": formats.each(listing["grade"], formats.count),
        "Serious": formats.each(listing["serious"], _yes_no),
        "Relationship (investigator)":
            listing["related"].astype("string").fillna("not assessed").astype(str).to_numpy(),
        "Counted as related": formats.each(listing["related_to_msc"], _yes_no),
        "Outcome": [formats.DASH if m else "fatal" if g else ("ongoing at the cutoff" if e else r)
                    for r, e, m, g in zip(formats.each(end, _resolved), no_end, no_onset, fatal)],
    })
