"""Checks of the definitions files: one parser per file that validates its content.

Each parser takes the text of one file and its name and returns the validated object, raising
``ValueError`` naming the file, the key or row, and what was expected. Only
:mod:`msc_analysis.definitions` (the reader) calls them; this module opens no file and imports
nothing from the rest of ``msc_analysis``.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import yaml

__all__ = ["DAY0_VALUES", "TIME_FRAME_KEYS", "PARSERS", "check_baseline_rule", "check_visit_windows"]

#: Allowed values of the ``day0_values`` rule of ``baseline.yaml``.
DAY0_VALUES = ("earliest", "all", "none")
#: The registered time frames of ``trial.yaml`` (section ``time_frames``): endpoint -> keys.
#: A key ending in ``_days`` (other than ``horizon_days``) is a list of days; the others are integers.
TIME_FRAME_KEYS = {
    "overall_survival": ("report_days",),
    "pcr_negativity": ("horizon_days",),
    "hospital_stay": ("horizon_days", "discharge_days"),
    "liao_score": ("report_days", "low_score_max"),
    "radiology": ("improvement_min_decrease_points",),
}
_COLUMN_TYPES = ("id", "text", "number", "integer", "category", "date", "datetime", "boolean")
_BOUND_OPS = (">", ">=", "<", "<=")


class _Number:
    """Marker type: an int or float, not a bool."""


# ------------------------------------------------------------------------------------ helpers

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
    frames = _need(facts, "time_frames", dict, file)
    for endpoint, keys in TIME_FRAME_KEYS.items():
        frame = _need(frames, endpoint, dict, file, "time_frames")
        for key in keys:
            where = f"time_frames.{endpoint}"
            if key.endswith("_days") and key != "horizon_days":
                days = _need(frame, key, list, file, where)
                if not days or not all(_is(d, int) and d >= 1 for d in days) or sorted(set(days)) != days:
                    raise ValueError(f"{file}: {where}.{key} must be a list of whole numbers of days >= 1, "
                                     f"increasing, got {days!r}")
            elif _need(frame, key, int, file, where) < (0 if key == "low_score_max" else 1):
                raise ValueError(f"{file}: {where}.{key} must be a whole number "
                                 f"{'>= 0' if key == 'low_score_max' else '>= 1'}, got {frame[key]!r}")
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
    dose = _need(rules, "dose", dict, file)
    _need(dose, "tolerance_pct", _Number, file, "dose")
    if _need(dose, "infusion_window_days", int, file, "dose") < 0:
        raise ValueError(f"{file}: dose.infusion_window_days must be a whole number of days, 0 or more")
    m = _need(rules, "monitoring", dict, file)
    for key in ("prior_a", "prior_b", "threshold_prop", "boundary_posterior_prob"):
        _need(m, key, _Number, file, "monitoring")
    for key in ("toxicity_requires_related", "toxicity_if_serious", "evaluable_if_died"):
        _need(m, key, bool, file, "monitoring")
    _need(m, "toxicity_min_grade", int, file, "monitoring", nullable=True)
    _need(m, "window_last_day", int, file, "monitoring")
    if "mortality_watch" in rules:
        w = _need(rules, "mortality_watch", dict, file)
        for key in ("prior_a", "prior_b", "reference_rate_prop", "boundary_posterior_prob"):
            _need(w, key, _Number, file, "mortality_watch")
        if not (w["prior_a"] > 0 and w["prior_b"] > 0):
            raise ValueError(f"{file}: mortality_watch.prior_a and prior_b must be positive")
        for key in ("reference_rate_prop", "boundary_posterior_prob"):
            if not 0 < w[key] < 1:
                raise ValueError(f"{file}: mortality_watch.{key} must be between 0 and 1, got {w[key]!r}")
        if _need(w, "day", int, file, "mortality_watch") < 1:
            raise ValueError(f"{file}: mortality_watch.day must be a whole number of days, 1 or more")
        _need(w, "reference_source", str, file, "mortality_watch")
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


def _parse_liao_adult_score(text: str, file: str) -> dict:
    rules = _yaml(text, file)
    age = _need(rules, "adult_min_age_years", _Number, file)
    if not 0 < age <= 120:
        raise ValueError(f"{file}: adult_min_age_years must be a number of years above 0, at most 120, got {age!r}")
    _need(rules, "exclude_children", bool, file)
    return rules


#: Every definitions file and its parser (text, file name -> validated object).
PARSERS: dict[str, Callable[[str, str], object]] = {
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
    "liao_adult_score.yaml": _parse_liao_adult_score,
}
