"""Problems found in a REDCap export or its mapping, and the one error that lists all of them."""
from __future__ import annotations

from dataclasses import dataclass

from ..io.problems import CutValidationError, Problem, _short, _sort_key, visible

__all__ = ["RedcapProblem", "RedcapImportError", "DICTIONARY", "RECORDS", "MAPPING", "COMMAND"]

#: ``file`` of a problem, by the input it was found in.
DICTIONARY, RECORDS, MAPPING, COMMAND = "data dictionary", "records export", "mapping", "command line"


@dataclass(frozen=True)
class RedcapProblem(Problem):
    """One thing wrong with the REDCap input, placed by REDCap's own coordinates.

    ``row`` is the line of the records export (the header is line 1) or of the data
    dictionary; ``column`` the REDCap field (or the mapping key); ``record``, ``event`` and
    ``instance`` the REDCap record id, unique event name and repeat instance when known.
    """

    record: str | None = None
    event: str | None = None
    instance: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.event is not None:
            where.append(f"event {self.event}")
        if self.instance:
            where.append(f"instance {self.instance}")
        if self.column is not None:
            where.append(f"field '{self.column}'" if self.file in (RECORDS, DICTIONARY) else self.column)
        got = "" if self.value is None else f"value '{_short(self.value)}': "
        return visible(f"{', '.join(where)}: {got}{self.expected}")


class RedcapImportError(CutValidationError):
    """The REDCap export cannot be imported; nothing was written. ``problems`` lists every one."""

    def __init__(self, problems: list[Problem], limit: int = 200):
        self.cut = "REDCap export"
        self.problems = sorted(problems, key=_sort_key)
        n = len(self.problems)
        lines = [f"The REDCap export cannot be imported: {n} problem{'s' if n != 1 else ''} found. "
                 "No cut folder was written. Correct the export or the mapping and run again."]
        shown = _first_of_each_kind(self.problems)
        lines += [f"  - {p}" if isinstance(p, Problem) else f"    {p}" for p in shown[:limit]]
        if len(shown) > limit:
            lines.append(f"  ... and more (see RedcapImportError.problems, {n} in all).")
        ValueError.__init__(self, "\n".join(lines))


def _first_of_each_kind(problems: list[Problem], keep: int = 3) -> list:
    """The problems, with a run of more than ``keep`` of one kind (same input, field and what
    was expected: typically a whole column exported in another format) shortened to its first
    ``keep`` and a line saying how many more there are."""
    kinds: dict = {}
    for p in problems:
        kinds.setdefault((p.file, p.column, p.expected), []).append(p)
    out, told = [], set()
    for p in problems:
        kind = (p.file, p.column, p.expected)
        same = kinds[kind]
        if len(same) <= keep + 1 or same.index(p) < keep:
            out.append(p)
        elif kind not in told:
            told.add(kind)
            out.append(visible(f"... and {len(same) - keep} more of the same kind in field '{p.column}'"))
    return out
