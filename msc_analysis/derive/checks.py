"""The one input check every metric function makes (the columns it needs are there), fast
``isin`` and ``positions`` lookups of subject codes, and ``row_order``, a fast stable sort of rows."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..io.text_lookup import isin, positions

__all__ = ["isin", "positions", "require_columns", "row_order"]


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


def row_order(*keys) -> np.ndarray | None:
    """Positions that sort rows by ``keys`` (the first key first), equal rows kept in their order.

    The order of ``np.lexsort(keys[::-1])``, found faster: integer, boolean and datetime64 keys
    are packed into one int64 and sorted with one stable ``argsort``, which is quick on rows
    already in order (cuts usually are sorted by subject and time). Returns None when the keys
    cannot be packed (another dtype, a missing datetime, or ranges too wide for 63 bits): sort
    some other way then.

    Examples
    --------
    >>> row_order(np.array([2, 1, 2, 1]), np.array([5, 9, 3, 9])).tolist()
    [1, 3, 2, 0]
    >>> row_order(np.array([1.5, 0.5])) is None
    True
    """
    arrays = [np.asarray(k) for k in keys]
    n = len(arrays[0]) if arrays else 0
    if n == 0:
        return np.arange(0, dtype=np.int64)
    packed, span = np.zeros(n, dtype=np.int64), 1
    for k in reversed(arrays):  # the last key varies fastest
        if k.dtype.kind == "M":
            if np.isnat(k).any():
                return None
            k = k.view(np.int64)
        elif k.dtype.kind not in "iub" or k.dtype == np.uint64:
            return None
        k = k.astype(np.int64, copy=False)
        low = int(k.min())
        width = int(k.max()) - low + 1
        if span * width >= 2 ** 62:
            return None
        packed += (k - low) * span
        span *= width
    return np.argsort(packed, kind="stable")
