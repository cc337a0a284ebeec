"""The cut format v1 as data: column definitions, lab units, identifier patterns, trial facts.

Everything here comes from the CSV/YAML files in ``msc_analysis/definitions``, read through
:mod:`msc_analysis.definitions` (the only reader of that folder), so that a statistician can
review the rules without reading Python. ``cut_limits``, ``lab_units`` and ``trial_facts`` are
the definitions readers themselves, importable from here for the loader's modules.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from .. import definitions
from ..definitions import cut_limits, lab_units, trial_facts

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


@lru_cache(maxsize=1)
def column_specs() -> tuple[ColumnSpec, ...]:
    """All column definitions of the cut format v1 (``definitions/cut_v1_columns.csv``)."""
    raw = definitions.cut_v1_columns()
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


def lab_test_names() -> pd.DataFrame:
    """Spellings of lab test names and their canonical test (``lab_test_names.csv``).

    Returns
    -------
    DataFrame
        ``spelling``, ``test`` (canonical name), ``note``, ``key`` (the spelling normalised by
        :func:`normalise_test_name`). Each key appears once. A fresh copy per call.
    """
    return _lab_test_names().copy()


@lru_cache(maxsize=1)
def _lab_test_names() -> pd.DataFrame:
    names = definitions.lab_test_names()
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
    names = _lab_test_names()
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
    raw = definitions.lab_test_lookalikes()
    return tuple((normalise_test_name(r.fragment), r.test) for r in raw.itertuples(index=False))


@lru_cache(maxsize=1)
def identifier_patterns() -> tuple[tuple[re.Pattern, str], ...]:
    """Column-name patterns that look like direct identifiers (``identifier_columns.csv``)."""
    raw = definitions.identifier_columns()
    return tuple((re.compile(r.pattern, re.IGNORECASE), r.identifier) for r in raw.itertuples())
