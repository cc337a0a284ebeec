"""Headline results in words: the rows of results files as the pages, the index, the PDF and ``10_changes`` show them.

Each measure's words come from ``definitions/measures.csv`` (read through
:func:`msc_analysis.definitions.measures`): a label ("Overall survival"), a unit in words, a
number format (see :data:`msc_analysis.definitions.MEASURE_FORMATS`) and what the ``lower`` and
``upper`` columns hold. Cells are written by :mod:`.formats`, so a table never shows ``nan``,
``inf`` or scientific notation. The functions take results rows (schema v2, ``docs/results.md``)
and return text frames for :meth:`~msc_analysis.report.page.Page.table` (or
:class:`~msc_analysis.report.page.Table`).
"""
from __future__ import annotations

import re

import pandas as pd

from .. import definitions
from . import formats

__all__ = ["INTERVAL_WORDS", "HEADLINE_COLUMNS", "KEY_COLUMNS", "MOVEMENT_COLUMNS", "with_measures", "subgroup_labels",
           "format_value", "format_estimate", "format_change", "plain_method", "headline_table", "headline_footnotes",
           "key_results", "key_results_table", "movement_table"]

#: How each kind of interval reads in a table.
INTERVAL_WORDS = {"ci95": "95% CI", "iqr": "IQR", "cri95": "95% credible interval", "": formats.DASH}
#: Columns of :func:`headline_table`.
HEADLINE_COLUMNS = ["Measure", "Group", "Day", "Estimate (interval)", "Interval", "n", "Unit"]
#: Columns of :func:`key_results_table`.
KEY_COLUMNS = ["Registered outcome", "Day", "Estimate (interval)", "Interval", "n", "Page"]
#: Columns of :func:`movement_table`.
MOVEMENT_COLUMNS = ["Measure", "Group", "Day", "Previous cut", "This cut", "Change", "n (previous, this)"]


def with_measures(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the columns of ``definitions/measures.csv`` joined on (endpoint, measure).

    A measure without a row there keeps its machine name as label, ``decimal2`` as format and
    the row's own ``interval``: the results writer refuses such measures, so this only happens
    with files made by hand.
    """
    table = definitions.measures()
    out = results.reset_index(drop=True).copy()
    out["endpoint"], out["measure"] = out["endpoint"].astype(str), out["measure"].astype(str)
    merged = out.merge(table.rename(columns={"interval": "measure_interval"}), on=["endpoint", "measure"],
                       how="left")
    merged["label"] = merged["label"].fillna(merged["measure"].str.replace("_", " "))
    merged["unit_label"] = merged["unit_label"].fillna(merged.get("unit", pd.Series("", index=merged.index)))
    merged["format"] = merged["format"].fillna("decimal2")
    merged["registered"] = merged["registered"].fillna("no")
    merged["key_days"] = merged["key_days"].fillna("")
    if "interval" not in merged:
        merged["interval"] = merged["measure_interval"].fillna("")
    interval = merged["interval"].astype(object)  # an all-empty column may have been read as numbers
    merged["interval"] = interval.where(interval.notna(), "").astype(str)
    for old, new in (("ci95_lower", "lower"), ("ci95_upper", "upper")):
        if new not in merged:
            merged[new] = merged[old] if old in merged else float("nan")
    return merged


def _number(value):
    """A float, or the value itself when it is not a number (missing stays missing)."""
    if formats.is_missing(value):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def format_value(value, fmt: str) -> str:
    """One number written in format ``fmt`` (a key of :data:`~msc_analysis.definitions.MEASURE_FORMATS`).

    Examples
    --------
    >>> [format_value(v, f) for v, f in ((12.0, "count"), (0.7728, "percent"), (52.5, "days"),
    ...  (1009081, "millions2"), (0.90112, "probability"), (1, "flag"), (float("inf"), "days"))]
    ['12', '77.3%', '52.5', '1.01', '0.901', 'yes', 'NR']
    """
    value = _number(value)
    if fmt == "count":
        return formats.count(value) if not formats.is_missing(value) else formats.NE
    if fmt == "percent":
        return formats.pct(value)
    if fmt == "days":
        return formats.days(value)
    if fmt == "decimal1":
        return formats.number(value, 1)
    if fmt == "probability":
        return formats.number(value, 3)
    if fmt == "p_value":
        return formats.p_value(value)
    if fmt == "flag":
        return formats.NE if formats.is_missing(value) else ("yes" if value == 1 else "no")
    if fmt == "millions2":
        return formats.number(value if formats.is_missing(value) else value / 1e6, 2)
    return formats.number(value, 2)


def format_estimate(estimate, lower, upper, fmt: str) -> str:
    """The estimate with its interval when it has one: ``77.3% (58.2% to 88.5%)``, ``12``.

    Examples
    --------
    >>> format_estimate(0.7728, 0.5816, 0.8847, "percent"), format_estimate(8, None, None, "count")
    ('77.3% (58.2% to 88.5%)', '8')
    >>> format_estimate(float("inf"), float("inf"), float("inf"), "days")
    'NR (both limits NR)'
    """
    text = format_value(estimate, fmt)
    if (formats.is_missing(lower) and formats.is_missing(upper)) or formats.is_missing(estimate) \
            or fmt in ("count", "flag", "p_value"):
        return text
    if all(isinstance(v, (int, float)) and v == float("inf") for v in (lower, upper)):
        return f"{text} (both limits NR)"
    return f"{text} ({format_value(lower, fmt)} to {format_value(upper, fmt)})"


def format_change(before, after, fmt: str) -> str:
    """``after - before`` with its sign, in the measure's terms; a dash when either is missing.

    Percentages change by percentage points.

    Examples
    --------
    >>> format_change(0.5, 0.6, "percent"), format_change(3, 8, "count"), format_change(2, 2, "days")
    ('+10.0 percentage points', '+5', '0')
    >>> format_change(None, 8, "count"), format_change(10, float("inf"), "days")
    ('–', '–')
    """
    before, after = _number(before), _number(after)
    if formats.is_missing(before) or formats.is_missing(after) or abs(before) == float("inf") \
            or abs(after) == float("inf") or fmt == "flag":
        if fmt == "flag" and not (formats.is_missing(before) or formats.is_missing(after)):
            return "no change" if before == after else f"{format_value(before, fmt)} to {format_value(after, fmt)}"
        return formats.DASH
    delta = after - before
    if fmt == "percent":
        text, unit = formats.number(100 * delta, 1), " percentage points"
    elif fmt in ("count", "days"):
        text, unit = formats.days(delta), ""
    else:
        text, unit = format_value(delta, fmt), ""
    if text.strip("0.") == "":
        return "0"
    return ("+" + text if not text.startswith("-") else text) + unit


_SCIENTIFIC = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[eE]([+-]?)0*(\d+)(?![\w.])")
_INF = re.compile(r"(?<![\w-])inf(?![\w-])")


def _power(match: re.Match) -> str:
    mantissa, sign, exponent = match.group(1), match.group(2), match.group(3)
    head = "" if mantissa in ("1", "1.0") else f"{mantissa} x "
    return f"{head}10^{'-' if sign == '-' else ''}{exponent}"


def plain_method(text) -> str:
    """A results ``method`` as a reader sees it beside the formatted numbers: ``inf`` (how the file
    writes "not reached") is NR, as in the estimate, and a number in scientific notation is a power of ten.

    >>> plain_method("median; inf = not reached; target 1e+06 cells/kg; 2.5e-3")
    'median; NR = not reached; target 10^6 cells/kg; 2.5 x 10^-3'
    """
    if formats.is_missing(text):
        return formats.DASH
    return _SCIENTIFIC.sub(_power, _INF.sub("NR", str(text)))


def _day(value) -> str:
    return formats.DASH if formats.is_missing(value) else formats.days(value)


def _n(value) -> str:
    return formats.count(value)


def headline_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per result in words: measure label, group, day, estimate with interval, the interval's kind, n, unit.

    Examples
    --------
    >>> r = pd.DataFrame({"endpoint": ["overall_survival"], "measure": ["survival_prop"], "group": ["all"],
    ...                   "day": [30.0], "estimate": [0.7728], "lower": [0.5816], "upper": [0.8847],
    ...                   "interval": ["ci95"], "n": [31], "unit": ["proportion"]})
    >>> headline_table(r).iloc[0].tolist()
    ['Overall survival', 'all', '30', '77.3% (58.2% to 88.5%)', '95% CI', '31', 'percent of treated subjects alive']
    """
    if results.empty:
        return pd.DataFrame(columns=HEADLINE_COLUMNS)
    m = with_measures(results)
    return pd.DataFrame({
        "Measure": m["label"],
        "Group": m["group"].astype(str),
        "Day": [_day(d) for d in m["day"]],
        "Estimate (interval)": [format_estimate(r.estimate, r.lower, r.upper, r.format) for r in m.itertuples()],
        "Interval": [INTERVAL_WORDS.get(i, i) for i in m["interval"]],
        "n": [_n(v) for v in m["n"]],
        "Unit": m["unit_label"],
    })[HEADLINE_COLUMNS]


def headline_footnotes(results: pd.DataFrame) -> list[str]:
    """Footnotes for a table of ``results``: what each interval shown means, and what n is."""
    shown = [i for i in INTERVAL_WORDS if i and i in set(results.get("interval", pd.Series(dtype=str)).fillna(""))]
    notes = [f"{INTERVAL_WORDS[i]} = {definitions.MEASURE_INTERVALS[i]}." for i in shown]
    notes.append("n = subjects the estimate is based on (the denominator of a percentage).")
    return notes


def subgroup_labels() -> set[str]:
    """Every group label a subgroup row may carry (``definitions/subgroups.csv``, plus the
    "<variable>: other value" and "<variable>: missing" rows): the key results leave them out.

    >>> "Age >= 65 years" in subgroup_labels(), "Age: missing" in subgroup_labels(), "all" in subgroup_labels()
    (True, True, False)
    """
    table = definitions.subgroups()
    extra = {f"{v}: {kind}" for v in table["variable_label"] for kind in ("other value", "missing")}
    return set(table["label"]) | extra


def key_results(results: pd.DataFrame) -> pd.DataFrame:
    """The rows of the registered outcomes (``registered`` yes in ``definitions/measures.csv``) at their key days.

    A measure with ``key_days`` keeps the rows of those days; one without keeps every row; subgroup
    rows (:func:`subgroup_labels`) stay on their page. Rows
    come in the order of ``measures.csv`` (the order of the registered outcomes), then by day;
    the columns of ``results`` are kept.
    """
    if results.empty:
        return results.copy()
    table = definitions.measures().reset_index(names="order")
    m = with_measures(results).merge(table[["endpoint", "measure", "order"]], on=["endpoint", "measure"],
                                     how="left")
    days = m["key_days"].map(lambda k: {float(d) for d in k.split("|")} if k else None)
    at_day = pd.Series([d is None or (not formats.is_missing(day) and float(day) in d)
                        for d, day in zip(days, m["day"])], index=m.index, dtype=bool)
    keep = m["registered"].eq("yes") & at_day & ~m["group"].astype(str).isin(subgroup_labels())
    out = m.loc[keep].sort_values(["order", "group", "day"], kind="stable")
    return out[list(results.columns)].reset_index(drop=True)


def key_results_table(results: pd.DataFrame, pages: pd.Series | None = None) -> pd.DataFrame:
    """:func:`key_results` in words; ``pages`` (aligned with ``results``) names the page of each row.

    A group other than ``all`` is added to the label ("Overall survival (arm B)").
    """
    if pages is not None:
        results = results.assign(_page=list(pages))
    key = key_results(results)
    if key.empty:
        return pd.DataFrame(columns=KEY_COLUMNS)
    table = headline_table(key)
    label = [t if g in ("all", "treated", "") else f"{t} ({g})" for t, g in zip(table["Measure"], table["Group"])]
    return pd.DataFrame({
        "Registered outcome": label, "Day": table["Day"], "Estimate (interval)": table["Estimate (interval)"],
        "Interval": table["Interval"], "n": table["n"],
        "Page": key["_page"].astype(str) if "_page" in key else formats.DASH,
    })[KEY_COLUMNS]


def movement_table(movement: pd.DataFrame) -> pd.DataFrame:
    """Headline movement (:func:`msc_analysis.endpoints.changes.headline_movement`) in words.

    Each row: the measure's label, group, day, the previous cut's estimate, this cut's (each
    with its interval when there is one), the change in the measure's terms, and both n.
    A measure one of the cuts does not have shows a dash there.
    """
    if movement.empty:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    m = with_measures(movement.drop(columns=["interval"], errors="ignore"))

    def side(r, when):
        est = getattr(r, f"estimate_{when}")
        if formats.is_missing(est) and formats.is_missing(getattr(r, f"n_{when}")):
            return formats.DASH
        return format_estimate(est, getattr(r, f"lower_{when}", None), getattr(r, f"upper_{when}", None), r.format)

    return pd.DataFrame({
        "Measure": m["label"],
        "Group": m["group"].astype(str),
        "Day": [_day(d) for d in m["day"]],
        "Previous cut": [side(r, "before") for r in m.itertuples()],
        "This cut": [side(r, "after") for r in m.itertuples()],
        "Change": [format_change(r.estimate_before, r.estimate_after, r.format) for r in m.itertuples()],
        "n (previous, this)": [f"{_n(a)}, {_n(b)}" for a, b in zip(m["n_before"], m["n_after"])],
    })[MOVEMENT_COLUMNS]
