"""Tables of the Liao (NEWS-C) page for the estimands of issue 13: the colour improvement beside its
secondary and sensitivity analyses, the outcomes of "clinical stability or discharge alive", and the
worst-rank composite of the score change (who is behind each visit is drawn under the score figure by
:mod:`msc_analysis.report.longitudinal_plots` and counted in the visit table).

Cells are written with :mod:`msc_analysis.report.formats`; the page numbers and titles them with
:meth:`msc_analysis.report.page.Page.table`. The other tables of the page: :mod:`.liao_tables`.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["improvement_variants_table", "stable_outcomes_table", "worst_rank_table", "children_note",
           "children_table", "site_agreement_table"]


def _not_estimable(reason) -> str:
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else formats.NE


def improvement_variants_table(variants: dict) -> pd.DataFrame:
    """The headline colour improvement beside its secondary and sensitivity analyses, by day.

    Parameters
    ----------
    variants : dict
        Label of the analysis (e.g. "Headline: evaluable by calendar") -> the frame of
        ``liao_improvement.improvement_proportions`` made that way.

    Returns
    -------
    DataFrame
        ``Analysis``, ``By day``, ``Denominator`` (subjects), ``of whom died``, ``Improved, n/N (%)``,
        ``Improved, % (exact 95% CI)``; one row per analysis and day, analyses in the order given.

    >>> p = pd.DataFrame({"horizon_day": [60], "n_evaluable": [8], "n_died": [1], "n_improved": [7],
    ...     "improved_prop": [0.875], "ci95_lower": [0.47349], "ci95_upper": [0.99684], "not_estimable_reason": [""]})
    >>> improvement_variants_table({"Headline": p}).iloc[0].tolist()
    ['Headline', '60', '8', '1', '7/8 (87.5%)', '87.5% (47.3% to 99.7%)']
    """
    rows = []
    for label, p in variants.items():
        reasons = p["not_estimable_reason"] if "not_estimable_reason" in p else [""] * len(p)
        for r, reason in zip(p.itertuples(), reasons):
            rows.append({"Analysis": label, "By day": formats.days(r.horizon_day),
                         "Denominator": formats.count(r.n_evaluable), "of whom died": formats.count(r.n_died),
                         "Improved, n/N (%)": (formats.count_pct(r.n_improved, r.n_evaluable, of=True)
                                               if r.n_evaluable else formats.DASH),
                         "Improved, % (exact 95% CI)": (formats.pct_interval(r.improved_prop, r.ci95_lower,
                                                                             r.ci95_upper)
                                                        if not formats.is_missing(r.improved_prop)
                                                        else _not_estimable(reason))})
    return pd.DataFrame(rows, columns=["Analysis", "By day", "Denominator", "of whom died", "Improved, n/N (%)",
                                       "Improved, % (exact 95% CI)"])


_STABLE_ORDER = (("low score held", "Clinically stable first (score without age at most the low score, held)"),
                 ("discharged alive", "Discharged alive first"))


def stable_outcomes_table(stable: pd.DataFrame) -> pd.DataFrame:
    """Subjects by outcome of the headline "clinical stability or discharge alive", ``n (%)`` of the treated.

    ``stable`` comes from ``liao_improvement.stable_or_discharged`` (``event``, ``first_event``).

    >>> s = pd.DataFrame({"event": [1, 1, 2, 0], "first_event": ["low score held", "discharged alive", "", ""]})
    >>> stable_outcomes_table(s)["Subjects, n (%)"].tolist()
    ['1 (25.0%)', '1 (25.0%)', '1 (25.0%)', '1 (25.0%)', '4']
    """
    n = len(stable)
    event, kind = stable["event"].astype(int).to_numpy(), stable["first_event"].astype(str).to_numpy()
    rows = [(label, ((event == 1) & (kind == k)).sum()) for k, label in _STABLE_ORDER]
    rows += [("Died first (competing event)", (event == 2).sum()),
             ("Censored (alive in hospital at the end of follow-up)", (event == 0).sum())]
    out = pd.DataFrame({"Outcome": [r[0] for r in rows],
                        "Subjects, n (%)": [formats.count_pct(int(k), n) for _, k in rows]})
    return pd.concat([out, pd.DataFrame({"Outcome": ["Total"], "Subjects, n (%)": [formats.count(n)]})],
                     ignore_index=True)


_STATE_CELL = {"died": "died", "discharged": "discharged alive"}


def _rank_cell(value, state) -> str:
    return _STATE_CELL.get(state, formats.number(value, 1) if not formats.is_missing(value) else formats.DASH)


def worst_rank_table(worst_rank: pd.DataFrame) -> pd.DataFrame:
    """The worst-rank composite of the score change by visit (``liao_improvement.score_change_worst_rank``).

    Returns
    -------
    DataFrame
        ``Visit``, ``Window closed, with baseline`` (the population), ``Died``, ``Measured``,
        ``Discharged alive, no value``, ``Left out: lost to follow-up``, ``Left out: no value``,
        ``Median (Q1 to Q3), points`` (a quantile on a death or a discharge is written as such), ``Died, %
        (exact 95% CI)``.

    >>> w = pd.DataFrame({"visit": ["Day 28"], "n_evaluable": [5], "n_died": [2], "n_measured": [1],
    ...     "n_discharged": [2], "n_lost_to_follow_up": [0], "n_no_value": [0], "n_ranked": [5],
    ...     "worst_rank_median": [-3.0], "worst_rank_median_state": ["value"], "worst_rank_q1": [float("nan")],
    ...     "worst_rank_q1_state": ["discharged"], "worst_rank_q3": [float("nan")], "worst_rank_q3_state": ["died"],
    ...     "died_prop": [0.4], "died_ci95_lower": [0.0527], "died_ci95_upper": [0.8534], "not_estimable_reason": [""]})
    >>> worst_rank_table(w).iloc[0].tolist()[-2:]
    ['-3.0 (discharged alive to died)', '40.0% (5.3% to 85.3%)']
    """
    w = worst_rank
    reasons = w["not_estimable_reason"] if "not_estimable_reason" in w else [""] * len(w)
    def quartiles(r) -> str:
        median = _rank_cell(r.worst_rank_median, r.worst_rank_median_state)
        return (f"{median} ({_rank_cell(r.worst_rank_q1, r.worst_rank_q1_state)} to "
                f"{_rank_cell(r.worst_rank_q3, r.worst_rank_q3_state)})")

    median = [quartiles(r) if r.n_ranked else _not_estimable(reason) for r, reason in zip(w.itertuples(), reasons)]
    return pd.DataFrame({
        "Visit": w["visit"].astype(str).to_numpy(),
        "Window closed, with baseline": [formats.count(v) for v in w["n_evaluable"]],
        "Died": [formats.count(v) for v in w["n_died"]], "Measured": [formats.count(v) for v in w["n_measured"]],
        "Discharged alive, no value": [formats.count(v) for v in w["n_discharged"]],
        "Left out: lost to follow-up": [formats.count(v) for v in w["n_lost_to_follow_up"]],
        "Left out: no value": [formats.count(v) for v in w["n_no_value"]],
        "Median (Q1 to Q3), points": median,
        "Died, % (exact 95% CI)": [
            formats.pct_interval(p, lo, hi) if not formats.is_missing(p) else _not_estimable(reason)
            for p, lo, hi, reason in zip(w["died_prop"], w["died_ci95_lower"], w["died_ci95_upper"], reasons)]})


def _level(value) -> str:
    return formats.DASH if formats.is_missing(value) else str(value)


def children_note(n_children: int, n_subjects: int, min_age_years: float, excluded: bool = False) -> str:
    """Footnote of every Liao-based result: how many children it includes.

    >>> children_note(0, 31, 16.0)
    'Children: 0 of the 31 treated subjects are younger than 16 years (the NEWS2 lower age limit); the Liao (NEWS-C) score is an adult score.'
    >>> children_note(2, 31, 16.0)[:85]
    'Children: 2 of the 31 treated subjects are younger than 16 years (the NEWS2 lower age'
    """
    text = (f"Children: {formats.count(n_children)} of the {formats.count(n_subjects)} treated subjects are "
            f"younger than {min_age_years:g} years (the NEWS2 lower age limit); the Liao (NEWS-C) score is an "
            "adult score.")
    if n_children and excluded:
        return text + " They are left out of the Liao results of this page (parameter exclude_children)."
    if n_children:
        return (text + " They are scored with the adult bands and included here; the results without them are "
                "a sensitivity analysis.")
    return text


def children_table(children: pd.DataFrame) -> pd.DataFrame:
    """Listing of the children scored with the adult bands (``derive.liao_score.children_scored_adult``).

    ``children`` holds ``subject_id``, ``age_years`` and, when available, ``treated`` and the screening
    columns of ``derive.populations.screening_liao``. Returns ``Subject``, ``Age (years)``, ``Treated``,
    ``Screening level, adult score``, ``Screening level, site``, ``Level used for eligibility``, ``Eligible``.

    >>> c = pd.DataFrame({"subject_id": ["C1"], "age_years": [8.0], "treated": [False],
    ...     "liao_level_computed_at_screening": ["yellow"], "liao_level_site_at_screening": [None],
    ...     "liao_level_at_screening": ["yellow"], "eligible": [False]})
    >>> children_table(c).iloc[0].tolist()
    ['C1', '8', 'no', 'yellow', '–', 'yellow', 'no']
    """
    def col(name):
        return children[name] if name in children else pd.Series([None] * len(children), index=children.index)

    def yes_no(values):
        return [formats.DASH if formats.is_missing(v) else ("yes" if v else "no") for v in values]
    return pd.DataFrame({
        "Subject": children["subject_id"].astype(str).to_numpy(),
        "Age (years)": [formats.number(a, 0) if not formats.is_missing(a) else formats.DASH
                        for a in children["age_years"]],
        "Treated": yes_no(col("treated")),
        "Screening level, adult score": [_level(v) for v in col("liao_level_computed_at_screening")],
        "Screening level, site": [_level(v) for v in col("liao_level_site_at_screening")],
        "Level used for eligibility": [_level(v) for v in col("liao_level_at_screening")],
        "Eligible": yes_no(col("eligible")),
    })


def site_agreement_table(agreement: pd.DataFrame) -> pd.DataFrame:
    """Screening level, adult score against site assessment (``derive.populations.site_level_agreement``).

    Returns ``Level, adult score``, ``Level, site``, ``Subjects``, ``Same level``, ``Same eligibility``.

    >>> a = pd.DataFrame({"computed_level": ["orange"], "site_level": ["yellow"], "n_subjects": [1],
    ...                   "agree": [False], "same_eligibility": [False]})
    >>> site_agreement_table(a).iloc[0].tolist()
    ['orange', 'yellow', '1', 'no', 'no']
    """
    return pd.DataFrame({
        "Level, adult score": agreement["computed_level"].astype(str).to_numpy(),
        "Level, site": agreement["site_level"].astype(str).to_numpy(),
        "Subjects": [formats.count(n) for n in agreement["n_subjects"]],
        "Same level": ["yes" if v else "no" for v in agreement["agree"]],
        "Same eligibility": ["yes" if v else "no" for v in agreement["same_eligibility"]],
    }, columns=["Level, adult score", "Level, site", "Subjects", "Same level", "Same eligibility"])
