"""Headline results: one tidy CSV per notebook, the same columns everywhere.

The schema is documented in ``docs/results.md``. Estimates are numbers; formatting for
display happens elsewhere.

Investigators open these files in a spreadsheet, and text in them can come from a cut (an arm,
a test name). A spreadsheet runs a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula,
so text cells are written neutralised (see :func:`neutralise_formula`) and read back as written
by the notebook (:func:`read_results`, :func:`read_result_file`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import definitions

__all__ = ["RESULT_COLUMNS", "FORMULA_TRIGGERS", "PageTimeFrames", "TIME_FRAME_LABELS", "page_time_frames",
           "with_method_note", "result_rows", "write_results", "read_results",
           "read_result_file", "neutralise_formula", "restore_formula"]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Text that needs the apostrophe: a trigger first, or apostrophes then a trigger (so that text
# which already looks neutralised keeps its own apostrophes and the round trip is exact).
_NEEDS_APOSTROPHE = re.compile("'*[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")

#: Columns of every results CSV, in order.
RESULT_COLUMNS = ("endpoint", "measure", "group", "day", "estimate", "ci95_lower", "ci95_upper",
                  "n", "unit", "method")
_NUMERIC = ("day", "estimate", "ci95_lower", "ci95_upper")


def result_rows(endpoint: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Put headline measures into the results schema.

    Parameters
    ----------
    endpoint : str
        Endpoint name, e.g. ``"overview"``.
    rows : DataFrame
        Must hold ``measure``, ``estimate``, ``unit``, ``method``; may hold ``group``
        (default ``"all"``), ``day``, ``ci95_lower``, ``ci95_upper``, ``n`` (missing if absent).

    Returns
    -------
    DataFrame
        Exactly the columns of :data:`RESULT_COLUMNS`; ``day``, ``estimate`` and the CI
        bounds are floats, ``n`` is an integer (missing values allowed).

    Examples
    --------
    >>> r = result_rows("overview", pd.DataFrame({"measure": ["treated"], "estimate": [12],
    ...                 "unit": ["subjects"], "method": ["count"]}))
    >>> list(r.columns) == list(RESULT_COLUMNS), r.loc[0, "group"]
    (True, 'all')
    """
    missing = {"measure", "estimate", "unit", "method"} - set(rows.columns)
    if missing:
        raise ValueError(f"results need the columns {sorted(missing)}")
    out = rows.copy()
    out.insert(0, "endpoint", endpoint)
    if "group" not in out:
        out["group"] = "all"
    for column in _NUMERIC:
        out[column] = pd.to_numeric(out[column], errors="raise").astype("float64") if column in out else float("nan")
    out["n"] = pd.to_numeric(out["n"], errors="raise").astype("Int64") if "n" in out else pd.NA
    return out[list(RESULT_COLUMNS)].reset_index(drop=True)


def neutralise_formula(value):
    """``value`` with a leading apostrophe if a spreadsheet would run it as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets one ``'``
    in front; so does text made of apostrophes followed by one of those, so that
    :func:`restore_formula` can always give back the original. Anything else, and every
    value that is not text, is returned unchanged.

    Examples
    --------
    >>> neutralise_formula('=HYPERLINK("http://x","y")')[:3]
    "'=H"
    >>> neutralise_formula("-2+3"), neutralise_formula("mg/dL"), neutralise_formula(-2.5)
    ("'-2+3", 'mg/dL', -2.5)
    """
    if isinstance(value, str) and _NEEDS_APOSTROPHE.match(value):
        return "'" + value
    return value


def restore_formula(value):
    """Undo :func:`neutralise_formula`: drop the one apostrophe it added, nothing else.

    Examples
    --------
    >>> restore_formula("'=1+1"), restore_formula("''=1"), restore_formula("'quoted'")
    ('=1+1', "'=1", "'quoted'")
    """
    if isinstance(value, str) and value.startswith("'") and _NEEDS_APOSTROPHE.match(value, 1):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]


def write_results(results: pd.DataFrame, results_dir: str | Path, notebook_stem: str) -> Path:
    """Write ``results`` to ``<results_dir>/<notebook_stem>.csv`` and return the path.

    Text cells are written through :func:`neutralise_formula` (a cell that a spreadsheet would
    run as a formula gets a leading apostrophe); numeric columns are written as they are.
    ``results`` is not modified.
    """
    if list(results.columns) != list(RESULT_COLUMNS):
        raise ValueError(f"results must have exactly the columns {RESULT_COLUMNS}; use result_rows()")
    path = Path(results_dir) / f"{notebook_stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = results.copy()
    for column in _text_columns(safe):
        safe[column] = safe[column].map(neutralise_formula)
    safe.to_csv(path, index=False)
    return path


def read_result_file(path: str | Path) -> pd.DataFrame:
    """One results CSV with the text as the notebook wrote it (the added apostrophes removed)."""
    frame = pd.read_csv(path)
    for column in _text_columns(frame):
        frame[column] = frame[column].map(restore_formula)
    return frame


def read_results(results_dir: str | Path) -> pd.DataFrame:
    """Every results CSV in ``results_dir`` stacked into one table (empty if there is none).

    Text cells come back as the notebooks wrote them (see :func:`read_result_file`).
    """
    paths = sorted(Path(results_dir).glob("*.csv")) if str(results_dir) else []
    frames = [read_result_file(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]


def _days_text(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


@dataclass(frozen=True)
class PageTimeFrames:
    """The time frames a notebook uses: ``values`` (key -> int or tuple of int), ``note`` (text
    naming each value the page sets instead of the definitions; "" when it sets none) and
    ``description`` (every value and where it comes from, for footnotes)."""

    values: dict
    note: str
    description: str


#: How each time-frame key reads on a page.
TIME_FRAME_LABELS = {"report_days": "days reported", "horizon_days": "horizon (days)",
                     "discharge_days": "discharge reported at days",
                     "low_score_max": "highest Liao total counted as low"}


def page_time_frames(endpoint: str, **page_values) -> PageTimeFrames:
    """The registered time frames of ``endpoint``, with the values a notebook page sets.

    A page parameter left at ``None`` means "as the definitions say" (``definitions/trial.yaml``,
    ``time_frames``); a value that differs from the definitions is named in ``note``, which the
    page prints and adds to the ``method`` of its results (:func:`with_method_note`).

    Parameters
    ----------
    endpoint : str
        A key of :data:`msc_analysis.definitions.TIME_FRAME_KEYS`.
    **page_values
        Key of that endpoint's time frames -> the page's value (``None``, a whole number of
        days or threshold, or a sequence of days).

    Examples
    --------
    >>> page_time_frames("overall_survival", report_days=None).description
    'days reported: 30, 60 as in definitions/trial.yaml'
    >>> page_time_frames("overall_survival", report_days=[28, 60]).note
    'days reported: 28, 60 set on this page instead of 30, 60 as in definitions/trial.yaml'
    """
    defined = definitions.time_frames(endpoint)
    unknown = sorted(set(page_values) - set(defined))
    if unknown:
        raise ValueError(f"{endpoint} has no time frame(s) {unknown}; expected some of {sorted(defined)}")
    values, notes, parts = dict(defined), [], []
    for key, registered in defined.items():
        value = page_values.get(key)
        if value is not None:
            values[key] = tuple(int(v) for v in value) if isinstance(registered, tuple) else int(value)
        if values[key] != registered:
            text = (f"{TIME_FRAME_LABELS.get(key, key)}: {_days_text(values[key])} set on this page instead of "
                    f"{_days_text(registered)} as in definitions/trial.yaml")
            notes.append(text)
            parts.append(text)
        else:
            parts.append(f"{TIME_FRAME_LABELS.get(key, key)}: {_days_text(registered)} as in definitions/trial.yaml")
    return PageTimeFrames(values, "; ".join(notes), "; ".join(parts))


def with_method_note(results: pd.DataFrame, note: str) -> pd.DataFrame:
    """``results`` with ``note`` appended to every ``method`` (unchanged when ``note`` is "").

    Examples
    --------
    >>> r = pd.DataFrame({"method": ["count"]})
    >>> with_method_note(r, "horizon_days 28 set on this page")["method"].tolist()
    ['count; horizon_days 28 set on this page']
    """
    out = results.copy()
    if note:
        out["method"] = out["method"].astype(str) + "; " + note
    return out
