"""RT-PCR negativity: the sensitivity analysis of subjects never positive after the infusion (issue 13, item 9).

Rule 6 of :mod:`msc_analysis.endpoints.pcr_negativity` leaves the subjects never positive after the
infusion out of the estimate by default (``never_positive = "exclude"``). The sensitivity analysis
is always computed with the other setting: ``"include"`` (they stay at risk and rule 3 applies to
their results after day 0) when the page excludes them, ``"exclude"`` when the page includes them.
"""
from __future__ import annotations

import pandas as pd

from ..stats.competing_risks import CIF_CI_METHOD
from .pcr_negativity import NEGATIVITY_DAYS, headline_measures, negativity_status

__all__ = ["NEVER_POSITIVE_MEASURES", "never_positive_sensitivity", "never_positive_setting", "never_positive_measures"]

#: Results measure of the never-positive sensitivity analysis, by the rule-6 setting it uses.
NEVER_POSITIVE_MEASURES = {"include": "cumulative_incidence_prop_never_positive_included",
                           "exclude": "cumulative_incidence_prop_never_positive_excluded"}


def never_positive_sensitivity(subjects: pd.DataFrame, pcr: pd.DataFrame, *, confirmation: str = "two_consecutive",
                               horizon_days: int | None = None, never_positive: str = "exclude") -> pd.DataFrame:
    """The sensitivity analysis of rule 6: :func:`~msc_analysis.endpoints.pcr_negativity.negativity_status`
    with the other setting of ``never_positive`` than the page's: ``"include"`` when the page
    excludes the subjects never positive after the infusion (the default), ``"exclude"`` when it
    includes them.

    Same parameters and output as
    :func:`~msc_analysis.endpoints.pcr_negativity.negativity_status`; its ``never_positive``
    column says which setting was used.
    """
    if never_positive not in NEVER_POSITIVE_MEASURES:
        raise ValueError(f"never_positive must be 'exclude' or 'include', got {never_positive!r}")
    other = "include" if never_positive == "exclude" else "exclude"
    return negativity_status(subjects, pcr, confirmation=confirmation, horizon_days=horizon_days,
                             never_positive=other)


def never_positive_setting(status: pd.DataFrame) -> str:
    """The rule-6 setting ``status`` was made with ("exclude" or "include"): its ``never_positive``
    column; an empty frame reads "include", the sensitivity analysis of the default.

    >>> never_positive_setting(pd.DataFrame({"never_positive": ["exclude"]})), never_positive_setting(pd.DataFrame())
    ('exclude', 'include')
    """
    return str(status["never_positive"].iloc[0]) if len(status) else "include"


def never_positive_measures(status: pd.DataFrame, days=NEGATIVITY_DAYS) -> pd.DataFrame:
    """The cumulative incidence rows of the rule-6 sensitivity analysis, for
    :func:`~msc_analysis.report.results.result_rows`.

    Parameters
    ----------
    status : pandas.DataFrame
        Output of :func:`never_positive_sensitivity` (its ``never_positive`` column names the
        measure; an empty frame is named as "include", the sensitivity analysis of the default).
    days : sequence of int
        Days of the cumulative incidence rows.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`~msc_analysis.endpoints.pcr_negativity.headline_measures`, one row per day: ``measure``
        (:data:`NEVER_POSITIVE_MEASURES` of the setting used), ``day``, ``estimate`` (cumulative
        incidence of negativity), ``ci95_lower``, ``ci95_upper``, ``n`` (subjects in that
        analysis), ``unit``, ``method`` (says how subjects never positive were handled), ``group``.
    """
    setting = never_positive_setting(status)
    rows = headline_measures(status, days)
    rows = rows[rows["measure"] == "cumulative_incidence_prop"].copy()
    excluded = int((~status["in_analysis"]).sum())
    how = ("subjects never positive after the infusion included at risk (rule 3 applied to their results after day 0)"
           if setting == "include" else
           f"subjects never positive after the infusion excluded ({excluded} left out)")
    rows["measure"] = NEVER_POSITIVE_MEASURES[setting]
    rows["method"] = [m.replace(f"; {CIF_CI_METHOD}", f"; sensitivity: {how}; {CIF_CI_METHOD}", 1)
                      for m in rows["method"]]
    return rows.reset_index(drop=True)
