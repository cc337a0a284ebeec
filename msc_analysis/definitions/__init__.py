"""The one reader of the definitions folder: every CSV/YAML rule file, read, validated and cached.

The rules of the analysis are data (``msc_analysis/definitions/*.csv`` and ``*.yaml``) so that a
statistician can review them without reading Python. This module is the only code that opens
that folder: one reader per file, each returning a **fresh copy** (callers cannot change the
rules for anyone else). A file that is wrong (a missing column or key, a value of the wrong type)
raises ``ValueError`` naming the file, the key or row, and what was expected, the first time it
is read.

This is the bottom layer of the package: it imports nothing from the rest of ``msc_analysis``.

Examples
--------
>>> trial_facts()["study_id"]
'MSC-COVID19-HCPA'
>>> visit_windows()["family"].unique().tolist()
['crp', 'pao2_fio2', 'liao', 'ct']
"""
from __future__ import annotations

import copy
import datetime as dt
import io
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = [
    "FILES", "DAY0_VALUES", "check_folder", "check_baseline_rule", "check_visit_windows",
    "trial_facts", "safety_definitions", "cut_limits", "baseline_rules",
    "cut_v1_columns", "lab_units", "lab_test_names", "lab_test_lookalikes", "identifier_columns",
    "eligibility_criteria", "visit_windows", "liao_news_c_bands", "liao_levels",
]

#: Allowed values of the ``day0_values`` rule of ``baseline.yaml``.
DAY0_VALUES = ("earliest", "all", "none")
_COLUMN_TYPES = ("id", "text", "number", "integer", "category", "date", "datetime", "boolean")
_BOUND_OPS = (">", ">=", "<", "<=")


class _Number:
    """Marker type: an int or float, not a bool."""


# ------------------------------------------------------------------------------------ helpers

def _folder():
    return resources.files(__name__)


def _text(folder, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def _is(value, kind) -> bool:
    if kind is _Number:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if kind is dt.date:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return isinstance(value, kind)


_KIND_NAMES = {str: "text", int: "a whole number", _Number: "a number", bool: "true or false",
               dict: "a mapping of keys", list: "a list", dt.date: "a date YYYY-MM-DD"}


def _need(mapping: dict, key: str, kind, file: str, where: str = "", *, nullable: bool = False):
    """``mapping[key]``, raising a ``ValueError`` naming the file and key unless it is a ``kind``."""
    path = f"{where}.{key}" if where else key
    if key not in mapping:
        raise ValueError(f"{file}: the key {path!r} is missing; expected {_KIND_NAMES[kind]}")
    value = mapping[key]
    if (value is None and nullable) or _is(value, kind):
        return value
    raise ValueError(f"{file}: {path} must be {_KIND_NAMES[kind]}{' or null' if nullable else ''}, "
                     f"got {value!r}")


def _yaml(text: str, file: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{file}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a mapping of keys at the top level, got {type(data).__name__}")
    return data


def _csv(text: str, file: str, columns: tuple[str, ...], **kwargs) -> pd.DataFrame:
    """Read a definitions CSV with every column as text; ``ValueError`` unless it has ``columns``."""
    try:
        frame = pd.read_csv(io.StringIO(text), **{"dtype": str, **kwargs})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise ValueError(f"{file}: not a readable CSV table ({e})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{file}: lacks the column(s) {missing}; expected {list(columns)}")
    return frame


def _numbers(frame: pd.DataFrame, column: str, file: str, dtype: str, *, blank_ok: bool = False) -> pd.Series:
    """``frame[column]`` (text) as numbers of ``dtype``; ``ValueError`` naming the first bad row."""
    raw = frame[column].fillna("").astype(str).str.strip()
    values = pd.to_numeric(raw.replace("", np.nan), errors="coerce")
    bad = values.isna() & (raw.ne("") | (not blank_ok))
    if dtype == "int64":
        bad |= values.notna() & (values != values.round())
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "a whole number" if dtype == "int64" else "a number"
        raise ValueError(f"{file}: row {row + 2} (counting the header as row 1), column {column}: "
                         f"expected {kind}{' or empty' if blank_ok else ''}, got {frame[column].iloc[row]!r}")
    return values.astype(dtype)


def _one_of(frame: pd.DataFrame, column: str, allowed, file: str) -> None:
    bad = ~frame[column].isin(list(allowed))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"{file}: row {row + 2} (counting the header as row 1), column {column}: "
                         f"expected one of {list(allowed)}, got {frame[column].iloc[row]!r}")


# ------------------------------------------------------------------------------- checks of rules

def check_baseline_rule(window_days_before, day0_values, where: str = "") -> None:
    """Raise ``ValueError`` unless ``window_days_before`` and ``day0_values`` are a usable baseline rule.

    Examples
    --------
    >>> check_baseline_rule(3, "latest", "baseline.yaml (crp)")
    Traceback (most recent call last):
    ...
    ValueError: baseline.yaml (crp): day0_values must be one of ('earliest', 'all', 'none'), got 'latest'
    """
    prefix = f"{where}: " if where else ""
    if not _is(window_days_before, int) or window_days_before < 0:
        raise ValueError(f"{prefix}window_days_before must be a whole number of days >= 0, "
                         f"got {window_days_before!r}")
    if day0_values not in DAY0_VALUES:
        raise ValueError(f"{prefix}day0_values must be one of {DAY0_VALUES}, got {day0_values!r}")


def check_visit_windows(windows: pd.DataFrame, where: str = "") -> None:
    """Raise ``ValueError`` unless the visit windows of one family are usable.

    Every window must contain its target day, start on day 1 or later (day 0 belongs to the
    baseline), and not overlap another window; visit labels and target days must be unique.
    """
    missing = [c for c in ("visit", "target_day", "lower_day", "upper_day") if c not in windows.columns]
    if missing:
        raise ValueError(f"visit windows lacks the column(s) {missing}")
    w = windows.sort_values("target_day")
    problems = []
    if w["visit"].duplicated().any() or w["target_day"].duplicated().any():
        problems.append("visit labels and target days must be unique")
    if not ((w["lower_day"] <= w["target_day"]) & (w["target_day"] <= w["upper_day"])).all():
        problems.append("each window must contain its target day (lower_day <= target_day <= upper_day)")
    if (w["lower_day"] < 1).any():
        problems.append("windows must start on day 1 or later (day 0 is the baseline)")
    if (w["lower_day"].to_numpy()[1:] <= w["upper_day"].to_numpy()[:-1]).any():
        problems.append("windows overlap")
    if problems:
        raise ValueError(f"{where}: " * bool(where) + "bad visit windows: " + "; ".join(problems))


# ---------------------------------------------------------------------------------- the parsers

def _parse_trial(text: str, file: str) -> dict:
    facts = _yaml(text, file)
    for key in ("study_id", "title", "sponsor", "phase", "default_arm"):
        _need(facts, key, str, file)
    if _need(facts, "target_dose_cells_per_kg", _Number, file) <= 0:
        raise ValueError(f"{file}: target_dose_cells_per_kg must be > 0")
    planned = _need(facts, "planned", dict, file)
    for key in ("study_start", "primary_completion", "study_completion"):
        _need(planned, key, dt.date, file, "planned")
    return facts


def _parse_safety(text: str, file: str) -> dict:
    rules = _yaml(text, file)
    missing = {"ctcae_version", "adverse_events", "dose", "monitoring"} - set(rules)
    if missing:
        raise ValueError(f"{file} lacks the sections {sorted(missing)}")
    ae = _need(rules, "adverse_events", dict, file)
    categories = _need(ae, "related_categories", list, file, "adverse_events")
    if not all(isinstance(c, str) for c in categories):
        raise ValueError(f"{file}: adverse_events.related_categories must be a list of text, got {categories!r}")
    _need(ae, "missing_relatedness_counts_as_related", bool, file, "adverse_events")
    for key in ("infusion_reaction_first_day", "infusion_reaction_last_day"):
        _need(ae, key, int, file, "adverse_events")
    _need(_need(rules, "dose", dict, file), "tolerance_pct", _Number, file, "dose")
    m = _need(rules, "monitoring", dict, file)
    for key in ("prior_a", "prior_b", "threshold_prop", "boundary_posterior_prob"):
        _need(m, key, _Number, file, "monitoring")
    for key in ("toxicity_requires_related", "toxicity_if_serious", "evaluable_if_died"):
        _need(m, key, bool, file, "monitoring")
    _need(m, "toxicity_min_grade", int, file, "monitoring", nullable=True)
    _need(m, "window_last_day", int, file, "monitoring")
    if not _is(rules["ctcae_version"], (str, int, float)):
        raise ValueError(f"{file}: ctcae_version must be text such as \"5.0\", got {rules['ctcae_version']!r}")
    return {**rules, "ctcae_version": str(rules["ctcae_version"])}


def _parse_cut_limits(text: str, file: str) -> dict:
    limits = _yaml(text, file)
    if not _is(limits.get("earliest_plausible_date"), dt.date):
        raise ValueError(f"{file}: earliest_plausible_date must be a date YYYY-MM-DD")
    for key in ("max_table_file_bytes", "max_readme_bytes", "max_workbook_unpacked_bytes"):
        _need(limits, key, int, file)
    return limits


def _parse_baseline(text: str, file: str) -> dict:
    rules = _yaml(text, file)
    for family, rule in rules.items():
        if not isinstance(rule, dict):
            raise ValueError(f"{file}: {family} must be a mapping with window_days_before and day0_values")
        check_baseline_rule(rule.get("window_days_before"), rule.get("day0_values"), f"{file} ({family})")
        if "why" in rule:
            _need(rule, "why", str, file, family)
    return rules


def _parse_cut_v1_columns(text: str, file: str) -> pd.DataFrame:
    columns = ("table", "column", "type", "column_required", "value_required", "min", "max", "allowed",
               "unit", "description")
    frame = _csv(text, file, columns, keep_default_na=False)
    _one_of(frame, "type", _COLUMN_TYPES, file)
    for c in ("column_required", "value_required"):
        _one_of(frame, c, ("yes", "no"), file)
    for c in ("min", "max"):
        _numbers(frame, c, file, "float64", blank_ok=True)
    return frame


def _parse_lab_units(text: str, file: str) -> pd.DataFrame:
    frame = _csv(text, file, ("test", "unit", "report_unit", "factor"))
    frame["factor"] = _numbers(frame, "factor", file, "float64")
    return frame


def _parse_lab_test_names(text: str, file: str) -> pd.DataFrame:
    return _csv(text, file, ("spelling", "test", "note"), keep_default_na=False, comment="#")


def _parse_lab_test_lookalikes(text: str, file: str) -> pd.DataFrame:
    return _csv(text, file, ("fragment", "test"), keep_default_na=False, comment="#")


def _parse_identifier_columns(text: str, file: str) -> pd.DataFrame:
    frame = _csv(text, file, ("pattern", "identifier"), keep_default_na=False)
    for row, pattern in enumerate(frame["pattern"]):
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"{file}: row {row + 2}, column pattern: not a regular expression ({e})") from None
    return frame


def _parse_eligibility(text: str, file: str) -> pd.DataFrame:
    frame = _csv(text, file, ("criterion", "kind", "column", "eligible_values", "label"))
    _one_of(frame, "kind", ("inclusion", "exclusion"), file)
    return frame


def _parse_visit_windows(text: str, file: str) -> pd.DataFrame:
    frame = _csv(text, file, ("family", "visit", "target_day", "lower_day", "upper_day"), keep_default_na=False)
    for c in ("target_day", "lower_day", "upper_day"):
        frame[c] = _numbers(frame, c, file, "int64")
    for family, windows in frame.groupby("family", sort=False):
        check_visit_windows(windows, f"{file} ({family})")
    return frame


def _parse_liao_news_c_bands(text: str, file: str) -> pd.DataFrame:
    columns = ("parameter", "scale", "on_oxygen", "category", "lower_op", "lower", "upper_op", "upper",
               "points", "published_band")
    bands = _csv(text, file, columns, keep_default_na=False)
    for bound in ("lower", "upper"):
        bands[bound] = _numbers(bands, bound, file, "float64", blank_ok=True)
        op = bands[f"{bound}_op"]
        if (op.ne("") != bands[bound].notna()).any() or not op.isin(["", *_BOUND_OPS]).all():
            raise ValueError(f"{file}: bad {bound} bound or operator (an operator among {list(_BOUND_OPS)} "
                             f"exactly when there is a {bound} bound)")
    bands["points"] = _numbers(bands, "points", file, "int64")
    return bands


def _parse_liao_levels(text: str, file: str) -> pd.DataFrame:
    levels = _csv(text, file, ("level_rule", "level", "min_total", "min_single_parameter_points", "description"),
                  keep_default_na=False)
    for c in ("min_total", "min_single_parameter_points"):
        levels[c] = _numbers(levels, c, file, "float64", blank_ok=True)
    return levels


#: Every definitions file and its parser (text, file name -> validated object).
_PARSERS: dict[str, Callable[[str, str], object]] = {
    "trial.yaml": _parse_trial,
    "safety.yaml": _parse_safety,
    "cut_limits.yaml": _parse_cut_limits,
    "baseline.yaml": _parse_baseline,
    "cut_v1_columns.csv": _parse_cut_v1_columns,
    "lab_units.csv": _parse_lab_units,
    "lab_test_names.csv": _parse_lab_test_names,
    "lab_test_lookalikes.csv": _parse_lab_test_lookalikes,
    "identifier_columns.csv": _parse_identifier_columns,
    "eligibility.csv": _parse_eligibility,
    "visit_windows.csv": _parse_visit_windows,
    "liao_news_c_bands.csv": _parse_liao_news_c_bands,
    "liao_levels.csv": _parse_liao_levels,
}
#: The files of the definitions folder, in the order :func:`check_folder` reads them.
FILES = tuple(_PARSERS)


@lru_cache(maxsize=None)
def _load(name: str):
    """The validated content of one file of the package's folder (read once; never hand it out)."""
    return _PARSERS[name](_text(_folder(), name), name)


def _fresh(name: str):
    value = _load(name)
    return value.copy() if isinstance(value, pd.DataFrame) else copy.deepcopy(value)


def check_folder(folder: str | Path | None = None) -> None:
    """Read and validate every definitions file of ``folder`` (default: the package's), uncached.

    Raises ``ValueError`` naming the file and key (or row and column) of the first problem, so a
    changed rule can be checked before a report is run.

    Examples
    --------
    >>> check_folder()
    """
    where = _folder() if folder is None else Path(folder)
    for name, parse in _PARSERS.items():
        parse(_text(where, name), name)


# -------------------------------------------------------------------------- one reader per file

def trial_facts() -> dict:
    """Registered facts of the trial (``trial.yaml``); a fresh copy per call.

    Returns
    -------
    dict
        ``study_id``, ``title``, ``sponsor``, ``phase``, ``default_arm`` (str),
        ``target_dose_cells_per_kg`` (float), ``planned`` (dict of :class:`datetime.date`:
        ``study_start``, ``primary_completion``, ``study_completion``), and any further facts.
    """
    return _fresh("trial.yaml")


def safety_definitions() -> dict:
    """The safety and feasibility rules of ``safety.yaml`` (read once; a fresh copy per call).

    Returns
    -------
    dict
        ``ctcae_version`` (str) and the sections ``adverse_events``, ``dose`` and
        ``monitoring``; see the comments in the file and ``docs/safety-monitoring.md``.

    Examples
    --------
    >>> safety_definitions()["ctcae_version"]
    '5.0'
    """
    return _fresh("safety.yaml")


def cut_limits() -> dict:
    """Limits applied to every cut (``cut_limits.yaml``); a fresh copy per call.

    Returns
    -------
    dict
        ``earliest_plausible_date`` (:class:`datetime.date`), ``max_table_file_bytes``,
        ``max_readme_bytes``, ``max_workbook_unpacked_bytes`` (int).

    Examples
    --------
    >>> cut_limits()["earliest_plausible_date"]
    datetime.date(2019, 12, 1)
    """
    return _fresh("cut_limits.yaml")


def baseline_rules() -> dict:
    """Baseline rule of each endpoint family (``baseline.yaml``): family -> ``window_days_before``
    (int), ``day0_values`` (one of :data:`DAY0_VALUES`), ``why`` (text, optional)."""
    return _fresh("baseline.yaml")


def cut_v1_columns() -> pd.DataFrame:
    """Column definitions of the cut format v1 (``cut_v1_columns.csv``), every column as text
    (empty, not missing, where blank): ``table``, ``column``, ``type``, ``column_required``,
    ``value_required`` (yes/no), ``min``, ``max``, ``allowed`` (``|``-separated), ``unit``,
    ``description``."""
    return _fresh("cut_v1_columns.csv")


def lab_units() -> pd.DataFrame:
    """Accepted units per lab test and the factor to the reporting unit (``lab_units.csv``):
    ``test``, ``unit``, ``report_unit`` (text), ``factor`` (float)."""
    return _fresh("lab_units.csv")


def lab_test_names() -> pd.DataFrame:
    """Spellings of lab test names and their canonical test (``lab_test_names.csv``):
    ``spelling``, ``test``, ``note`` (text)."""
    return _fresh("lab_test_names.csv")


def lab_test_lookalikes() -> pd.DataFrame:
    """Fragments that make a test name look like a listed test (``lab_test_lookalikes.csv``):
    ``fragment``, ``test`` (text)."""
    return _fresh("lab_test_lookalikes.csv")


def identifier_columns() -> pd.DataFrame:
    """Column-name patterns that look like direct identifiers (``identifier_columns.csv``):
    ``pattern`` (a regular expression), ``identifier`` (what it looks like)."""
    return _fresh("identifier_columns.csv")


def eligibility_criteria() -> pd.DataFrame:
    """The registered inclusion and exclusion criteria (``eligibility.csv``), as text:
    ``criterion``, ``kind`` (inclusion/exclusion), ``column``, ``eligible_values``
    (``|``-separated; ``True``/``False`` for booleans), ``label``."""
    return _fresh("eligibility.csv")


def visit_windows() -> pd.DataFrame:
    """Visit windows of every endpoint family (``visit_windows.csv``), in file order:
    ``family``, ``visit`` (text), ``target_day``, ``lower_day``, ``upper_day`` (int64, days since
    the infusion, both ends inclusive), ``note``. The windows of each family pass
    :func:`check_visit_windows`."""
    return _fresh("visit_windows.csv")


def liao_news_c_bands() -> pd.DataFrame:
    """The NEWS-C band table (``liao_news_c_bands.csv``): ``lower``, ``upper`` (float, missing
    when unbounded), ``points`` (int64); the other columns as text (empty where blank)."""
    return _fresh("liao_news_c_bands.csv")


def liao_levels() -> pd.DataFrame:
    """The Liao level rules (``liao_levels.csv``): ``level_rule``, ``level``, ``description``
    (text), ``min_total``, ``min_single_parameter_points`` (float, missing where blank)."""
    return _fresh("liao_levels.csv")
