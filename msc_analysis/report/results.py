"""Headline results: one tidy CSV per notebook, the same columns everywhere (schema v2).

The schema is documented in ``docs/results.md``. Estimates are numbers; formatting for
display happens elsewhere (:mod:`.headlines`, which reads the words of every measure from
``definitions/measures.csv``). A measure without a row there cannot be written.

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

__all__ = ["RESULT_COLUMNS", "SCHEMA_VERSION", "V1_COLUMNS", "INTERVALS", "FORMULA_TRIGGERS", "PageTimeFrames",
           "TIME_FRAME_LABELS", "UnknownMeasureError", "OldResultsError", "page_time_frames", "with_method_note",
           "measure_info", "result_rows", "write_results", "read_results", "read_result_file", "fill_cut_id",
           "neutralise_formula", "restore_formula"]

#: First characters that make a spreadsheet read a text cell as a formula (OWASP CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Text that needs the apostrophe: a trigger first, or apostrophes then a trigger (so that text
# which already looks neutralised keeps its own apostrophes and the round trip is exact).
_NEEDS_APOSTROPHE = re.compile("'*[" + re.escape("".join(FORMULA_TRIGGERS)) + "]")

#: Version of the results schema these functions write (``docs/results.md``).
SCHEMA_VERSION = 2
#: Columns of every results CSV, in order.
RESULT_COLUMNS = ("cut_id", "endpoint", "measure", "group", "day", "estimate", "lower", "upper", "interval",
                  "n", "unit", "method")
#: Columns of a results CSV of schema v1 (kit versions before the schema had ``cut_id``).
V1_COLUMNS = ("endpoint", "measure", "group", "day", "estimate", "ci95_lower", "ci95_upper", "n", "unit", "method")
#: What ``lower`` and ``upper`` may hold: ``ci95``, ``iqr``, ``cri95``, or nothing ("").
INTERVALS = tuple(definitions.MEASURE_INTERVALS)
_NUMERIC = ("day", "estimate", "lower", "upper")
_TEXT = ("cut_id", "endpoint", "measure", "group", "interval", "unit", "method")
_WHOLE_FORMATS = ("count", "flag")


class UnknownMeasureError(ValueError):
    """A results row names a measure that ``definitions/measures.csv`` does not describe."""


class OldResultsError(ValueError):
    """A results file of an older schema (written by an older version of the kit)."""


def measure_info(endpoint: str, measure: str) -> dict:
    """The row of ``definitions/measures.csv`` for one measure (``label``, ``unit_label``, ``format``,
    ``interval``, ``registered``, ``key_days``).

    Raises
    ------
    UnknownMeasureError
        When the measure has no row there.

    Examples
    --------
    >>> measure_info("adverse_events", "serious_ae_prop")["label"]
    'Subjects with a serious adverse event'
    """
    table = definitions.measures().set_index(["endpoint", "measure"])
    if (endpoint, measure) not in table.index:
        raise _unknown(endpoint, [measure])
    return table.loc[(endpoint, measure)].to_dict()


def _unknown(endpoint: str, measures) -> UnknownMeasureError:
    return UnknownMeasureError(
        f"results of endpoint {endpoint!r} name measure(s) {sorted(set(map(str, measures)))} that have no row in "
        "msc_analysis/definitions/measures.csv: add one per measure (endpoint, measure, label, unit_label, format, "
        "interval, registered, key_days) so that the report can show it in words")


def _check_measures(frame: pd.DataFrame) -> pd.DataFrame:
    """The measures.csv row of every row of ``frame`` (``endpoint``, ``measure``), in order."""
    table = definitions.measures()
    merged = frame[["endpoint", "measure"]].astype(str).merge(table, on=["endpoint", "measure"], how="left")
    unknown = merged[merged["label"].isna()]
    for endpoint, rows in unknown.groupby("endpoint", sort=True):
        raise _unknown(endpoint, rows["measure"])
    return merged


def _limit(rows: pd.DataFrame, name: str) -> pd.Series:
    old = f"ci95_{name}"
    if name in rows and old in rows:
        raise ValueError(f"results give both {name!r} and {old!r}; give one of them")
    column = name if name in rows else old if old in rows else None
    if column is None:
        return pd.Series(float("nan"), index=rows.index)
    return pd.to_numeric(rows[column], errors="raise").astype("float64")


def result_rows(endpoint: str, rows: pd.DataFrame, cut_id: str = "") -> pd.DataFrame:
    """Put headline measures into the results schema (v2).

    Parameters
    ----------
    endpoint : str
        Endpoint name, e.g. ``"overview"``.
    rows : DataFrame
        Must hold ``measure``, ``estimate``, ``unit``, ``method``; may hold ``group``
        (default ``"all"``), ``day``, the limits as ``lower``/``upper`` or (as the endpoint
        modules name them) ``ci95_lower``/``ci95_upper``, ``interval`` (else the measure's
        interval in ``definitions/measures.csv``) and ``n``.
    cut_id : str
        The cut the rows belong to ("" leaves it to :func:`write_results`).

    Returns
    -------
    DataFrame
        Exactly the columns of :data:`RESULT_COLUMNS`; ``day``, ``estimate``, ``lower``,
        ``upper`` are floats, ``n`` an integer (``Int64``); ``interval`` is empty where both
        limits are missing.

    Raises
    ------
    UnknownMeasureError
        For a measure without a row in ``definitions/measures.csv``.
    ValueError
        For missing columns, an unknown ``interval``, or a count that is not a whole number.

    Examples
    --------
    >>> r = result_rows("overview", pd.DataFrame({"measure": ["subjects"], "estimate": [12],
    ...                 "unit": ["subjects"], "method": ["count"], "n": [12]}), cut_id="c1")
    >>> list(r.columns) == list(RESULT_COLUMNS), r.loc[0, "group"], r.loc[0, "cut_id"], r.loc[0, "interval"]
    (True, 'all', 'c1', '')
    >>> result_rows("overview", pd.DataFrame({"measure": ["subjcts"], "estimate": [1], "unit": ["subjects"],
    ...             "method": ["count"]}))
    Traceback (most recent call last):
    ...
    msc_analysis.report.results.UnknownMeasureError: results of endpoint 'overview' name measure(s) ['subjcts'] that have no row in msc_analysis/definitions/measures.csv: add one per measure (endpoint, measure, label, unit_label, format, interval, registered, key_days) so that the report can show it in words
    """
    missing = {"measure", "estimate", "unit", "method"} - set(rows.columns)
    if missing:
        raise ValueError(f"results need the columns {sorted(missing)}")
    out = rows.copy()
    out["endpoint"] = endpoint
    out["cut_id"] = "" if cut_id is None else str(cut_id)
    if "group" not in out:
        out["group"] = "all"
    info = _check_measures(out.reset_index(drop=True)).set_index(out.index)
    out["lower"], out["upper"] = _limit(out, "lower"), _limit(out, "upper")
    out = out.drop(columns=[c for c in ("ci95_lower", "ci95_upper") if c in out])
    for column in ("day", "estimate"):
        out[column] = pd.to_numeric(out[column], errors="raise").astype("float64") if column in out else float("nan")
    given = out["interval"].fillna("").astype(str) if "interval" in out else pd.Series("", index=out.index)
    interval = given.where(given != "", info["interval"])
    out["interval"] = interval.where(out["lower"].notna() | out["upper"].notna(), "")
    wrong = sorted(set(out["interval"]) - set(INTERVALS))
    if wrong:
        raise ValueError(f"interval must be one of {list(INTERVALS)}, not {wrong}")
    whole = info["format"].isin(_WHOLE_FORMATS) & out["estimate"].notna()
    fractional = out.loc[whole & (out["estimate"] != out["estimate"].round()), "measure"]
    if len(fractional):
        raise ValueError(f"counts must be whole numbers: {sorted(set(fractional))} of {endpoint!r}")
    out["n"] = pd.to_numeric(out["n"], errors="raise").astype("Int64") if "n" in out else pd.Series(
        pd.NA, index=out.index, dtype="Int64")
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


def _whole(values: pd.Series, where) -> pd.Series:
    """``values`` as objects, the whole numbers among the chosen rows as int (so "12", not "12.0")."""
    out = values.astype(object)
    pick = pd.Series(where, index=values.index).astype(bool) & values.notna() & values.map(
        lambda v: pd.notna(v) and abs(float(v)) != float("inf") and float(v) == round(float(v)))
    out[pick] = [int(round(float(v))) for v in values[pick]]
    return out


def write_results(results: pd.DataFrame, results_dir: str | Path, notebook_stem: str,
                  cut_id: str | None = None) -> Path:
    """Write ``results`` to ``<results_dir>/<notebook_stem>.csv`` (schema v2) and return the path.

    ``cut_id``, when given, fills the ``cut_id`` column (pass ``cut.cut_id``; rows made by
    :func:`result_rows` without it have it empty). Counts (format ``count`` or ``flag`` in
    ``definitions/measures.csv``) and whole days are written as integers. Text cells are written
    through :func:`neutralise_formula` (a cell that a spreadsheet would run as a formula gets a
    leading apostrophe); numbers are written as they are. ``results`` is not modified.

    Raises
    ------
    ValueError
        When the columns are not :data:`RESULT_COLUMNS` (use :func:`result_rows`).
    UnknownMeasureError
        For a measure without a row in ``definitions/measures.csv``.
    """
    if list(results.columns) != list(RESULT_COLUMNS):
        raise ValueError(f"results must have exactly the columns {RESULT_COLUMNS}; use result_rows()")
    info = _check_measures(results.reset_index(drop=True)) if len(results) else pd.DataFrame(columns=["format"])
    path = Path(results_dir) / f"{notebook_stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = results.copy().reset_index(drop=True)
    if cut_id is not None:
        safe["cut_id"] = str(cut_id)
    for column in ("cut_id", "interval"):  # an all-empty column may have been read as numbers
        values = safe[column].astype(object)
        safe[column] = values.where(values.notna(), "").astype(str)
    safe["n"] = pd.to_numeric(safe["n"], errors="raise").astype("Int64")
    safe["estimate"] = _whole(pd.to_numeric(safe["estimate"]).astype("float64"),
                              info["format"].isin(_WHOLE_FORMATS).to_numpy())
    safe["day"] = _whole(pd.to_numeric(safe["day"]).astype("float64"), True)
    for column in _TEXT:
        safe[column] = safe[column].map(neutralise_formula)
    safe.to_csv(path, index=False)
    return path


def read_result_file(path: str | Path) -> pd.DataFrame:
    """One results CSV (schema v2) with the text as the notebook wrote it (the added apostrophes removed).

    Text columns come back as text ("" where empty), ``day``, ``estimate``, ``lower``, ``upper``
    as floats (``inf`` kept), ``n`` as ``Int64``.

    Raises
    ------
    OldResultsError
        For a file of schema v1 (``ci95_lower``/``ci95_upper``, no ``cut_id``): written by an
        older version of the kit.
    ValueError
        For a file whose columns are not those of :data:`RESULT_COLUMNS`.
    """
    head = pd.read_csv(path, nrows=0)
    columns = list(head.columns)
    if columns != list(RESULT_COLUMNS):
        if "ci95_lower" in columns or "cut_id" not in columns:
            raise OldResultsError(
                f"{path} is a results file of an older schema (v1: columns ci95_lower/ci95_upper, no cut_id), "
                f"written by an older version of msc-analysis; this kit reads schema v{SCHEMA_VERSION} "
                "(docs/results.md). Run the report of that cut again with this kit.")
        raise ValueError(f"{path} does not have the columns of a results file {list(RESULT_COLUMNS)}; "
                         f"it has {columns}")
    frame = pd.read_csv(path, dtype={c: str for c in _TEXT}, keep_default_na=False,
                        na_values={c: [""] for c in (*_NUMERIC, "n")})
    for column in _NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
    frame["n"] = pd.to_numeric(frame["n"], errors="raise").astype("Int64")
    for column in _TEXT:
        frame[column] = frame[column].map(restore_formula)
    return frame


def read_results(results_dir: str | Path) -> pd.DataFrame:
    """Every results CSV in ``results_dir`` stacked into one table (empty if there is none).

    Text cells come back as the notebooks wrote them (see :func:`read_result_file`, which also
    says what happens to a file of an older schema).
    """
    paths = sorted(Path(results_dir).glob("*.csv")) if str(results_dir) else []
    frames = [read_result_file(p) for p in paths]
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]


def fill_cut_id(results_dir: str | Path, cut_id: str) -> list[Path]:
    """Fill the empty ``cut_id`` of every results file in ``results_dir`` with ``cut_id`` (for a runner
    whose pages wrote their rows without it); return the files rewritten.

    Raises
    ------
    ValueError
        When a file already names another cut.
    """
    changed = []
    for path in sorted(Path(results_dir).glob("*.csv")):
        frame = read_result_file(path)
        named = set(frame["cut_id"]) - {""}
        if named - {cut_id}:
            raise ValueError(f"{path} holds results of cut(s) {sorted(named)}, not {cut_id}")
        if "" in set(frame["cut_id"]):
            write_results(frame, path.parent, path.stem, cut_id=cut_id)
            changed.append(path)
    return changed


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
