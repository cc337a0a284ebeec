"""The one input check every metric function makes (the columns it needs are there), and fast
``isin`` and ``positions`` lookups of subject codes."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..io.text_lookup import isin, positions

__all__ = ["isin", "positions", "require_columns"]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` that ``frame`` lacks.

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b", "c"], "labs")
    Traceback (most recent call last):
    ...
    ValueError: labs lacks the column(s) ['b', 'c']
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {missing}")
