"""Adverse events: treatment-emergent AEs, worst grade per subject, serious AEs and deaths.

Rules (CTCAE version, related categories, infusion-reaction window) are data in
``msc_analysis/definitions/safety.yaml``, read by
:func:`msc_analysis.definitions.safety_definitions`; a keyword argument
left at ``None`` takes its value from there. Conventions (``docs/endpoints/08_safety.md``):
day 0 is the infusion day and an AE is treatment-emergent when its onset is on or after it;
"related" is possible/probable/definite, with a missing assessment counted as related; an
infusion reaction is ``infusion_related`` with onset on day 0 or 1 (onset is a date only, so
"within 24 h" is read on days); a subject counts once per summary row, at their worst grade.
The listings (one row per AE or death) are in :mod:`.ae_listings`, the tables by organ class and
by relatedness in :mod:`.ae_by_class`; both are offered here too.
"""
from __future__ import annotations

import pandas as pd

from ..definitions import safety_definitions
from ..derive.checks import isin, require_columns
from ..report.rule_texts import relatedness_rule
from ..stats.binomial import EXACT_CI_METHOD, exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, with_reason
from .ae_listings import (LISTING_COLUMNS, adverse_event_listing, death_listing, infusion_reaction_listing,
                          late_infusion_related_listing, pre_infusion_listing, serious_ae_listing,
                          treatment_emergent_of)
from .ae_by_class import RELATEDNESS_ROWS, SOC_TERM_COLUMNS, adverse_events_by_soc_and_term, relatedness_by_grade

__all__ = ["classify_adverse_events", "SUMMARY_CATEGORIES",
           "subjects_with_adverse_events", "adverse_events_by_term", "onset_counts",
           "adverse_event_listing", "serious_ae_listing", "infusion_reaction_listing", "pre_infusion_listing",
           "late_infusion_related_listing",
           "death_listing", "headline_measures", "PERIODS", "LISTING_COLUMNS",
           "adverse_events_by_soc_and_term", "SOC_TERM_COLUMNS", "relatedness_by_grade", "RELATEDNESS_ROWS"]

#: ``period`` of an AE relative to the infusion.
PERIODS = ("treatment-emergent", "before infusion", "not infused")

#: Rows of :func:`subjects_with_adverse_events`, in display order.
SUMMARY_CATEGORIES = ("any_teae", "worst_grade_1", "worst_grade_2", "worst_grade_3",
                      "worst_grade_4", "worst_grade_5", "grade_3_plus", "serious_ae",
                      "related_ae", "related_ae_not_assessed", "infusion_reaction", "fatal_ae")

_AE_COLUMNS = ("subject_id", "term", "grade", "serious", "related", "infusion_related",
               "days_since_infusion")


def classify_adverse_events(adverse_events: pd.DataFrame, *, related_categories=None,
                            missing_relatedness_counts_as_related: bool | None = None,
                            infusion_reaction_days: tuple[int, int] | None = None) -> pd.DataFrame:
    """Flag each AE: period, treatment-emergent, related, infusion reaction, fatal.

    Parameters
    ----------
    adverse_events : DataFrame
        One row per AE: ``subject_id``, ``term``, ``grade`` (CTCAE 1-5), ``serious`` (bool),
        ``related`` (unrelated, unlikely, possible, probable, definite or missing),
        ``infusion_related`` (bool), ``days_since_infusion`` of the onset (infusion day = 0;
        missing if the subject was not infused); optional ``resolved_on`` and ``onset_on``
        (dates) for the day of resolution.
    related_categories : sequence of str, optional
        Categories that count as related (default from safety.yaml: possible, probable, definite).
    missing_relatedness_counts_as_related : bool, optional
        Whether an AE without a relationship assessment counts as related (default: yes).
    infusion_reaction_days : (int, int), optional
        First and last day since the infusion of an infusion reaction (default: (0, 1)).

    Returns
    -------
    DataFrame
        A copy of the input with ``period`` (one of :data:`PERIODS`), ``treatment_emergent``,
        ``relatedness_missing``, ``related_to_msc``, ``infusion_reaction``, ``fatal``
        (grade 5) (all bool) and ``resolved_days_since_infusion`` (Int64; missing while
        ongoing or without dates).

    Examples
    --------
    >>> ae = pd.DataFrame({"subject_id": ["A", "A"], "term": ["Fever", "Chills"],
    ...     "grade": [1, 2], "serious": [False, False], "related": ["possible", None],
    ...     "infusion_related": [True, True], "days_since_infusion": [-1, 1]})
    >>> classify_adverse_events(ae)[["period", "related_to_msc", "infusion_reaction"]].values.tolist()
    [['before infusion', True, False], ['treatment-emergent', True, True]]
    """
    require_columns(adverse_events, _AE_COLUMNS, "adverse_events")
    rules = safety_definitions()["adverse_events"]
    categories = rules["related_categories"] if related_categories is None else related_categories
    count_missing = (rules["missing_relatedness_counts_as_related"] if missing_relatedness_counts_as_related is None
                     else missing_relatedness_counts_as_related)
    first, last = (int(d) for d in (infusion_reaction_days or (rules["infusion_reaction_first_day"],
                                                                rules["infusion_reaction_last_day"])))
    if first > last:
        raise ValueError(f"infusion_reaction_days must be (first, last) with first <= last, got {(first, last)}")
    if isinstance(categories, str):
        raise ValueError("related_categories must be a list of categories, not one string")

    ae = adverse_events.copy()
    day = pd.to_numeric(ae["days_since_infusion"]).astype("Int64")
    infused = day.notna()
    te = (day >= 0).fillna(False).astype(bool)
    related = ae["related"].astype("string").str.strip().str.lower()
    missing_rel = related.isna() | (related == "")
    is_related = related.isin([c.lower() for c in categories]).fillna(False).astype(bool)
    if count_missing:
        is_related = is_related | missing_rel
    period = pd.Series("not infused", index=ae.index, dtype=object)
    period[infused] = "before infusion"
    period[te] = "treatment-emergent"
    in_window = ((day >= first) & (day <= last)).fillna(False).astype(bool)
    ae["period"] = pd.Categorical(period, categories=PERIODS)
    ae["treatment_emergent"] = te
    ae["relatedness_missing"] = missing_rel.fillna(True).astype(bool)
    ae["related_to_msc"] = is_related.astype(bool)
    ae["infusion_reaction"] = te & in_window & ae["infusion_related"].fillna(False).astype(bool)
    ae["fatal"] = (pd.to_numeric(ae["grade"]) == 5).fillna(False).astype(bool)
    resolved = pd.Series(pd.NA, index=ae.index, dtype="Int64")
    if "resolved_on" in ae and "onset_on" in ae:
        duration = (ae["resolved_on"] - ae["onset_on"]).dt.days
        resolved = (day + pd.array(duration, dtype="Int64")).astype("Int64")
    ae["resolved_days_since_infusion"] = resolved
    return ae


def subjects_with_adverse_events(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Treated subjects with at least one treatment-emergent AE, by category.

    Parameters
    ----------
    flagged : DataFrame
        Output of :func:`classify_adverse_events`.
    treated : DataFrame
        The treated population, one row per subject (``subject_id``): the denominator,
        including subjects without any AE.

    Returns
    -------
    DataFrame
        One row per :data:`SUMMARY_CATEGORIES` entry: ``category``; ``n_subjects`` (subjects
        counted once; ``worst_grade_g`` counts subjects whose worst treatment-emergent grade is
        g, so those five rows add up to ``any_teae``); ``n_events`` (treatment-emergent AEs
        in the category; missing for the worst-grade rows); ``n_treated``; ``estimate_prop``,
        ``ci95_lower``, ``ci95_upper`` (exact Clopper-Pearson; missing when no subject was
        treated). ``related_ae_not_assessed`` counts subjects with an AE whose relationship
        was not assessed (included in ``related_ae`` when missing counts as related).

    Examples
    --------
    >>> ae = classify_adverse_events(pd.DataFrame({"subject_id": ["A", "A"], "term": ["Fever"] * 2,
    ...     "grade": [1, 3], "serious": [False, True], "related": ["possible", "unrelated"],
    ...     "infusion_related": [False, False], "days_since_infusion": [0, 4]}))
    >>> s = subjects_with_adverse_events(ae, pd.DataFrame({"subject_id": ["A", "B"]}))
    >>> s.set_index("category").loc[["any_teae", "worst_grade_1", "worst_grade_3"], "n_subjects"].tolist()
    [1, 0, 1]
    """
    te = treatment_emergent_of(flagged, treated)
    n_treated = int(treated["subject_id"].nunique())
    worst = te.groupby("subject_id")["grade"].max()
    masks = {
        "any_teae": pd.Series(True, index=te.index),
        "grade_3_plus": te["grade"] >= 3,
        "serious_ae": te["serious"],
        "related_ae": te["related_to_msc"],
        "related_ae_not_assessed": te["relatedness_missing"],
        "infusion_reaction": te["infusion_reaction"],
        "fatal_ae": te["fatal"],
    }
    rows = []
    for category in SUMMARY_CATEGORIES:
        if category.startswith("worst_grade_"):
            grade = int(category.rsplit("_", 1)[1])
            rows.append((category, int((worst == grade).sum()), pd.NA))
        else:
            hit = te.loc[masks[category]]
            rows.append((category, int(hit["subject_id"].nunique()), len(hit)))
    out = pd.DataFrame(rows, columns=["category", "n_subjects", "n_events"])
    out["n_events"] = out["n_events"].astype("Int64")
    ci = exact_proportion(out["n_subjects"], [n_treated] * len(out))
    out["n_treated"] = n_treated
    return pd.concat([out, ci[["estimate_prop", "ci95_lower", "ci95_upper"]]], axis=1)


def adverse_events_by_term(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """Treated subjects with each treatment-emergent AE term, at their worst grade for that term.

    Terms are matched ignoring case and surrounding spaces; a subject with the same term
    twice counts once, at the worse of the two grades.

    Parameters
    ----------
    flagged : DataFrame
        Output of :func:`classify_adverse_events`.
    treated : DataFrame
        Treated population (``subject_id``), the denominator.

    Returns
    -------
    DataFrame
        One row per term, most frequent first: ``term``, ``n_subjects_grade_1`` ...
        ``n_subjects_grade_5`` (subjects whose worst grade for the term is g),
        ``n_subjects_any_grade``, ``n_subjects_grade_3_plus``, ``n_events``, ``n_treated``,
        ``any_grade_prop`` (missing when nobody was treated).
    """
    te = treatment_emergent_of(flagged, treated)
    n_treated = int(treated["subject_id"].nunique())
    grade_cols = [f"n_subjects_grade_{g}" for g in range(1, 6)]
    columns = ["term", *grade_cols, "n_subjects_any_grade", "n_subjects_grade_3_plus",
               "n_events", "n_treated", "any_grade_prop"]
    if te.empty:
        return pd.DataFrame({c: pd.Series(dtype=object if c == "term" else "float64") for c in columns})
    te = te.assign(term_key=te["term"].astype(str).str.strip().str.casefold())
    label = te.groupby("term_key")["term"].agg(lambda t: sorted(t.astype(str).str.strip())[0])
    worst = te.groupby(["term_key", "subject_id"])["grade"].max().reset_index()
    counts = (worst.groupby(["term_key", "grade"]).size().unstack(fill_value=0)
              .reindex(columns=range(1, 6), fill_value=0))
    counts.columns = grade_cols
    out = counts.assign(
        n_subjects_any_grade=counts.sum(axis=1),
        n_subjects_grade_3_plus=counts[grade_cols[2:]].sum(axis=1),
        n_events=te.groupby("term_key").size(),
        n_treated=n_treated,
    )
    out["any_grade_prop"] = out["n_subjects_any_grade"] / n_treated if n_treated else float("nan")
    out.insert(0, "term", label)
    out = out.sort_values(["n_subjects_any_grade", "n_subjects_grade_3_plus", "term"],
                          ascending=[False, False, True])
    return out.reset_index(drop=True)[columns]


def onset_counts(flagged: pd.DataFrame, treated: pd.DataFrame) -> pd.DataFrame:
    """AEs of treated subjects counted by day of onset and grade (for the onset figure).

    Returns
    -------
    DataFrame
        ``days_since_infusion`` (onset; negative before the infusion), ``grade``,
        ``n_events``: one row per (day, grade) with at least one event, in day order.
    """
    require_columns(flagged, ("subject_id", "grade", "days_since_infusion"), "flagged")
    ids = set(treated["subject_id"].astype(str))
    ae = flagged[isin(flagged["subject_id"].astype(str), ids) & flagged["days_since_infusion"].notna()]
    out = (ae.assign(days_since_infusion=ae["days_since_infusion"].astype(int), grade=ae["grade"].astype(int))
           .groupby(["days_since_infusion", "grade"]).size().rename("n_events").reset_index())
    return out.astype({"days_since_infusion": int, "grade": int, "n_events": int})


def headline_measures(summary: pd.DataFrame, deaths: pd.DataFrame, rules: dict | None = None) -> pd.DataFrame:
    """Headline AE numbers, ready for :func:`~msc_analysis.report.results.result_rows`.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`subjects_with_adverse_events`.
    deaths : DataFrame
        Output of :func:`death_listing`.
    rules : dict, optional
        The rules the AEs were classified with, for the ``method`` text (default:
        :func:`~msc_analysis.definitions.safety_definitions`).

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``,
        ``method``: ``any_teae_prop``, ``serious_ae_prop``, ``related_ae_prop``,
        ``infusion_reaction_prop``, ``grade_3_plus_prop``, ``fatal_ae_prop`` (proportions of
        the treated population with at least one such treatment-emergent AE, exact CIs;
        ``group`` is ``treated``) and ``deaths`` (count of treated subjects with a recorded
        death, any cause). Without treated subjects the proportions are missing and the
        ``method`` says "not estimable: no subject infused yet".
    """
    rules = rules or safety_definitions()
    a = rules["adverse_events"]
    related = relatedness_rule(rules)
    what = {
        "any_teae": "treatment-emergent AE",
        "serious_ae": "serious treatment-emergent AE",
        "related_ae": f"treatment-emergent AE related to MSC ({related})",
        "infusion_reaction": (f"infusion reaction (infusion-related, onset day "
                              f"{a['infusion_reaction_first_day']}-{a['infusion_reaction_last_day']})"),
        "grade_3_plus": "treatment-emergent AE of grade 3 or higher",
        "fatal_ae": "grade-5 (fatal) treatment-emergent AE",
    }
    s = summary.set_index("category")
    n_treated = int(s["n_treated"].iloc[0]) if len(s) else 0
    rows = []
    for category, text in what.items():
        r = s.loc[category]
        rows.append(dict(measure=f"{category}_prop", group="treated", estimate=r["estimate_prop"],
                         ci95_lower=r["ci95_lower"], ci95_upper=r["ci95_upper"], n=n_treated,
                         unit="proportion",
                         method=with_reason(f"subjects with >=1 {text}, each counted once; CTCAE "
                                            f"v{rules['ctcae_version']}; {EXACT_CI_METHOD}",
                                            "" if n_treated else NO_SUBJECT_INFUSED)))
    rows.append(dict(measure="deaths", group="treated", estimate=int(deaths["died"].sum()), n=n_treated,
                     unit="subjects", method="count of treated subjects with a recorded death date, any cause"))
    return pd.DataFrame(rows)
