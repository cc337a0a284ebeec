"""The one reader of the definitions folder: every CSV/YAML rule file, read, validated and cached.

The rules of the analysis are data (``msc_analysis/definitions/*.csv`` and ``*.yaml``) so that a
statistician can review them without reading Python. This module is the only code that opens
that folder: one reader per file, each returning a **fresh copy** (callers cannot change the
rules for anyone else). A file that is wrong (a missing column or key, a value of the wrong type)
raises ``ValueError`` naming the file, the key or row, and what was expected, the first time it
is read.

This is the bottom layer of the package: it imports nothing from the rest of ``msc_analysis``.
The checks of each file's content are in :mod:`msc_analysis.definitions.checks`.

Examples
--------
>>> trial_facts()["study_id"]
'MSC-COVID19-HCPA'
>>> visit_windows()["family"].unique().tolist()
['crp', 'pao2_fio2', 'liao', 'ct']
"""
from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from .checks import DAY0_VALUES, PARSERS as _PARSERS, TIME_FRAME_KEYS, check_baseline_rule, check_visit_windows

__all__ = [
    "FILES", "DAY0_VALUES", "TIME_FRAME_KEYS", "check_folder", "check_baseline_rule", "check_visit_windows",
    "trial_facts", "time_frames", "safety_definitions", "cut_limits", "baseline_rules",
    "cut_v1_columns", "lab_units", "lab_test_names", "lab_test_lookalikes", "identifier_columns",
    "eligibility_criteria", "visit_windows", "liao_news_c_bands", "liao_levels",
    "liao_adult_score",
]


# ------------------------------------------------------------------------------------ helpers

def _folder():
    return resources.files(__name__)


def _text(folder, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


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
        ``study_start``, ``primary_completion``, ``study_completion``), ``time_frames`` (see
        :func:`time_frames`), and any further facts.
    """
    return _fresh("trial.yaml")


def time_frames(endpoint: str) -> dict:
    """The registered time frames and thresholds of one endpoint (``trial.yaml: time_frames``).

    Parameters
    ----------
    endpoint : str
        One of the keys of :data:`TIME_FRAME_KEYS`.

    Returns
    -------
    dict
        A fresh copy; days (since the infusion) as int, lists of days as tuples of int.

    Examples
    --------
    >>> time_frames("overall_survival")
    {'report_days': (30, 60)}
    """
    if endpoint not in TIME_FRAME_KEYS:
        raise ValueError(f"no time frames for {endpoint!r}; expected one of {list(TIME_FRAME_KEYS)}")
    frame = _load("trial.yaml")["time_frames"][endpoint]
    return {k: tuple(v) if isinstance(v, list) else v for k, v in frame.items()}


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


def liao_adult_score() -> dict:
    """The age limit of the adult Liao (NEWS-C) score (``liao_adult_score.yaml``); a fresh copy.

    Returns
    -------
    dict
        ``adult_min_age_years`` (number: a subject with ``age_years`` below it is a child, scored
        with the adult bands all the same) and ``exclude_children`` (bool: default of the page-06
        parameter that leaves children out of the Liao endpoints).

    Examples
    --------
    >>> liao_adult_score()["adult_min_age_years"]
    16
    """
    return _fresh("liao_adult_score.yaml")


# ------------------------------------------------------------- measures of the results files

#: Number formats of ``measures.csv`` and what each shows (see ``docs/results.md``).
MEASURE_FORMATS = {
    "count": "a whole number (12); written to the results CSV as an integer",
    "percent": "a proportion 0-1 shown as a percentage with one decimal (77.3%)",
    "days": "days as a whole number, a median halfway between two days keeps its .5 (52.5)",
    "decimal1": "a number with one decimal (171.4)",
    "decimal2": "a number with two decimals (-10.05)",
    "probability": "a probability 0-1 with three decimals (0.901)",
    "p_value": "a p-value with three decimals, <0.001 below that",
    "flag": "1 shown as yes, 0 as no",
    "millions2": "divided by 10^6, two decimals (1.01 for 1 009 081); the unit label says x 10^6",
}
#: What the ``lower`` and ``upper`` columns of a results row hold.
MEASURE_INTERVALS = {
    "ci95": "95% confidence interval",
    "iqr": "interquartile range (first to third quartile)",
    "cri95": "95% credible interval (equal-tailed, of the posterior)",
    "": "no interval",
}
_MEASURE_COLUMNS = ("endpoint", "measure", "label", "unit_label", "format", "interval", "registered", "key_days")


def _parse_measures(text: str, file: str) -> pd.DataFrame:
    import io

    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in _MEASURE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{file}: missing column(s) {missing}; expected {list(_MEASURE_COLUMNS)}")
    frame = frame[list(_MEASURE_COLUMNS)].apply(lambda c: c.str.strip())
    for row, r in enumerate(frame.itertuples(index=False), start=2):
        where = f"{file} line {row} ({r.endpoint}, {r.measure})"
        if not (r.endpoint and r.measure and r.label and r.unit_label):
            raise ValueError(f"{where}: endpoint, measure, label and unit_label must not be empty")
        if r.format not in MEASURE_FORMATS:
            raise ValueError(f"{where}: format {r.format!r} is not one of {sorted(MEASURE_FORMATS)}")
        if r.interval not in MEASURE_INTERVALS:
            raise ValueError(f"{where}: interval {r.interval!r} is not one of {sorted(MEASURE_INTERVALS)}")
        if r.registered not in ("yes", "no"):
            raise ValueError(f"{where}: registered must be yes or no, not {r.registered!r}")
        if r.key_days and not all(d.isdigit() for d in r.key_days.split("|")):
            raise ValueError(f"{where}: key_days must be whole days separated by |, not {r.key_days!r}")
    doubled = frame[frame.duplicated(["endpoint", "measure"], keep=False)]
    if len(doubled):
        raise ValueError(f"{file}: (endpoint, measure) listed more than once: "
                         f"{sorted(set(zip(doubled['endpoint'], doubled['measure'])))}")
    return frame.reset_index(drop=True)


_PARSERS["measures.csv"] = _parse_measures
__all__ += ["MEASURE_FORMATS", "MEASURE_INTERVALS", "measures"]


def measures() -> pd.DataFrame:
    """Every measure a results file may hold, in words (``measures.csv``), every column as text.

    Returns
    -------
    DataFrame
        ``endpoint``, ``measure`` (the pair is unique), ``label`` (what the number is, in words),
        ``unit_label`` (its unit in words), ``format`` (one of :data:`MEASURE_FORMATS`),
        ``interval`` (one of :data:`MEASURE_INTERVALS`: what ``lower``/``upper`` hold),
        ``registered`` (yes for the registered outcomes of the trial), ``key_days`` (days shown
        in the report's key results, ``|``-separated; empty: every row).

    Examples
    --------
    >>> m = measures().set_index(["endpoint", "measure"])
    >>> m.loc[("overall_survival", "survival_prop"), ["label", "format", "interval"]].tolist()
    ['Overall survival', 'percent', 'ci95']
    """
    return _fresh("measures.csv")

_SUBGROUP_COLUMNS = ("variable", "variable_label", "column", "subgroup", "label", "values", "lower", "upper")


def _parse_subgroups(text: str, file: str) -> pd.DataFrame:
    """``subgroups.csv``: one row per subgroup; a subgroup is a set of values (``values``, ``|``-separated)
    or a numeric interval ``lower <= x < upper`` (either bound may be blank), never both."""
    import io

    import numpy as np

    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in _SUBGROUP_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{file}: missing column(s) {missing}; expected {list(_SUBGROUP_COLUMNS)}")
    frame = frame[list(_SUBGROUP_COLUMNS)].apply(lambda c: c.str.strip())
    bounds = {}
    for bound in ("lower", "upper"):
        values = pd.to_numeric(frame[bound].replace("", np.nan), errors="coerce")
        bad = values.isna() & frame[bound].ne("")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"{file} line {row}: {bound} must be a number or empty, not {frame[bound].iloc[row - 2]!r}")
        bounds[bound] = values.astype("float64")
    for row, r in enumerate(frame.itertuples(index=False), start=2):
        where = f"{file} line {row} ({r.variable}, {r.subgroup})"
        if not all((r.variable, r.variable_label, r.column, r.subgroup, r.label)):
            raise ValueError(f"{where}: variable, variable_label, column, subgroup and label must not be empty")
        is_range = bool(r.lower or r.upper)
        if bool(r.values) == is_range:
            raise ValueError(f"{where}: give either values (|-separated) or a lower and/or upper bound, not both")
        lo, hi = bounds["lower"].iloc[row - 2], bounds["upper"].iloc[row - 2]
        if is_range and not (np.isnan(lo) or np.isnan(hi) or lo < hi):
            raise ValueError(f"{where}: lower must be below upper (the interval is lower <= x < upper)")
    for column in (["variable", "subgroup"], ["label"]):
        doubled = frame[frame.duplicated(column, keep=False)]
        if len(doubled):
            raise ValueError(f"{file}: {' and '.join(column)} listed more than once: "
                             f"{sorted(set(map(tuple, doubled[column].to_numpy())))}")
    for variable, rows in frame.groupby("variable", sort=False):
        if rows["column"].nunique() != 1 or rows["variable_label"].nunique() != 1:
            raise ValueError(f"{file}: the rows of variable {variable!r} must share one column and variable_label")
        values = [v for vs in rows["values"] if vs for v in vs.split("|")]
        if len(values) != len(set(values)):
            raise ValueError(f"{file}: a value belongs to two subgroups of {variable!r}: {values}")
        ranges = sorted((-np.inf if np.isnan(lo) else lo, np.inf if np.isnan(hi) else hi)
                        for lo, hi, vs in zip(bounds["lower"][rows.index], bounds["upper"][rows.index], rows["values"])
                        if not vs)
        if any(a[1] > b[0] for a, b in zip(ranges, ranges[1:])):
            raise ValueError(f"{file}: the intervals of {variable!r} overlap: {ranges}")
    return frame.assign(lower=bounds["lower"], upper=bounds["upper"]).reset_index(drop=True)


_PARSERS["subgroups.csv"] = _parse_subgroups
__all__ += ["subgroups"]


def subgroups() -> pd.DataFrame:
    """The subgroups of the descriptive subgroup analyses (``subgroups.csv``), a fresh copy.

    Returns
    -------
    DataFrame
        One row per subgroup, in display order: ``variable`` (key), ``variable_label`` (words),
        ``column`` (the subjects column it reads), ``subgroup`` (key), ``label`` (the group name on
        pages and in results), ``values`` (text, ``|``-separated, for a categorical subgroup; ""
        otherwise), ``lower``, ``upper`` (float, NaN when blank: the interval ``lower <= x < upper``).

    Examples
    --------
    >>> subgroups().loc[lambda s: s["variable"] == "age", "label"].tolist()
    ['Age < 65 years', 'Age >= 65 years']
    """
    return _fresh("subgroups.csv")


# The CTCAE v5.0 term table lives in its own module; importing it registers its file.
from .ctcae import ctcae_lookup, ctcae_term_key, ctcae_v5_terms, nearest_ctcae_terms  # noqa: E402

#: The files of the definitions folder, in the order :func:`check_folder` reads them (every
#: parser registered above, the CTCAE table's by importing its module).
FILES = tuple(_PARSERS)
__all__ += ["ctcae_v5_terms", "ctcae_term_key", "ctcae_lookup", "nearest_ctcae_terms"]
