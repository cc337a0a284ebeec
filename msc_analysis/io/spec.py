"""The cut format v1 as data: column definitions, lab units, identifier patterns, trial facts.

Everything here is read from the CSV/YAML files in ``msc_analysis/definitions`` so that a
statistician can review the rules without reading Python.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd
import yaml

__all__ = [
    "TABLES",
    "ColumnSpec",
    "column_specs",
    "table_columns",
    "lab_units",
    "lab_test_names",
    "normalise_test_name",
    "canonical_lab_test",
    "lab_test_lookalike",
    "cut_limits",
    "identifier_patterns",
    "trial_facts",
    "BOOLEAN_SPELLINGS",
    "RECORD_DATES",
    "RECORD_KEYS",
    "safety_definitions",
]

#: Tables of a v1 cut, in the order they are read and documented.
TABLES = (
    "subjects",
    "infusions",
    "vitals",
    "labs",
    "blood_gases",
    "pcr",
    "imaging",
    "adverse_events",
)

#: The date that places each record in time (used for the cutoff and for day 0).
RECORD_DATES = {
    "subjects": "screened_on",
    "infusions": "infused_on",
    "vitals": "measured_at",
    "labs": "collected_at",
    "blood_gases": "collected_at",
    "pcr": "collected_on",
    "imaging": "performed_on",
    "adverse_events": "onset_on",
}

#: Columns that identify a record from one cut to the next.
RECORD_KEYS = {
    "subjects": ("subject_id",),
    "infusions": ("subject_id",),
    "vitals": ("subject_id", "measured_at"),
    "labs": ("subject_id", "collected_at", "test"),
    "blood_gases": ("subject_id", "collected_at"),
    "pcr": ("subject_id", "collected_on"),
    "imaging": ("subject_id", "performed_on"),
    "adverse_events": ("subject_id", "term", "onset_on"),
}

#: Accepted spellings of booleans (case-insensitive). The documented spelling is yes/no.
BOOLEAN_SPELLINGS = {
    True: ("yes", "y", "true", "t", "1", "sim", "s"),
    False: ("no", "n", "false", "f", "0", "nao", "não"),
}


@dataclass(frozen=True)
class ColumnSpec:
    table: str
    column: str
    type: str
    column_required: bool
    value_required: bool
    min: float | None
    max: float | None
    allowed: tuple[str, ...]
    unit: str
    description: str

    def expected(self) -> str:
        """Plain-language description of an acceptable value."""
        unit = f" ({self.unit})" if self.unit else ""
        if self.type in ("number", "integer"):
            kind = "a whole number" if self.type == "integer" else "a number"
            if self.min is not None and self.max is not None:
                return f"{kind} from {_fmt(self.min)} to {_fmt(self.max)}{unit}"
            if self.min is not None:
                return f"{kind} of at least {_fmt(self.min)}{unit}"
            return f"{kind}{unit}"
        if self.type == "category":
            return "one of " + ", ".join(self.allowed)
        if self.type == "date":
            return "a date written YYYY-MM-DD, e.g. 2020-07-25"
        if self.type == "datetime":
            return "a date and time written YYYY-MM-DDTHH:MM, e.g. 2020-07-25T14:30"
        if self.type == "boolean":
            return "yes or no"
        if self.type == "id":
            return "a pseudonymous code of letters, digits, '-' or '_' (at most 32 characters)"
        return "text"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _files():
    return resources.files("msc_analysis") / "definitions"


@lru_cache(maxsize=1)
def column_specs() -> tuple[ColumnSpec, ...]:
    """All column definitions of the cut format v1 (``definitions/cut_v1_columns.csv``)."""
    with (_files() / "cut_v1_columns.csv").open(encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return tuple(
        ColumnSpec(
            table=r.table,
            column=r.column,
            type=r.type,
            column_required=r.column_required == "yes",
            value_required=r.value_required == "yes",
            min=float(r.min) if r.min else None,
            max=float(r.max) if r.max else None,
            allowed=tuple(r.allowed.split("|")) if r.allowed else (),
            unit=r.unit,
            description=r.description,
        )
        for r in raw.itertuples(index=False)
    )


def table_columns(table: str) -> tuple[ColumnSpec, ...]:
    """Column definitions of one table, in file order."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; the cut format has {', '.join(TABLES)}")
    return tuple(c for c in column_specs() if c.table == table)


@lru_cache(maxsize=1)
def lab_units() -> pd.DataFrame:
    """Accepted units per lab test and the factor to the reporting unit (``lab_units.csv``)."""
    with (_files() / "lab_units.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, dtype={"test": str, "unit": str, "report_unit": str, "factor": float})


@lru_cache(maxsize=1)
def lab_test_names() -> pd.DataFrame:
    """Spellings of lab test names and their canonical test (``lab_test_names.csv``).

    Returns
    -------
    DataFrame
        ``spelling``, ``test`` (canonical name), ``note``, ``key`` (the spelling normalised by
        :func:`normalise_test_name`). Each key appears once.
    """
    with (_files() / "lab_test_names.csv").open(encoding="utf-8") as fh:
        names = pd.read_csv(fh, dtype=str, keep_default_na=False, comment="#")
    names["key"] = names["spelling"].map(normalise_test_name)
    clash = names[names["key"].duplicated(keep=False)]
    if len(clash):
        raise ValueError(f"lab_test_names.csv lists one spelling twice: {sorted(clash['spelling'])}")
    return names


def normalise_test_name(name: str) -> str:
    """A test name without case, spaces, accents or hyphens (dashes), for matching.

    Examples
    --------
    >>> [normalise_test_name(n) for n in ("Proteína C-reativa", "hs CRP", "hs\u2013crp")]
    ['proteinacreativa', 'hscrp', 'hscrp']
    """
    decomposed = unicodedata.normalize("NFKD", str(name))
    kept = (ch for ch in decomposed
            if not unicodedata.combining(ch) and not ch.isspace()
            and unicodedata.category(ch) != "Pd")
    return "".join(kept).casefold()


def canonical_lab_test(tests: pd.Series) -> pd.Series:
    """The canonical test of each value of ``labs.test`` (missing when it is not a listed spelling).

    Examples
    --------
    >>> canonical_lab_test(pd.Series(["crp", "PCR", "Proteína C reativa", "hsCRP", "ferritin"])).tolist()
    ['CRP', 'CRP', 'CRP', 'CRP', <NA>]
    """
    names = lab_test_names()
    lookup = dict(zip(names["key"], names["test"]))
    spellings = {t: lookup.get(normalise_test_name(t)) for t in tests.dropna().unique()}
    return tests.map(spellings).astype("string")


def lab_test_lookalike(name: str) -> str | None:
    """The listed test that ``name`` looks like (``lab_test_lookalikes.csv``), or None.

    Examples
    --------
    >>> lab_test_lookalike("CRP quantitativa"), lab_test_lookalike("Prot. C reativa"), lab_test_lookalike("ferritin")
    ('CRP', 'CRP', None)
    """
    key = normalise_test_name(name)
    return next((test for fragment, test in _lookalikes() if fragment in key), None)


@lru_cache(maxsize=1)
def _lookalikes() -> tuple[tuple[str, str], ...]:
    with (_files() / "lab_test_lookalikes.csv").open(encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False, comment="#")
    return tuple((normalise_test_name(r.fragment), r.test) for r in raw.itertuples(index=False))


@lru_cache(maxsize=1)
def _cut_limits() -> dict:
    with (_files() / "cut_limits.yaml").open(encoding="utf-8") as fh:
        limits = yaml.safe_load(fh)
    if not isinstance(limits.get("earliest_plausible_date"), dt.date):
        raise ValueError("cut_limits.yaml: earliest_plausible_date must be a date YYYY-MM-DD")
    return limits


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
    return dict(_cut_limits())


@lru_cache(maxsize=1)
def identifier_patterns() -> tuple[tuple[re.Pattern, str], ...]:
    """Column-name patterns that look like direct identifiers (``identifier_columns.csv``)."""
    with (_files() / "identifier_columns.csv").open(encoding="utf-8") as fh:
        raw = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return tuple((re.compile(r.pattern, re.IGNORECASE), r.identifier) for r in raw.itertuples())


@lru_cache(maxsize=1)
def trial_facts() -> dict:
    """Registered facts of the trial (``trial.yaml``): planned dates, dose target, levels."""
    with (_files() / "trial.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def _safety_yaml() -> dict:
    with (_files() / "safety.yaml").open(encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)
    missing = {"ctcae_version", "adverse_events", "dose", "monitoring"} - set(rules)
    if missing:
        raise ValueError(f"safety.yaml lacks the sections {sorted(missing)}")
    return {**rules, "ctcae_version": str(rules["ctcae_version"])}


def safety_definitions() -> dict:
    """The safety and feasibility rules of ``definitions/safety.yaml`` (read once; a fresh copy per call).

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
    return copy.deepcopy(_safety_yaml())
