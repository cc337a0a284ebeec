"""Read a REDCap records export (raw, flat CSV) and turn REDCap values into cut values.

A longitudinal export has one row per record, event and, for a repeating instrument, instance:
``record_id`` (the project's first field), ``redcap_event_name``, ``redcap_repeat_instrument``,
``redcap_repeat_instance``, then the fields (a checkbox as one ``field___code`` column per box,
1 ticked, 0 not) and one ``<form>_complete`` column per instrument.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .dictionary import Dictionary, Field, read_csv_text
from .mapping import Column, Mapping
from .problems import RECORDS, RedcapProblem

__all__ = ["EVENT", "INSTRUMENT", "INSTANCE", "LINE", "read_records", "convert_values", "export_columns"]

EVENT, INSTRUMENT, INSTANCE = "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"
LINE = "__line"  # line of the export (header = line 1), added by read_records

_DATE = {"YMD": (r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD"), "DMY": (r"\d{2}/\d{2}/\d{4}", "DD/MM/YYYY"),
         "MDY": (r"\d{2}/\d{2}/\d{4}", "MM/DD/YYYY")}
#: (start, length) of year, month and day in each export date format.
_PARTS = {"YMD": ((0, 4), (5, 2), (8, 2)), "DMY": ((6, 4), (3, 2), (0, 2)), "MDY": ((6, 4), (0, 2), (3, 2))}


def export_columns(dictionary: Dictionary) -> list[str]:
    """The columns REDCap writes for ``dictionary``, in order (without the ``redcap_*`` columns)."""
    out, forms = [], []
    for f in dictionary.fields.values():
        if forms and f.form != forms[-1]:
            out.append(f"{forms[-1]}_complete")
        if not forms or f.form != forms[-1]:
            forms.append(f.form)
        out += [f"{f.name}___{code}" for code in f.choices] if f.field_type == "checkbox" else [f.name]
    return out + [f"{forms[-1]}_complete"]


def read_records(source: str | Path | bytes, dictionary: Dictionary, mapping: Mapping,
                 problems: list) -> pd.DataFrame | None:
    """Read the records export and check its rows against the dictionary and the mapping.

    Returns
    -------
    DataFrame or None
        Every cell as text, plus :data:`LINE`; None when the file cannot be used at all.
    """
    frame = read_csv_text(source, RECORDS, problems)
    if frame is None:
        return None
    rid = dictionary.record_id
    if not len(frame.columns) or frame.columns[0] != rid:
        problems.append(RedcapProblem(RECORDS, 1, frame.columns[0] if len(frame.columns) else None, None,
                                      f"the first column must be the record id, the data dictionary's first "
                                      f"field '{rid}'; export the records of the same project, raw, as CSV"))
        return None
    if EVENT not in frame:
        problems.append(RedcapProblem(RECORDS, 1, EVENT, None, "column missing: expected the export of a "
                                      "longitudinal project (one row per record and event)"))
        return None
    for c in (INSTRUMENT, INSTANCE):
        if c not in frame:
            frame[c] = ""
    known = set(export_columns(dictionary))
    unknown = [c for c in frame.columns if c not in known and not c.startswith("redcap_")
               and not c.endswith("_timestamp")]
    if unknown:
        problems.append(RedcapProblem(RECORDS, 1, None, ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""),
                                      "columns that are not fields of the data dictionary: export the "
                                      "dictionary and the records of the same project at the same time"))
    needed = {_column_name(c, dictionary) for t in mapping.tables.values() if t for c in t.columns if c.field}
    needed.add(_column_name(mapping.subject_code, dictionary))
    for c in sorted(n for n in needed if n and n not in frame):
        problems.append(RedcapProblem(RECORDS, 1, c, None, "column missing; the mapping reads this field"))
    frame[LINE] = np.arange(2, len(frame) + 2)
    _check_rows(frame, rid, mapping, problems)
    return frame


def _column_name(c: Column, dictionary: Dictionary) -> str | None:
    f = dictionary.fields.get(c.field) if c and c.field else None
    if f is None:
        return None
    return f"{f.name}___{c.code}" if f.field_type == "checkbox" else f.name


def _where(frame: pd.DataFrame, rid: str, mask) -> list[tuple]:
    rows = frame.loc[mask, [LINE, rid, EVENT, INSTANCE]]
    return list(rows.itertuples(index=False, name=None))


def _check_rows(frame: pd.DataFrame, rid: str, mapping: Mapping, problems: list) -> None:
    def add(mask, column, value_of, what):
        for line, record, event, instance in _where(frame, rid, mask):
            problems.append(RedcapProblem(RECORDS, int(line), column, value_of(event), what,
                                          record=record, event=event, instance=instance or None))

    add(frame[rid].str.strip() == "", rid, lambda e: None, "empty record id")
    add(~frame[EVENT].isin(mapping.events), EVENT, lambda e: e,
        "an event the mapping does not know (its events: " + ", ".join(mapping.events) + ")")
    instrument = frame[INSTRUMENT]
    repeating = sorted(mapping.repeating_instruments)
    for line, record, event, instance, name in frame.loc[(instrument != "") & ~instrument.isin(repeating),
                                                         [LINE, rid, EVENT, INSTANCE, INSTRUMENT]].itertuples(
                                                             index=False, name=None):
        problems.append(RedcapProblem(RECORDS, int(line), INSTRUMENT, name, "a repeating instrument the mapping "
                                      "does not know (its repeating instruments: " + ", ".join(repeating) + ")",
                                      record=record, event=event, instance=instance or None))
    bad_instance = (instrument != "") & ~frame[INSTANCE].str.fullmatch(r"[1-9][0-9]{0,8}")
    add(bad_instance, INSTANCE, lambda e: None, "expected the repeat instance, a whole number from 1")
    add((instrument == "") & (frame[INSTANCE] != ""), INSTANCE, lambda e: None,
        "a repeat instance without a repeating instrument")
    twice = frame.duplicated([rid, EVENT, INSTRUMENT, INSTANCE], keep="first")
    add(twice, None, lambda e: None, "this record, event and instance appear on an earlier line too")


def convert_values(raw: pd.Series, f: Field, c: Column, date_order: str) -> tuple[pd.Series, pd.Series, str]:
    """REDCap values of one field as cut values.

    Returns
    -------
    (values, bad, expected)
        ``values``: text as the cut format writes it (empty = missing); ``bad``: True where the
        REDCap value is not a valid value of the field; ``expected``: what a valid value is.

    Examples
    --------
    >>> from msc_analysis.redcap.dictionary import Field
    >>> f = Field("scr_date", "screening", "text", "date_dmy", "Screening date", {}, False, 3)
    >>> raw = pd.Series(["2020-12-31", "31/12/2020", ""])
    >>> v, bad, why = convert_values(raw, f, Column("screened_on", "scr_date"), "YMD")
    >>> v.tolist(), bad.tolist()
    (['2020-12-31', '', ''], [False, True, False])
    """
    text = raw.fillna("").astype(str).str.strip()
    empty = text == ""
    kind = f.kind
    if kind in ("date", "datetime"):
        pattern, shown = _DATE[date_order]
        seconds = "seconds" in f.validation
        if kind == "datetime":
            pattern += r" \d{2}:\d{2}" + (r":\d{2}" if seconds else "")
            shown += " HH:MM" + (":SS" if seconds else "")
        shaped = text.str.fullmatch(pattern).fillna(False).astype(bool)
        y, m, d = (text.str.slice(a, a + n) for a, n in _PARTS[date_order])
        iso = y + "-" + m + "-" + d
        if kind == "datetime":
            iso = iso + "T" + text.str.slice(11)
        form = "%Y-%m-%d" + ("T%H:%M" if kind == "datetime" else "") + (":%S" if seconds else "")
        real = shaped & pd.to_datetime(iso.where(shaped), errors="coerce", format=form).notna()
        entered = {"date_dmy": "day first", "date_mdy": "month first"}.get(f.validation.replace("time", "")
                                                                           .replace("_seconds", ""), "")
        why = (f"expected a real date{' and time' if kind == 'datetime' else ''} written {shown}, as REDCap "
               f"exports it with the mapping's dates_exported_as: {date_order}")
        if entered and date_order == "YMD":
            why += (f" (the field is entered {entered}, {f.validation}, but REDCap's API and default export "
                    "write every date year first; if the export used another date format, set "
                    "dates_exported_as)")
        return iso.where(real, "").fillna(""), ~empty & ~real, why
    if kind == "number":
        if "comma" in f.validation:
            text = text.str.replace(",", ".", regex=False)
        ok = text.str.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?").fillna(False).astype(bool)
        return text.where(ok, ""), ~empty & ~ok, f"expected a number ({f.describe()})"
    if kind in ("boolean", "checkbox"):
        value = text.map({"1": "yes", "0": "no"})
        return value.fillna(""), ~empty & value.isna(), "expected 1 (yes) or 0 (no), REDCap's raw codes"
    if kind == "choice":
        known = text.isin(list(f.choices))
        value = text.map({k: v or "" for k, v in (c.categories or {}).items()})
        return value.where(known, "").fillna(""), ~empty & ~known, \
            "an unknown choice code: the data dictionary lists " + ", ".join(
                f"{k} ({v})" for k, v in f.choices.items())
    return text, pd.Series(False, index=text.index), ""
