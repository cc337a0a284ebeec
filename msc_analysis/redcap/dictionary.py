"""Read a REDCap data dictionary (the CSV that REDCap exports as "Data Dictionary")."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .problems import DICTIONARY, RedcapProblem

__all__ = ["Field", "Dictionary", "read_dictionary", "read_csv_text", "DATE_TYPES", "DATETIME_TYPES",
           "NUMBER_TYPES", "CHOICE_TYPES", "BOOLEAN_TYPES"]

#: The dictionary columns the import reads (REDCap's export has a few more; they are not used).
NAME, FORM, TYPE, LABEL = "Variable / Field Name", "Form Name", "Field Type", "Field Label"
CHOICES = "Choices, Calculations, OR Slider Labels"
VALIDATION, IDENTIFIER = "Text Validation Type OR Show Slider Number", "Identifier?"
_COLUMNS = (NAME, FORM, TYPE, LABEL, CHOICES, VALIDATION, IDENTIFIER)
#: The same columns as REDCap's API names them (``content=metadata``).
_API_NAMES = {"field_name": NAME, "form_name": FORM, "field_type": TYPE, "field_label": LABEL,
              "select_choices_or_calculations": CHOICES, "text_validation_type_or_show_slider_number": VALIDATION,
              "identifier": IDENTIFIER}

DATE_TYPES = ("date_ymd", "date_dmy", "date_mdy")
DATETIME_TYPES = tuple(f"datetime{s}_{o}" for s in ("", "_seconds") for o in ("ymd", "dmy", "mdy"))
NUMBER_TYPES = ("number", "integer", "number_1dp", "number_2dp", "number_3dp", "number_4dp",
                "number_comma_decimal", "number_1dp_comma_decimal", "number_2dp_comma_decimal",
                "number_3dp_comma_decimal", "number_4dp_comma_decimal")
CHOICE_TYPES = ("dropdown", "radio")
BOOLEAN_TYPES = ("yesno", "truefalse")


@dataclass(frozen=True)
class Field:
    """One field of the data dictionary.

    ``kind`` is what the import reads it as: ``date``, ``datetime``, ``number``, ``boolean``,
    ``choice``, ``checkbox`` or ``text``; ``validation`` REDCap's text validation type (for
    example ``date_dmy``); ``choices`` maps each raw code to its label.
    """

    name: str
    form: str
    field_type: str
    validation: str
    label: str
    choices: dict[str, str]
    identifier: bool
    line: int

    @property
    def kind(self) -> str:
        if self.field_type == "text" and self.validation in DATE_TYPES:
            return "date"
        if self.field_type == "text" and self.validation in DATETIME_TYPES:
            return "datetime"
        if (self.field_type == "text" and self.validation in NUMBER_TYPES) or self.field_type in ("calc", "slider"):
            return "number"
        if self.field_type in BOOLEAN_TYPES:
            return "boolean"
        if self.field_type in CHOICE_TYPES:
            return "choice"
        if self.field_type == "checkbox":
            return "checkbox"
        return "text"

    def describe(self) -> str:
        """The field's type in REDCap's words, e.g. ``text (date_dmy)`` or ``radio``."""
        return self.field_type + (f" ({self.validation})" if self.validation else "")


@dataclass(frozen=True)
class Dictionary:
    """The fields of a project, in dictionary order; ``record_id`` is the first field."""

    fields: dict[str, Field]

    @property
    def record_id(self) -> str:
        return next(iter(self.fields))

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.form for f in self.fields.values()))


def read_csv_text(source: str | Path | bytes, what: str, problems: list) -> pd.DataFrame | None:
    """Read a CSV (a path or its bytes) with every cell as text; ``None`` and a problem if unreadable."""
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False,
                           encoding="utf-8-sig")
    except UnicodeDecodeError:
        problems.append(RedcapProblem(what, None, None, None, "not UTF-8 text; export it again as CSV"))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        problems.append(RedcapProblem(what, None, None, None, f"not readable as CSV ({exc})"))
    except OSError as exc:
        problems.append(RedcapProblem(what, None, None, None, f"cannot be read ({exc.strerror})"))
    return None


def _choices(text: str) -> dict[str, str] | None:
    """``"1, Female | 2, Male"`` -> ``{"1": "Female", "2": "Male"}``; None if not of that form."""
    out = {}
    for part in text.split("|"):
        code, comma, label = part.strip().partition(",")
        if not comma or not code.strip() or code.strip() in out:
            return None
        out[code.strip()] = label.strip()
    return out


def read_dictionary(source: str | Path | bytes, problems: list) -> Dictionary | None:
    """Read a REDCap data dictionary (path or CSV bytes); append every problem to ``problems``.

    Both forms REDCap writes are read: the "Data Dictionary" download (``Variable / Field Name``,
    ...) and the API's metadata export (``field_name``, ...).

    Returns
    -------
    Dictionary or None
        None when the file cannot be used at all (the reason is in ``problems``).

    Examples
    --------
    >>> header = ",".join(f'"{c}"' for c in _COLUMNS)
    >>> dd = (header + '\\nrecord_id,screening,text,Record ID,,,\\n'
    ...       'sex,screening,radio,Sex,"1, Female | 2, Male",,\\n').encode()
    >>> d = read_dictionary(dd, problems := [])
    >>> d.record_id, d.fields["sex"].kind, d.fields["sex"].choices, problems
    ('record_id', 'choice', {'1': 'Female', '2': 'Male'}, [])
    """
    frame = read_csv_text(source, DICTIONARY, problems)
    if frame is None:
        return None
    if NAME not in frame and "field_name" in frame:  # the API's export of the same dictionary
        frame = frame.rename(columns=_API_NAMES)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        problems.append(RedcapProblem(DICTIONARY, 1, None, None, "columns missing: " + ", ".join(missing)
                                      + " (export the data dictionary from REDCap as CSV, unchanged)"))
        return None
    fields: dict[str, Field] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        r = dict(zip(frame.columns, row))
        name, kind = r[NAME].strip(), r[TYPE].strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append(RedcapProblem(DICTIONARY, i, NAME, name, "expected a REDCap variable name "
                                          "(lower-case letters, digits and '_', a letter first)"))
            continue
        if name in fields:
            problems.append(RedcapProblem(DICTIONARY, i, name, None, "this field is listed twice"))
            continue
        choices = {}
        if kind in CHOICE_TYPES + ("checkbox",):
            choices = _choices(r[CHOICES])
            if choices is None:
                problems.append(RedcapProblem(DICTIONARY, i, name, r[CHOICES],
                                              "expected choices written '1, Label | 2, Label'"))
                choices = {}
        elif kind == "yesno":
            choices = {"1": "Yes", "0": "No"}
        elif kind == "truefalse":
            choices = {"1": "True", "0": "False"}
        fields[name] = Field(name, r[FORM].strip(), kind, r[VALIDATION].strip(), r[LABEL].strip(), choices,
                             r[IDENTIFIER].strip().lower() == "y", i)
    if not fields:
        problems.append(RedcapProblem(DICTIONARY, None, None, None, "no fields; expected one row per field"))
        return None
    return Dictionary(fields)
