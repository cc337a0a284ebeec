"""Subgroups of the treated population: who belongs where, survival and proportions per subgroup.

Descriptive only. A single-arm Phase 1 trial has no comparison group and no power for subgroups:
the estimates of each subgroup are shown with their n and 95 % CI, never tested against each other
(no test of interaction). Rules in words: ``docs/endpoints/subgroups.md``.

Subgroups are data (``definitions/subgroups.csv``): for each variable (Liao level at entry, age,
sex) the subgroups are a set of values, or a numeric interval ``lower <= x < upper``. Every treated
subject is in exactly one row of every variable:

- a listed subgroup (shown even when empty, with n = 0);
- "<variable>: other value" when the value is recorded but in no listed subgroup (e.g. a subject
  treated with a yellow Liao level at screening), shown only when someone is there;
- "<variable>: missing" when the value is not recorded, shown only when someone is there.

Estimates per subgroup:

- :func:`survival_by_subgroup`: Kaplan-Meier survival at a day with its log-log 95 % CI (the
  estimator of the survival page, :func:`msc_analysis.stats.survival.kaplan_meier`);
- :func:`proportion_by_subgroup`: a proportion with an exact (Clopper-Pearson) 95 % CI from any
  per-subject frame (``subject_id``, ``evaluable``, a success column), so that every endpoint's
  own per-subject outcome (and its own evaluability rule) is used unchanged;
- the first row of each is the whole treated population ("All treated subjects"), the reference.

A subgroup too small is never hidden: with nobody in it, or nobody evaluable, or nobody left at
risk, the estimate is missing and ``not_estimable_reason`` says why in words.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pandas as pd

from .. import definitions
from ..derive.checks import isin, require_columns
from ..stats.binomial import EXACT_CI_METHOD, exact_proportion
from ..stats.estimability import (NO_SUBJECT_IN_GROUP, NO_SUBJECT_INFUSED, no_subject_evaluable, reasons_at_days,
                                  with_reason)
from ..stats.survival import KM_CI_METHOD, kaplan_meier

__all__ = ["OVERALL_VARIABLE", "OVERALL_LABEL", "MEMBERSHIP_COLUMNS", "ESTIMATE_COLUMNS", "DESCRIPTIVE_NOTE",
           "subgroup_membership", "survival_by_subgroup", "proportion_by_subgroup", "headline_measures"]

#: ``subgroup_variable`` of the reference row (the whole treated population).
OVERALL_VARIABLE = "overall"
#: ``subgroup`` of the reference row.
OVERALL_LABEL = "All treated subjects"
#: Output columns of :func:`subgroup_membership`.
MEMBERSHIP_COLUMNS = ("subject_id", "subgroup_variable", "subgroup_variable_label", "subgroup", "subgroup_order",
                      "value")
#: Output columns of :func:`survival_by_subgroup` and :func:`proportion_by_subgroup`.
ESTIMATE_COLUMNS = ("endpoint", "measure", "subgroup_variable", "subgroup_variable_label", "subgroup",
                    "subgroup_order", "day", "n", "n_evaluable", "n_at_risk", "n_events", "n_success",
                    "estimate_prop", "ci95_lower", "ci95_upper", "not_estimable_reason", "method")
#: Said with every subgroup estimate (pages, results ``method``).
DESCRIPTIVE_NOTE = "subgroup estimate, descriptive (single-arm Phase 1 trial: no test of interaction)"

_DAY_COLUMNS = ("horizon_day", "target_day")  # the day of a per-subject outcome frame, first found
_DEFINITION_COLUMNS = ("variable", "variable_label", "column", "subgroup", "label", "values", "lower", "upper")


def _definitions(subgroup_definitions: pd.DataFrame | None) -> pd.DataFrame:
    if subgroup_definitions is None:
        return definitions.subgroups()
    require_columns(subgroup_definitions, _DEFINITION_COLUMNS, "subgroup_definitions")
    out = subgroup_definitions.copy()
    out["values"] = out["values"].fillna("").astype(str)
    for bound in ("lower", "upper"):
        out[bound] = pd.to_numeric(out[bound].replace("", np.nan)).astype("float64")
    return out


def _value_text(value) -> str:
    """A recorded value as text: a whole number without ".0"."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _values_text(values: pd.Series, present: np.ndarray) -> list[str]:
    """:func:`_value_text` of each value, worded once per distinct value; "" where not ``present``."""
    codes, uniques = pd.factorize(values)
    texts = np.array([_value_text(u) for u in uniques] + [""], dtype=object)
    return np.where(present, texts[codes], "").tolist()


def _in_subgroup(values: pd.Series, rule) -> np.ndarray:
    """Whether each (non-missing) value is in the subgroup of one definitions row."""
    if rule.values:
        return values.astype(str).isin(rule.values.split("|")).to_numpy(bool)
    x = pd.to_numeric(values, errors="coerce").to_numpy(float)
    inside = ~np.isnan(x)
    if not np.isnan(rule.lower):
        inside &= x >= rule.lower
    if not np.isnan(rule.upper):
        inside &= x < rule.upper
    return inside


def subgroup_membership(subjects: pd.DataFrame, subgroup_definitions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The subgroup of each treated subject for each subgroup variable.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id`` and the column of every variable of the definitions (by default
        ``liao_level_at_screening``, ``age_years`` in years, ``sex``); with a ``treated`` column
        only its true rows are used.
    subgroup_definitions : DataFrame, optional
        The columns of ``definitions/subgroups.csv`` (``variable``, ``variable_label``, ``column``,
        ``subgroup``, ``label``, ``values``, ``lower``, ``upper``); None: that file.

    Returns
    -------
    DataFrame
        One row per subject and variable (subjects in input order within each variable):
        ``subject_id``; ``subgroup_variable`` (key, e.g. ``age``); ``subgroup_variable_label``
        ("Age"); ``subgroup`` (the label of the subgroup, "<variable label>: other value" or
        "<variable label>: missing"); ``subgroup_order`` (int, display order of the subgroup over
        all variables, the listed subgroups in file order, then "other value", then "missing");
        ``value`` (the subject's value as text, "" when missing). Listed subgroups nobody is in
        have no row here; :func:`survival_by_subgroup` and :func:`proportion_by_subgroup` still
        show them.

    Raises
    ------
    ValueError
        When a subject falls in two subgroups of one variable (overlapping definitions).

    Examples
    --------
    >>> defs = pd.DataFrame({"variable": "age", "variable_label": "Age", "column": "age_years",
    ...     "subgroup": ["under_65", "65_and_over"], "label": ["Age < 65 years", "Age >= 65 years"],
    ...     "values": "", "lower": [None, 65], "upper": [65, None]})
    >>> s = pd.DataFrame({"subject_id": ["A", "B", "C"], "age_years": [40, 65, None]})
    >>> m = subgroup_membership(s, defs)
    >>> m["subgroup"].tolist(), m["subgroup_order"].tolist(), m["value"].tolist()
    (['Age < 65 years', 'Age >= 65 years', 'Age: missing'], [0, 1, 3], ['40', '65', ''])
    """
    rules = _definitions(subgroup_definitions)
    require_columns(subjects, ["subject_id", *dict.fromkeys(rules["column"])], "subjects")
    treated = subjects[subjects["treated"].astype(bool)] if "treated" in subjects else subjects
    frames, order = [], 0
    for variable, group in rules.groupby("variable", sort=False):
        column, var_label = group["column"].iloc[0], group["variable_label"].iloc[0]
        values = treated[column]
        present = values.notna().to_numpy(bool) & values.astype(str).str.strip().ne("").to_numpy(bool)
        label = np.full(len(treated), f"{var_label}: other value", dtype=object)
        rank = np.full(len(treated), order + len(group))
        hits = np.zeros(len(treated), dtype=int)
        for k, rule in enumerate(group.itertuples(index=False)):
            inside = present & _in_subgroup(values, rule)
            label[inside], rank[inside] = rule.label, order + k
            hits += inside
        if (hits > 1).any():
            raise ValueError(f"subgroups of {variable!r} overlap: a subject is in more than one")
        label[~present], rank[~present] = f"{var_label}: missing", order + len(group) + 1
        frames.append(pd.DataFrame({
            "subject_id": treated["subject_id"].to_numpy(), "subgroup_variable": variable,
            "subgroup_variable_label": var_label, "subgroup": label, "subgroup_order": rank.astype("int64"),
            "value": _values_text(values, present)}))
        order += len(group) + 2
    if not frames:
        return pd.DataFrame(columns=list(MEMBERSHIP_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(MEMBERSHIP_COLUMNS)]


_Row = namedtuple("_Row", "subgroup_variable subgroup_variable_label subgroup subgroup_order members")


def _rows(membership: pd.DataFrame, subgroup_definitions: pd.DataFrame | None) -> list[_Row]:
    """Every row to report: the overall row, each listed subgroup (even empty), each "other
    value" or "missing" row with someone in it; with their members' ids (an Index), in display order."""
    rules = _definitions(subgroup_definitions)
    require_columns(membership, MEMBERSHIP_COLUMNS, "membership")
    rows = [(OVERALL_VARIABLE, "Overall", OVERALL_LABEL, -1)]
    order = 0
    for variable, group in rules.groupby("variable", sort=False):
        var_label = group["variable_label"].iloc[0]
        rows += [(variable, var_label, label, order + k) for k, label in enumerate(group["label"])]
        order += len(group) + 2
    listed = pd.MultiIndex.from_tuples([(v, s) for v, _, s, _ in rows])
    unlisted = ~pd.MultiIndex.from_arrays([membership["subgroup_variable"].astype(object),
                                           membership["subgroup"].astype(object)]).isin(listed)
    extra = membership[unlisted]
    extra = extra.drop_duplicates(["subgroup_variable", "subgroup"])
    rows += list(extra[["subgroup_variable", "subgroup_variable_label", "subgroup", "subgroup_order"]]
                 .itertuples(index=False, name=None))
    out = pd.DataFrame(rows, columns=["subgroup_variable", "subgroup_variable_label", "subgroup", "subgroup_order"])
    out = out.sort_values("subgroup_order", kind="stable").reset_index(drop=True)
    codes = membership["subject_id"]
    at = membership.groupby(["subgroup_variable", "subgroup"], sort=False).indices  # rows of each group
    everyone = pd.Index(codes.drop_duplicates())

    def members(variable, subgroup) -> pd.Index:
        if variable == OVERALL_VARIABLE:
            return everyone
        return pd.Index(codes.iloc[at.get((variable, subgroup), [])])

    return [_Row(*r, members(r[0], r[2])) for r in out.itertuples(index=False, name=None)]


def _empty_reason(variable: str) -> str:
    return NO_SUBJECT_INFUSED if variable == OVERALL_VARIABLE else NO_SUBJECT_IN_GROUP


def survival_by_subgroup(times: pd.DataFrame, membership: pd.DataFrame, day: float = 30, *,
                         subgroup_definitions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kaplan-Meier survival at ``day`` in the whole treated population and in each subgroup.

    Parameters
    ----------
    times : DataFrame
        ``subject_id``, ``time_days`` (days from the infusion to death or censoring), ``event``
        (1 = died): ``overall_survival.survival_times``.
    membership : DataFrame
        From :func:`subgroup_membership` (the subjects of ``times``).
    day : float
        The day read off each curve (default 30, the registered assessment day).
    subgroup_definitions : DataFrame, optional
        As for :func:`subgroup_membership` (None: ``definitions/subgroups.csv``).

    Returns
    -------
    DataFrame
        Columns :data:`ESTIMATE_COLUMNS`, one row for the whole population first
        (``subgroup_variable`` "overall"), then one per subgroup in display order. ``endpoint``
        "overall_survival", ``measure`` "survival_prop"; ``n`` subjects in the subgroup (all of
        them in the estimate: ``n_evaluable`` = ``n``); ``n_at_risk`` still followed on ``day``;
        ``n_events`` deaths on or before ``day``; ``n_success`` missing; ``estimate_prop``,
        ``ci95_lower``, ``ci95_upper`` (0-1; a survival of 100 % has the interval [1, 1], one of
        0 % a missing interval, as R ``survfit``); ``not_estimable_reason`` ("" when estimated;
        "no subject in this group", "no subject infused yet" or "nobody at risk at day N");
        ``method``.

    Examples
    --------
    >>> defs = pd.DataFrame({"variable": "sex", "variable_label": "Sex", "column": "sex",
    ...     "subgroup": ["female", "male"], "label": ["Female", "Male"], "values": ["F", "M"], "lower": None,
    ...     "upper": None})
    >>> t = pd.DataFrame({"subject_id": ["A", "B", "C"], "time_days": [10.0, 40, 35], "event": [1, 0, 0]})
    >>> m = subgroup_membership(pd.DataFrame({"subject_id": ["A", "B", "C"], "sex": ["F", "F", "M"]}), defs)
    >>> out = survival_by_subgroup(t, m, 30, subgroup_definitions=defs)
    >>> out[["subgroup", "n", "n_events", "estimate_prop"]].round(4)
                   subgroup  n  n_events  estimate_prop
    0  All treated subjects  3         1         0.6667
    1                Female  2         1         0.5000
    2                  Male  1         0         1.0000
    """
    require_columns(times, ["subject_id", "time_days", "event"], "times")
    day = float(day)
    rows = []
    for r in _rows(membership, subgroup_definitions):
        g = times[isin(times["subject_id"], r.members)]
        km = kaplan_meier(g["time_days"], g["event"], times=[day]).iloc[0]
        reason = reasons_at_days([km["survival_prop"]], len(g), [km["n_at_risk"]], [day],
                                 empty=_empty_reason(r.subgroup_variable))[0]
        died = (g["event"].astype(int) == 1) & (g["time_days"].astype(float) <= day)
        rows.append({"endpoint": "overall_survival", "measure": "survival_prop",
                     "subgroup_variable": r.subgroup_variable, "subgroup_variable_label": r.subgroup_variable_label,
                     "subgroup": r.subgroup, "subgroup_order": r.subgroup_order, "day": day, "n": len(g),
                     "n_evaluable": len(g), "n_at_risk": int(km["n_at_risk"]), "n_events": int(died.sum()),
                     "n_success": pd.NA, "estimate_prop": km["survival_prop"], "ci95_lower": km["ci95_lower"],
                     "ci95_upper": km["ci95_upper"], "not_estimable_reason": reason, "method": KM_CI_METHOD})
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(ESTIMATE_COLUMNS))
    for c in ("n", "n_evaluable", "n_at_risk", "n_events", "n_success"):
        out[c] = pd.array(out[c].tolist(), dtype="Int64")
    for c in ("day", "estimate_prop", "ci95_lower", "ci95_upper"):
        out[c] = out[c].astype("float64")
    out["subgroup_order"] = out["subgroup_order"].astype("int64")
    return out


def proportion_by_subgroup(per_subject: pd.DataFrame, membership: pd.DataFrame, *, endpoint: str, measure: str,
                           day: float | None = None, success: str = "success", method: str = "",
                           subgroup_definitions: pd.DataFrame | None = None) -> pd.DataFrame:
    """A proportion with its exact 95 % CI in the whole treated population and in each subgroup.

    The per-subject outcome and its evaluability come from the endpoint (its own rules: e.g.
    calendar evaluability, deaths counted as not improved); here they are only counted.

    Parameters
    ----------
    per_subject : DataFrame
        ``subject_id``, ``evaluable`` (bool: in the denominator), the ``success`` column (bool:
        in the numerator when evaluable); with a ``horizon_day`` (else ``target_day``) column and
        ``day`` given, only the rows of that day are used. One row per subject (after that
        selection).
    membership : DataFrame
        From :func:`subgroup_membership`. A member without a row in ``per_subject`` counts in
        ``n`` but is not evaluable.
    endpoint, measure : str
        The names of the headline measure (``definitions/measures.csv``), e.g. ``liao_score``,
        ``improved_prop``.
    day : float, optional
        The day of the proportion (kept in the output; selects ``horizon_day`` when present).
    success : str
        Name of the success column (``improved`` for ``liao_improvement.level_improvement``).
    method : str
        How the per-subject outcome was made (the endpoint's rule), put before the CI method.
    subgroup_definitions : DataFrame, optional
        As for :func:`subgroup_membership`.

    Returns
    -------
    DataFrame
        Columns :data:`ESTIMATE_COLUMNS`, overall row first: ``n`` (subjects in the subgroup),
        ``n_evaluable`` (the denominator), ``n_success``, ``estimate_prop``, ``ci95_lower``,
        ``ci95_upper`` (Clopper-Pearson; missing when nobody is evaluable), ``n_at_risk`` and
        ``n_events`` missing, ``not_estimable_reason`` ("" when estimated; "no subject in this
        group", "no subject infused yet" or "no subject evaluable at day N"), ``method``.

    Examples
    --------
    >>> p = pd.DataFrame({"subject_id": ["A", "B", "C"], "evaluable": [True, True, False],
    ...                   "success": [True, False, False]})
    >>> defs = pd.DataFrame({"variable": "sex", "variable_label": "Sex", "column": "sex",
    ...     "subgroup": ["female", "male"], "label": ["Female", "Male"], "values": ["F", "M"], "lower": None,
    ...     "upper": None})
    >>> m = subgroup_membership(pd.DataFrame({"subject_id": ["A", "B", "C"], "sex": ["F", "M", "M"]}), defs)
    >>> out = proportion_by_subgroup(p, m, endpoint="liao_score", measure="improved_prop", day=28,
    ...                              subgroup_definitions=defs)
    >>> out[["subgroup", "n", "n_evaluable", "n_success", "estimate_prop"]]
                   subgroup  n  n_evaluable  n_success  estimate_prop
    0  All treated subjects  3            2          1            0.5
    1                Female  1            1          1            1.0
    2                  Male  2            1          0            0.0
    """
    require_columns(per_subject, ["subject_id", "evaluable", success], "per_subject")
    chosen = per_subject
    day_column = next((c for c in _DAY_COLUMNS if c in per_subject), None)
    if day is not None and day_column is not None:
        chosen = per_subject[per_subject[day_column].astype(float) == float(day)]
    if chosen["subject_id"].duplicated().any():
        raise ValueError("per_subject must have one row per subject"
                         + ("" if day is not None else ": give day to select one horizon_day"))
    outcome = chosen.set_index("subject_id")
    evaluable = outcome["evaluable"].fillna(False).astype(bool)
    succeeded = evaluable & outcome[success].fillna(False).astype(bool)
    how = "; ".join(p for p in (method, EXACT_CI_METHOD) if p)
    rows = []
    for r in _rows(membership, subgroup_definitions):
        ids = pd.Index(r.members)
        n_eval = int(evaluable.reindex(ids, fill_value=False).sum())
        n_ok = int(succeeded.reindex(ids, fill_value=False).sum())
        ci = exact_proportion(n_ok, n_eval).iloc[0]
        reason = (_empty_reason(r.subgroup_variable) if len(ids) == 0 else
                  (no_subject_evaluable(day) if day is not None else no_subject_evaluable()) if n_eval == 0 else "")
        rows.append({"endpoint": endpoint, "measure": measure, "subgroup_variable": r.subgroup_variable,
                     "subgroup_variable_label": r.subgroup_variable_label, "subgroup": r.subgroup,
                     "subgroup_order": r.subgroup_order, "day": np.nan if day is None else float(day),
                     "n": len(ids), "n_evaluable": n_eval, "n_at_risk": pd.NA, "n_events": pd.NA,
                     "n_success": n_ok, "estimate_prop": ci["estimate_prop"], "ci95_lower": ci["ci95_lower"],
                     "ci95_upper": ci["ci95_upper"], "not_estimable_reason": reason, "method": how})
    return _frame(rows)


def headline_measures(estimates: pd.DataFrame) -> pd.DataFrame:
    """Results rows of the subgroups (the overall rows left out: they are the page's headlines).

    Parameters
    ----------
    estimates : DataFrame
        Rows of :func:`survival_by_subgroup` and/or :func:`proportion_by_subgroup` (concatenated).

    Returns
    -------
    DataFrame
        ``endpoint``, ``measure``, ``group`` (the subgroup label, e.g. "Age >= 65 years"),
        ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n`` (the denominator used: all
        subjects of the subgroup for survival, the evaluable ones for a proportion), ``unit``
        ("proportion"), ``method`` (the estimator, :data:`DESCRIPTIVE_NOTE` and, when missing,
        why). Pass each endpoint's rows to ``report.results.result_rows`` (see
        ``report.subgroup_tables.subgroup_results``).
    """
    require_columns(estimates, ESTIMATE_COLUMNS, "estimates")
    e = estimates[estimates["subgroup_variable"] != OVERALL_VARIABLE]
    return pd.DataFrame({
        "endpoint": e["endpoint"].to_numpy(), "measure": e["measure"].to_numpy(), "group": e["subgroup"].to_numpy(),
        "day": e["day"].to_numpy(float), "estimate": e["estimate_prop"].to_numpy(float),
        "ci95_lower": e["ci95_lower"].to_numpy(float), "ci95_upper": e["ci95_upper"].to_numpy(float),
        "n": e["n_evaluable"].to_numpy(), "unit": "proportion",
        "method": [with_reason(f"{m}; {DESCRIPTIVE_NOTE}", r) for m, r in zip(e["method"], e["not_estimable_reason"])],
    })
