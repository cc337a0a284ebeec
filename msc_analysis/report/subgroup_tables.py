"""Tables and results rows of the subgroup estimates (:mod:`msc_analysis.endpoints.subgroups`).

Cells are written by :mod:`.formats`: a subgroup whose estimate cannot be made keeps its row and
says why in words ("not estimable: no subject in this group").
"""
from __future__ import annotations

import pandas as pd

from ..derive.checks import require_columns
from . import formats
from .results import measure_info, result_rows

#: Columns of the subgroup estimates this module reads (``endpoints.subgroups.ESTIMATE_COLUMNS``;
#: the report layer sits below the endpoints, so the names are repeated here and a test keeps them equal).
ESTIMATE_COLUMNS = ("endpoint", "measure", "subgroup_variable", "subgroup_variable_label", "subgroup",
                    "subgroup_order", "day", "n", "n_evaluable", "n_at_risk", "n_events", "n_success",
                    "estimate_prop", "ci95_lower", "ci95_upper", "not_estimable_reason", "method")
#: ``subgroup_variable`` of the reference row (all treated subjects), as in ``endpoints.subgroups``.
OVERALL_VARIABLE = "overall"

__all__ = ["SUBGROUP_TABLE_COLUMNS", "measure_title", "estimate_cell", "subgroup_cells", "subgroup_footnotes",
           "other_values", "subgroup_results"]

#: Columns of :func:`subgroup_cells`.
SUBGROUP_TABLE_COLUMNS = ["Measure", "Subgroup", "Subjects", "In the estimate", "Events", "Estimate (95% CI)"]


def measure_title(endpoint: str, measure: str, day) -> str:
    """The measure's label (``definitions/measures.csv``) with its day.

    >>> measure_title("overall_survival", "survival_prop", 30.0)
    'Overall survival, day 30'
    """
    label = measure_info(endpoint, measure)["label"]
    return label if formats.is_missing(day) else f"{label}, day {formats.days(day)}"


def estimate_cell(estimate, lower, upper, reason: str = "") -> str:
    """A proportion with its 95% CI; "not estimable: <reason>" when missing; a 0% or 100% whose
    interval has no width (a survival nobody has left) says so instead of the interval.

    >>> estimate_cell(0.5, 0.0126, 0.9874), estimate_cell(float("nan"), None, None, "no subject in this group")
    ('50.0% (1.3% to 98.7%)', 'not estimable: no subject in this group')
    >>> estimate_cell(1.0, 1.0, 1.0), estimate_cell(0.0, float("nan"), float("nan"))
    ('100.0% (no event yet: interval of no width)', '0.0% (CI not estimable)')
    """
    if formats.is_missing(estimate):
        return f"not estimable: {reason}" if reason else "not estimable"
    if estimate in (0, 1) and lower == upper == estimate:
        return f"{formats.pct(estimate)} (no event yet: interval of no width)"
    return formats.pct_interval(estimate, lower, upper)


def _counts(r) -> tuple[str, str]:
    """The "In the estimate" and "Events" cells of one row."""
    day = formats.days(r.day)
    if r.measure == "survival_prop":
        at_risk = f"{formats.count(r.n_evaluable)} ({formats.count(r.n_at_risk)} at risk on day {day})"
        return at_risk, f"{formats.count(r.n_events)} died by day {day}"
    word = "improved" if "improved" in r.measure else "with the outcome"
    return f"{formats.count(r.n_evaluable)} evaluable", formats.count_pct(r.n_success, r.n_evaluable) + f" {word}"


def subgroup_cells(estimates: pd.DataFrame) -> pd.DataFrame:
    """Subgroup estimates as cells, one block of rows per measure (the whole population first).

    Parameters
    ----------
    estimates : DataFrame
        Rows of ``subgroups.survival_by_subgroup`` / ``subgroups.proportion_by_subgroup``.

    Returns
    -------
    DataFrame
        Text cells, columns :data:`SUBGROUP_TABLE_COLUMNS`: the measure's title (on the first row
        of its block only), the subgroup, subjects in it, subjects in the estimate (survival: all,
        with the number at risk on the day; a proportion: the evaluable ones), events (deaths by
        the day, or subjects with the outcome among the evaluable), the estimate with its 95% CI or
        why it is not estimable.

    Examples
    --------
    >>> e = pd.DataFrame({"endpoint": "liao_score", "measure": "improved_prop", "subgroup_variable": ["overall", "sex"],
    ...     "subgroup_variable_label": ["Overall", "Sex"], "subgroup": ["All treated subjects", "Male"],
    ...     "subgroup_order": [-1, 9], "day": 28.0, "n": [3, 0], "n_evaluable": [2, 0], "n_at_risk": pd.NA,
    ...     "n_events": pd.NA, "n_success": [1, 0], "estimate_prop": [0.5, None], "ci95_lower": [0.0126, None],
    ...     "ci95_upper": [0.9874, None], "not_estimable_reason": ["", "no subject in this group"], "method": ""})
    >>> subgroup_cells(e).iloc[:, 1:].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['All treated subjects', '3', '2 evaluable', '1 (50.0%) improved', '50.0% (1.3% to 98.7%)'],
     ['Male', '0', '0 evaluable', '0 improved', 'not estimable: no subject in this group']]
    """
    require_columns(estimates, ESTIMATE_COLUMNS, "estimates")
    blocks = []
    keys = estimates[["endpoint", "measure", "day"]].drop_duplicates()
    for k in keys.itertuples(index=False):
        same_day = (estimates["day"] == k.day) | (estimates["day"].isna() & formats.is_missing(k.day))
        rows = estimates[(estimates["endpoint"] == k.endpoint) & (estimates["measure"] == k.measure) & same_day]
        rows = rows.sort_values("subgroup_order", kind="stable")
        counts = [_counts(r) for r in rows.itertuples(index=False)]
        title = measure_title(k.endpoint, k.measure, k.day)
        blocks.append(pd.DataFrame({
            "Measure": [title] + [""] * (len(rows) - 1),
            "Subgroup": rows["subgroup"].to_numpy(),
            "Subjects": rows["n"].map(formats.count).to_numpy(),
            "In the estimate": [c[0] for c in counts], "Events": [c[1] for c in counts],
            "Estimate (95% CI)": [estimate_cell(e, lo, hi, why) for e, lo, hi, why in
                                  zip(rows["estimate_prop"], rows["ci95_lower"], rows["ci95_upper"],
                                      rows["not_estimable_reason"])]}))
    if not blocks:
        return pd.DataFrame(columns=SUBGROUP_TABLE_COLUMNS)
    return pd.concat(blocks, ignore_index=True)[SUBGROUP_TABLE_COLUMNS]


def other_values(membership: pd.DataFrame) -> dict[str, list[str]]:
    """The recorded values of each "other value" row (subgroup label -> sorted distinct values).

    >>> m = pd.DataFrame({"subgroup": ["Liao level at entry: other value", "Female"], "value": ["yellow", "F"]})
    >>> other_values(m)
    {'Liao level at entry: other value': ['yellow']}
    """
    other = membership[membership["subgroup"].astype(str).str.endswith(": other value")]
    return {s: sorted(set(g["value"])) for s, g in other.groupby("subgroup", sort=True)}


def subgroup_footnotes(estimates: pd.DataFrame, membership: pd.DataFrame | None = None,
                       definitions_text: str = "") -> list[str]:
    """Footnotes of the subgroup table and figure: what the estimates are, each method, the
    "other value" rows, and that the subgroups are descriptive.

    ``definitions_text`` (e.g. "Liao level at entry: the level at the screening assessment")
    is said first when given.
    """
    notes = [definitions_text] if definitions_text else []
    notes.append("Descriptive: subgroups of a single-arm Phase 1 trial, small and not pre-specified for testing; "
                 "no test of interaction, and a difference between subgroups is not evidence of an effect. "
                 "A subgroup is never hidden: an empty one, or one with nobody evaluable, says why it is not "
                 "estimable.")
    for (endpoint, measure), g in estimates.groupby(["endpoint", "measure"], sort=False):
        method = g["method"].iloc[0]
        notes.append(f"{measure_info(endpoint, measure)['label']}: {method}.")
    if (estimates["measure"] == "survival_prop").any():
        notes.append("Survival: every subject of the subgroup is in the Kaplan-Meier estimate (censored at the "
                     "last date known alive); at risk = still followed on that day. 100% with no interval: nobody "
                     "in the subgroup has died by that day; 0% has no log-log interval.")
    if membership is not None:
        for label, values in other_values(membership).items():
            notes.append(f"{label}: a value recorded but in no listed subgroup ({', '.join(values)}).")
    return notes


def subgroup_results(rows: pd.DataFrame, cut_id: str = "") -> pd.DataFrame:
    """The subgroup rows (``endpoints.subgroups.headline_measures``) in the results schema
    (``report.results.result_rows``), each under its endpoint, ``group`` the subgroup label; the
    whole-population rows are already left out (they are the page headlines). Empty (with the
    schema's columns) when there is no subgroup row.
    """
    frames = [result_rows(endpoint, g.drop(columns="endpoint"), cut_id=cut_id)
              for endpoint, g in rows.groupby("endpoint", sort=False)]
    if not frames:
        return result_rows("overall_survival", rows.drop(columns="endpoint"), cut_id=cut_id)
    return pd.concat(frames, ignore_index=True)
