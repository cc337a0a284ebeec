"""Read the mapping (YAML) that says which REDCap field fills which cut column, and check it.

The mapping is read strictly, like ``cut.yaml`` (:mod:`msc_analysis.io.meta`): a safe loader,
no aliases, no duplicate keys, every key known. :func:`check_mapping` then checks it against
the data dictionary. The format is documented in ``docs/redcap.md``; the shipped example is
``data/redcap/mapping.yaml``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..io.meta import NAME_RULE, _Refused, _StrictLoader, check_name
from ..io.spec import TABLES, table_columns
from .dictionary import Dictionary
from .problems import MAPPING, RedcapProblem

__all__ = ["Column", "TableMap", "Mapping", "read_mapping", "check_mapping", "DATE_ORDERS"]

#: ``dates_exported_as``: the date format chosen when the records were exported. REDCap's API
#: and its default export write every date as YMD, whatever the field's entry format.
DATE_ORDERS = ("YMD", "DMY", "MDY")
#: Cut column type -> how a REDCap field of each kind may fill it.
_FITS = {"date": ("date",), "datetime": ("datetime",), "number": ("number",), "integer": ("number",),
         "boolean": ("boolean", "checkbox"), "category": ("choice",), "text": ("text", "choice")}
_EVENT = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class Column:
    """Where one cut column comes from: a REDCap ``field`` (in ``event`` for a per-record table;
    ``code`` for one box of a checkbox field; ``categories`` from choice code to cut value) or a
    constant ``value``."""

    column: str
    field: str | None = None
    event: str | None = None
    code: str | None = None
    categories: dict | None = None
    value: str | None = None


@dataclass(frozen=True)
class TableMap:
    """How one cut table is filled: one row per record (``instrument`` None), or one row per
    filled ``instrument`` (one per instance if ``repeating``) in ``events``."""

    table: str
    instrument: str | None
    repeating: bool
    events: tuple[str, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Mapping:
    study_id: str
    synthetic: bool
    description: str
    dates_exported_as: str
    events: tuple[str, ...]
    subject_code: Column
    tables: dict[str, TableMap]

    @property
    def repeating_instruments(self) -> set[str]:
        return {t.instrument for t in self.tables.values() if t.repeating}


_TOP = {"mapping_version": True, "study_id": True, "synthetic": False, "description": False,
        "dates_exported_as": True, "events": True, "subject_code": True, "tables": True}


def read_mapping(source: str | Path | bytes, problems: list) -> Mapping | None:
    """Read a mapping file (path or bytes); append every problem to ``problems``; None if unusable."""
    def refuse(key, value, what, line=None):
        problems.append(RedcapProblem(MAPPING, line, key, None if value is None else str(value), what))

    before = len(problems)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        doc = yaml.load(data.decode("utf-8-sig"), Loader=_StrictLoader)  # noqa: S506 (safe, no aliases)
    except OSError as exc:
        refuse(None, None, f"cannot be read ({exc.strerror})")
        return None
    except UnicodeDecodeError:
        refuse(None, None, "not UTF-8 text")
        return None
    except _Refused as exc:
        refuse(exc.key, None, exc.what.replace("cut.yaml", "the mapping"), exc.line)
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        refuse(None, None, f"not readable as YAML ({getattr(exc, 'problem', None) or exc})",
               mark.line + 1 if mark is not None else None)
        return None
    if not _keys(doc, "the mapping", _TOP, refuse):
        return None
    if doc.get("mapping_version") != 1:
        refuse("mapping_version", doc.get("mapping_version"), "expected 1")
    study = doc.get("study_id")
    if not check_name(study):
        refuse("study_id", study, f"expected {NAME_RULE} (quote it)")
    synthetic = doc.get("synthetic", False)
    if not isinstance(synthetic, bool):
        refuse("synthetic", synthetic, "expected true (invented data) or false (real patients' data)")
    description = doc.get("description", "") or ""
    if not isinstance(description, str):
        refuse("description", description, "expected text")
    order = doc.get("dates_exported_as")
    if order not in DATE_ORDERS:
        refuse("dates_exported_as", order, "expected YMD (REDCap's API and default export), DMY or MDY: "
               "the date format chosen when the records were exported")
    events = doc.get("events")
    if not (isinstance(events, list) and events and all(isinstance(e, str) and _EVENT.fullmatch(e) for e in events)
            and len(set(events)) == len(events)):
        refuse("events", events, "expected the list of the project's unique event names, each once "
               "(e.g. [screening_arm_1, follow_up_arm_1])")
        events = []
    subject_code = _column("subject_id", doc.get("subject_code"), "subject_code", refuse)
    tables = {}
    raw_tables = doc.get("tables")
    if _keys(raw_tables, "tables", {t: True for t in TABLES}, refuse):
        for name, spec in raw_tables.items():
            if name in TABLES:
                tables[name] = _table(name, spec, refuse)
    if len(problems) > before:
        return None
    return Mapping(study, synthetic, description, order, tuple(events), subject_code, tables)


def _keys(obj, where: str, allowed: dict, refuse) -> bool:
    """Check that ``obj`` is a mapping with the ``allowed`` keys (name -> required)."""
    if not isinstance(obj, dict):
        refuse(where, None, "expected keys: " + ", ".join(allowed))
        return False
    for key in obj:
        if key not in allowed:
            refuse(f"{where}: {key}", None, "not a known key (expected " + ", ".join(allowed) + ")")
    for key, required in allowed.items():
        if required and key not in obj:
            refuse(f"{where}: {key}", None, "this key is required")
    return True


def _table(name: str, spec, refuse) -> TableMap | None:
    where = f"tables: {name}"
    if not _keys(spec, where, {"rows": True, "event": False, "columns": True}, refuse):
        return None
    rows, event = spec.get("rows"), spec.get("event")
    instrument, repeating, events = None, False, ()
    if rows == "per record":
        if not (isinstance(event, str) or event is None):
            refuse(f"{where}: event", event, "expected one event name")
    elif isinstance(rows, dict) and _keys(rows, f"{where}: rows", {"instrument": False, "repeating_instrument": False,
                                                                   "events": True}, refuse):
        instrument = rows.get("repeating_instrument", rows.get("instrument"))
        repeating = "repeating_instrument" in rows
        if ("instrument" in rows) == repeating or not isinstance(instrument, str):
            refuse(f"{where}: rows", None, "give exactly one of instrument (one row per record that filled "
                   "it) or repeating_instrument (one row per instance)")
        events = rows.get("events")
        if not (isinstance(events, list) and events and all(isinstance(e, str) for e in events)):
            refuse(f"{where}: rows: events", events, "expected a list of event names")
            events = []
        if event is not None:
            refuse(f"{where}: event", event, "only for a table with rows: per record (give events under rows)")
    else:
        refuse(f"{where}: rows", rows, "expected 'per record' or {instrument: NAME, events: [...]} "
               "or {repeating_instrument: NAME, events: [...]}")
        return None
    columns = spec.get("columns")
    if not isinstance(columns, dict) or not columns:
        refuse(f"{where}: columns", None, "expected one entry per cut column: column: {field: NAME}")
        return None
    cols = []
    for column, src in columns.items():
        c = _column(str(column), src, f"{where}: columns: {column}", refuse)
        if c is not None:
            cols.append(Column(c.column, c.field, c.event or (event if instrument is None else None),
                               c.code, c.categories, c.value))
    return TableMap(name, instrument, repeating, tuple(events), tuple(cols))


def _column(column: str, src, where: str, refuse) -> Column | None:
    keys = {"field": False, "event": False, "code": False, "categories": False, "value": False}
    if not _keys(src, where, keys, refuse):
        return None
    if ("field" in src) == ("value" in src):
        refuse(where, None, "give exactly one of field (a REDCap field) or value (the same text on every row)")
        return None
    if "value" in src:
        if not isinstance(src["value"], str) or len(src) > 1:
            refuse(where, src["value"], "value: expected text in quotes, and no other key")
            return None
        return Column(column, value=src["value"])
    field, event, code, cats = src.get("field"), src.get("event"), src.get("code"), src.get("categories")
    ok = isinstance(field, str) and (event is None or isinstance(event, str))
    if code is not None:
        code = str(code) if isinstance(code, (int, str)) and not isinstance(code, bool) else None
        ok &= code is not None
    if cats is not None:
        if not isinstance(cats, dict) or any(isinstance(k, bool) or not isinstance(k, (int, str)) for k in cats) \
                or any(v is not None and not isinstance(v, str) for v in cats.values()):
            refuse(where + ": categories", None, "expected one line per choice code: 'CODE: cut value' "
                   "(quote the value; ~ for an empty cell)")
            return None
        cats = {str(k): v for k, v in cats.items()}
    if not ok:
        refuse(where, None, "expected field: NAME, optionally event: NAME, code: CODE (checkbox), categories")
        return None
    return Column(column, field, event, code, cats)


def check_mapping(mapping: Mapping, dictionary: Dictionary) -> list[RedcapProblem]:
    """Every problem of ``mapping`` against the data dictionary (unknown or identifier fields,
    uncovered choice codes, a field of the wrong type, unknown events or instruments)."""
    out: list[RedcapProblem] = []

    def refuse(where, value, what):
        out.append(RedcapProblem(MAPPING, None, where, value, what))

    events, forms = set(mapping.events), set(dictionary.forms)
    _check_source(mapping.subject_code, "subject_code", None, "id", (), mapping, dictionary, refuse)
    for name, t in mapping.tables.items():
        where = f"tables: {name}"
        if t is None:
            continue
        if t.instrument is not None and t.instrument not in forms:
            refuse(f"{where}: rows", t.instrument, "not an instrument (Form Name) of the data dictionary")
        for e in t.events:
            if e not in events:
                refuse(f"{where}: rows: events", e, "not one of the events listed under events")
        specs = {s.column: s for s in table_columns(name)}
        given = {c.column for c in t.columns}
        for s in specs.values():
            if s.column_required and s.column not in given and s.column != "subject_id":
                refuse(f"{where}: columns", s.column, "this column of the cut format is required; map it")
        for c in t.columns:
            spec = specs.get(c.column)
            if spec is None or c.column == "subject_id":
                refuse(f"{where}: columns: {c.column}", None, "subject_id comes from subject_code" if spec else
                       f"not a column of {name}.csv (expected " + ", ".join(specs) + ")")
                continue
            _check_source(c, f"{where}: columns: {c.column}", t, spec.type, spec.allowed, mapping, dictionary,
                          refuse)
    return out


def _check_source(c: Column, where: str, t: TableMap | None, cut_type: str, allowed: tuple, mapping: Mapping,
                  dictionary: Dictionary, refuse) -> None:
    if c is None or c.field is None:
        return
    f = dictionary.fields.get(c.field)
    if f is None:
        refuse(where, c.field, "not a field of the data dictionary")
        return
    if f.identifier:
        refuse(where, c.field, "this field is marked as an identifier (Identifier? = y) in the data dictionary "
               "and can never be carried into a cut")
        return
    if t is not None and t.instrument is not None:
        if f.form != t.instrument and c.field != dictionary.record_id:
            refuse(where, c.field, f"this field is on the instrument {f.form}, not on {t.instrument} "
                   "which gives this table's rows")
        if c.event is not None:
            refuse(where, c.event, "event: only for a table with rows: per record")
    elif c.field != dictionary.record_id:
        if c.event is None:
            refuse(where, c.field, "name the event the value is read from (event: NAME here or under the table)")
        elif c.event not in mapping.events:
            refuse(where, c.event, "not one of the events listed under events")
    if cut_type == "id":
        if f.kind != "text":
            refuse(where, c.field, f"a subject code must be a text field; this one is {f.describe()}")
        return
    if f.kind not in _FITS[cut_type]:
        need = {"date": "a text field validated as a date (date_ymd, date_dmy or date_mdy)",
                "datetime": "a text field validated as a date and time (datetime_ymd, datetime_dmy, ...)",
                "number": "a number field (text validated as number or integer, or calc)",
                "integer": "a number field (text validated as integer or number, or calc)",
                "boolean": "a yesno, truefalse or checkbox field", "category": "a dropdown or radio field",
                "text": "a text, notes, dropdown or radio field"}[cut_type]
        refuse(where, c.field, f"this field is {f.describe()}; the cut column needs {need}")
        return
    if f.kind == "checkbox":
        if c.code not in f.choices:
            refuse(where, c.code, f"code: expected one of the checkbox's codes ({', '.join(f.choices)})")
    elif c.code is not None:
        refuse(where, c.code, "code: only for a checkbox field")
    if f.kind == "choice":
        cats = c.categories or {}
        for code in f.choices:
            if code not in cats:
                refuse(where, code, f"choice code {code} ('{f.choices[code]}') of {c.field} has no category")
        for code, value in cats.items():
            if code not in f.choices:
                refuse(where, code, f"not a choice code of {c.field} (codes: {', '.join(f.choices)})")
            elif allowed and value is not None and value.lower() not in {a.lower() for a in allowed}:
                refuse(where, value, "not a value of this cut column (expected one of " + ", ".join(allowed) + ")")
    elif c.categories is not None:
        refuse(where, None, "categories: only for a dropdown or radio field")
