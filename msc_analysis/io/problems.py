"""Problems found in a cut, and the one error that lists all of them."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["Problem", "CutValidationError"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the row number a spreadsheet shows (the header is row 1, the first data row
    is row 2); ``None`` when the problem concerns the whole file or column.
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
        return f"{', '.join(where)}: {got}{self.expected}"


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
            f"The data cut at {cut} cannot be used: {n} problem{'s' if n != 1 else ''} found. "
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
