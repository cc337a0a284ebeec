"""Overview tables on children and the adult Liao (NEWS-C) score (issue 18): the age distribution by
population with the children counted, and eligibility by Liao level with the children who qualified by
the adult score. The frames come from :mod:`msc_analysis.endpoints.overview`; cells are written with
:mod:`msc_analysis.report.formats`.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["age_distribution_table", "eligibility_by_level_table", "children_overview_note"]

_POPULATION_WORDS = {"screened": "Screened", "eligible": "Eligible", "enrolled": "Enrolled", "treated": "Treated"}


def age_distribution_table(ages: pd.DataFrame) -> pd.DataFrame:
    """``overview.age_distribution`` as text cells: ``Age band (years)``, ``Ages seen``, then one column per
    population (n (%) of the population).

    >>> a = pd.DataFrame({"age_band": ["children (under 16)", "16 to 64"], "age_min_years": [8.0, float("nan")],
    ...     "age_max_years": [8.0, float("nan")], "n_screened": [1, 0], "n_treated": [0, 0]})
    >>> age_distribution_table(a).values.tolist()
    [['children (under 16)', '8', '1 (100.0%)', '0'], ['16 to 64', '–', '0', '0']]
    """
    out = pd.DataFrame({"Age band (years)": ages["age_band"].astype(str).to_numpy()})
    out["Ages seen"] = [formats.DASH if formats.is_missing(lo) else
                        (formats.number(lo, 0) if lo == hi else f"{formats.number(lo, 0)} to {formats.number(hi, 0)}")
                        for lo, hi in zip(ages["age_min_years"], ages["age_max_years"])]
    for column in [c for c in ages.columns if c.startswith("n_")]:
        total = int(ages[column].sum())
        out[_POPULATION_WORDS.get(column[2:], column[2:])] = [
            formats.count_pct(k, total) if k else formats.count(k) for k in ages[column]]
    return out


def eligibility_by_level_table(levels: pd.DataFrame) -> pd.DataFrame:
    """``overview.eligibility_by_liao_level`` as text cells.

    Returns ``Liao level at screening``, ``Screened``, ``Eligible``, ``Treated``, ``Children screened``,
    ``Children eligible``, ``of whom by the adult score``.

    >>> l = pd.DataFrame({"liao_level": ["orange"], "n_screened": [3], "n_eligible": [2], "n_treated": [2],
    ...     "n_children_screened": [1], "n_children_eligible": [1], "n_children_eligible_by_adult_score": [1]})
    >>> eligibility_by_level_table(l).iloc[0].tolist()
    ['orange', '3', '2', '2', '1', '1', '1']
    """
    names = {"liao_level": "Liao level at screening", "n_screened": "Screened", "n_eligible": "Eligible",
             "n_treated": "Treated", "n_children_screened": "Children screened",
             "n_children_eligible": "Children eligible",
             "n_children_eligible_by_adult_score": "of whom by the adult score"}
    out = levels[list(names)].rename(columns=names).astype(object)
    for column in list(names.values())[1:]:
        out[column] = [formats.count(v) for v in out[column]]
    out["Liao level at screening"] = out["Liao level at screening"].astype(str)
    return out.reset_index(drop=True)


def children_overview_note(levels: pd.DataFrame, min_age_years: float) -> str:
    """One sentence for the overview: how many children were screened and qualified by the adult score.

    >>> l = pd.DataFrame({"n_children_screened": [1, 0], "n_children_eligible": [0, 0],
    ...                   "n_children_eligible_by_adult_score": [0, 0]})
    >>> children_overview_note(l, 16.0)
    'Children (younger than 16 years, the NEWS2 lower age limit): 1 screened, 0 eligible, 0 of them by a Liao level computed with the adult bands (the Liao score is an adult score).'
    """
    return (f"Children (younger than {min_age_years:g} years, the NEWS2 lower age limit): "
            f"{formats.count(levels['n_children_screened'].sum())} screened, "
            f"{formats.count(levels['n_children_eligible'].sum())} eligible, "
            f"{formats.count(levels['n_children_eligible_by_adult_score'].sum())} of them by a Liao level computed "
            "with the adult bands (the Liao score is an adult score).")
