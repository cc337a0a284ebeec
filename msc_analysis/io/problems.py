"""Problems found in a cut, and the one error that lists all of them."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import pandas as pd

__all__ = ["Problem", "CutValidationError", "visible"]

#: Unicode categories never shown raw: control characters (ESC starts terminal escape
#: sequences), invisible format characters (bidirectional overrides, zero-width), surrogates,
#: private-use and unassigned code points, and line/paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def visible(text: object) -> str:
    r"""``text`` with every control or invisible character written as an escape (``\x1b``).

    Text from a cut may hold terminal escape sequences or bidirectional overrides; messages
    show them escaped so that they never act on a terminal or reorder what is read.

    Examples
    --------
    >>> print(visible("Fever\x1b[2J\u202e; ok"))
    Fever\x1b[2J\u202e; ok
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(_escape(ch) if unicodedata.category(ch) in _HIDDEN else ch for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the row number a spreadsheet shows (the header is row 1, the first data row
    is row 2); ``None`` when the problem concerns the whole file or column. ``value`` is the
    cell exactly as found; ``str()`` shows it (and every other part) with control characters
    escaped (see :func:`visible`).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        got = "" if self.value is None else f"value '{_short(self.value)}': "
        return visible(f"{', '.join(where)}: {got}{self.expected}")


def _short(value: str, limit: int = 60) -> str:
    value = str(value)
    return value if len(value) <= limit else value[: limit - 3] + "..."


class CutValidationError(ValueError):
    """The cut has problems; nothing was loaded. ``problems`` lists every one."""

    def __init__(self, cut: str, problems: list[Problem], limit: int = 200):
        self.cut = cut
        self.problems = sorted(problems, key=_sort_key)
        n = len(self.problems)
        lines = [
            f"The data cut at {visible(cut)} cannot be used: {n} problem{'s' if n != 1 else ''} found. "
            "Nothing was loaded and the files were not changed. Correct the export and run again.",
        ]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if n > limit:
            lines.append(f"  ... and {n - limit} more (see CutValidationError.problems).")
        super().__init__("\n".join(lines))

    def to_frame(self) -> pd.DataFrame:
        """Every problem as a table: file, row, column, value, expected."""
        return pd.DataFrame(
            [(p.file, p.row, p.column, p.value, p.expected) for p in self.problems],
            columns=["file", "row", "column", "value", "expected"],
        ).astype({"row": "Int64"})


def _sort_key(p: Problem):
    return (p.file, p.row if p.row is not None else 0, p.column or "", p.expected)
