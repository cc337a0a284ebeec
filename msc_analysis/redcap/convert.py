"""Turn a checked REDCap export into the tables of a cut (every value as cut-format text)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.spec import table_columns
from .dictionary import Dictionary
from .mapping import Column, Mapping, TableMap
from .problems import RECORDS, RedcapProblem
from .records import EVENT, INSTANCE, INSTRUMENT, LINE, convert_values

__all__ = ["Origin", "convert", "SUBJECT_CODE"]

#: The cut format's rule for subject codes (``subjects.subject_id``, type ``id``).
SUBJECT_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class Origin:
    """Where each cell of one converted table came from: per column, the REDCap field and, per
    row, the record, event, instance and export line (for messages about the written cut)."""

    fields: dict[str, str]
    record: np.ndarray
    event: dict[str, np.ndarray]
    instance: dict[str, np.ndarray]
    line: dict[str, np.ndarray]


def convert(frame: pd.DataFrame, dictionary: Dictionary, mapping: Mapping,
            problems: list) -> tuple[dict[str, pd.DataFrame], dict[str, Origin]]:
    """The cut tables (text) of a records export read by :func:`~.records.read_records`.

    Problems (a value that is not valid for its field, a record id that is not a subject
    code) are appended to ``problems`` with the record, event, instance and field.
    """
    rid = dictionary.record_id
    twice = frame.duplicated([rid, EVENT, INSTRUMENT, INSTANCE])
    if twice.any():  # already reported; the first is read so that every other problem is found too
        frame = frame[~twice]
    base = frame[frame[INSTRUMENT] == ""]
    records = pd.Index(frame[rid].drop_duplicates())
    codes = _subject_codes(base, records, dictionary, mapping, problems)
    tables, origins = {}, {}
    for name, t in mapping.tables.items():
        if t.instrument is None:
            tables[name], origins[name] = _per_record(name, t, base, records, codes, dictionary, mapping, problems)
        else:
            tables[name], origins[name] = _per_row(name, t, frame, codes, dictionary, mapping, problems)
    return tables, origins


def _lookup(base: pd.DataFrame, rid: str, records: pd.Index, event: str, column: str) -> pd.DataFrame:
    rows = base[base[EVENT] == event].set_index(rid)
    out = rows.reindex(records)[[column, LINE]] if column in rows else pd.DataFrame(
        {column: "", LINE: rows[LINE].reindex(records)})
    return out.assign(**{column: out[column].fillna("")})


def _subject_codes(base, records, dictionary, mapping, problems) -> pd.Series:
    c, rid = mapping.subject_code, dictionary.record_id
    if c.field == rid:
        codes = pd.Series(records, index=records)
        lines = base.drop_duplicates(rid).set_index(rid)[LINE].reindex(records)
        rule = ("the record id is not a subject code of the cut format (letters, digits, '-' or '_', at most "
                "32 characters); name another field under subject_code in the mapping")
    else:
        got = _lookup(base, rid, records, c.event, c.field)
        codes, lines = got[c.field].str.strip(), got[LINE]
        rule = ("expected the subject code of the cut format (letters, digits, '-' or '_', at most 32 "
                "characters), from the field subject_code names")
    bad = ~codes.str.fullmatch(SUBJECT_CODE.pattern).fillna(False).astype(bool)
    twice = codes.duplicated(keep=False) & ~bad
    for record in records[bad.to_numpy() | twice.to_numpy()]:
        line = lines.get(record)
        problems.append(RedcapProblem(RECORDS, None if pd.isna(line) else int(line), c.field, codes[record],
                                      rule if bad[record] else "this subject code is given to more than one record",
                                      record=record, event=None if c.field == rid else c.event))
    return codes


def _fill(name: str, columns: list[tuple[Column, pd.Series, pd.DataFrame]], dictionary, mapping, problems):
    """Convert each column's REDCap values; ``where`` holds the record, event, instance, line per row."""
    specs = [s.column for s in table_columns(name)]
    out, fields, events, instances, lines = {}, {}, {}, {}, {}
    for c, raw, where in sorted(columns, key=lambda x: specs.index(x[0].column)):
        if c.value is not None:
            out[c.column] = pd.Series(c.value, index=where.index)
        else:
            f = dictionary.fields[c.field]
            values, bad, why = convert_values(raw, f, c, mapping.dates_exported_as)
            for i in np.flatnonzero(bad.to_numpy()):
                w = where.iloc[i]
                problems.append(RedcapProblem(RECORDS, int(w["line"]), raw.name, str(raw.iloc[i]), why,
                                              record=w["record"], event=w["event"], instance=w["instance"] or None))
            out[c.column] = values
            fields[c.column] = raw.name
        events[c.column], instances[c.column] = where["event"].to_numpy(), where["instance"].to_numpy()
        lines[c.column] = where["line"].to_numpy()
    return out, fields, events, instances, lines


def _per_record(name, t: TableMap, base, records, codes, dictionary, mapping, problems):
    rid = dictionary.record_id
    columns = []
    for c in t.columns:
        col = _export_column(c, dictionary)
        if c.value is not None:
            lines, event, raw = np.zeros(len(records)), "", pd.Series([""] * len(records))
        else:
            got = _lookup(base, rid, records, c.event, col)
            lines, event = got[LINE].fillna(0).to_numpy(), c.event
            raw = got[col].reset_index(drop=True).rename(col)
        where = pd.DataFrame({"record": records, "event": event, "instance": "", "line": lines})
        columns.append((c, raw, where))
    out, fields, events, instances, lines = _fill(name, columns, dictionary, mapping, problems)
    table = pd.DataFrame({"subject_id": codes.to_numpy(), **{k: v.to_numpy() for k, v in out.items()}})
    return table, Origin(fields, records.to_numpy(), events, instances, lines)


def _per_row(name, t: TableMap, frame, codes, dictionary, mapping, problems):
    rid = dictionary.record_id
    keep = list(dict.fromkeys([rid, EVENT, INSTRUMENT, INSTANCE, LINE] + [
        c for c in (_export_column(c, dictionary) for c in t.columns) if c is not None and c in frame]))
    chosen = frame[EVENT].isin(t.events) & (frame[INSTRUMENT] == (t.instrument if t.repeating else ""))
    rows = frame.loc[chosen.to_numpy(), keep]
    if not t.repeating:  # a row of the event belongs to the instrument only if one of its fields is filled
        own = [_export_column(c, dictionary) for c in t.columns if c.field and c.field != rid
               and dictionary.fields[c.field].field_type != "checkbox"]
        own = [c for c in own if c in rows]
        rows = rows[(rows[own] != "").any(axis=1)] if own else rows.iloc[:0]
    rows = rows.reset_index(drop=True)
    where = pd.DataFrame({"record": rows[rid], "event": rows[EVENT], "instance": rows[INSTANCE],
                          "line": rows[LINE]})
    columns = [(c, rows[col].rename(col) if col else pd.Series([""] * len(rows)), where)
               for c in t.columns for col in [_export_column(c, dictionary)]]
    out, fields, events, instances, lines = _fill(name, columns, dictionary, mapping, problems)
    table = pd.DataFrame({"subject_id": rows[rid].map(codes).fillna("").to_numpy(),
                          **{k: v.to_numpy() for k, v in out.items()}})
    return table, Origin(fields, rows[rid].to_numpy(), events, instances, lines)


def _export_column(c: Column, dictionary: Dictionary) -> str | None:
    if c.field is None:
        return None
    f = dictionary.fields[c.field]
    return f"{f.name}___{c.code}" if f.field_type == "checkbox" else f.name
