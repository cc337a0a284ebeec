"""Fast lookups of text (subject codes) in text: ``isin`` and ``positions``, one pyarrow call each.

pandas 3 stores text in pyarrow; its ``isin`` and ``get_indexer`` turn each looked-up value into a
Python object first, which costs about 0.5 s per 100,000 subject codes. The loader (``io.rules``)
and the derivations (``derive``) both use these.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["isin", "positions"]


def isin(values: pd.Series, allowed) -> pd.Series:
    """``values.isin(allowed)``: a boolean Series on ``values``' index, the same answer.

    pandas 3 stores text in pyarrow and its ``isin`` turns every element of ``allowed`` into a
    pyarrow scalar in a Python loop (about 0.5 s for 100,000 subject codes); this looks the
    values up in one pyarrow ``is_in`` call instead. Anything but a text column looked up in
    text (and missing values) is passed to pandas' ``isin`` unchanged.

    Examples
    --------
    >>> isin(pd.Series(["A", "B", None, "C"]), {"A", "C"}).tolist()
    [True, False, False, True]
    """
    if not _is_arrow_text(values.dtype):
        return values.isin(allowed)
    if isinstance(allowed, (pd.Series, pd.Index)) and _is_arrow_text(allowed.dtype):
        pool = pa.array(allowed.array)
    else:
        pool = list(allowed) if isinstance(allowed, (set, frozenset, dict)) else allowed
        try:
            pool = pa.array(np.asarray(pool, dtype=object), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return values.isin(allowed)
    if pool.type not in (pa.string(), pa.large_string()):
        return values.isin(allowed)
    column = pa.array(values.array)
    found = pc.is_in(column, value_set=pool.cast(column.type))
    return pd.Series(np.array(found, dtype=np.bool_), index=values.index, name=values.name)


def positions(values, codes) -> np.ndarray:
    """Where each of ``values`` is in ``codes``: ``pd.Index(codes).get_indexer(values)``, both as text.

    The same answer (int64 positions, -1 for a value not in ``codes`` or missing), looked up in
    one pyarrow ``index_in`` call: about 5 times faster than pandas on 1,000,000 subject codes.
    ``codes`` must be unique (``ValueError`` otherwise, as pandas' ``get_indexer`` refuses too).

    Examples
    --------
    >>> positions(pd.Series(["B", "X", None, "A", "B"]), pd.Series(["A", "B"])).tolist()
    [1, -1, -1, 0, 1]
    """
    pool = _text_array(codes)
    if len(pc.unique(pool)) != len(pool):
        raise ValueError("codes must be unique to look values up in them")
    found = pc.index_in(_text_array(values), value_set=pool)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _text_array(values) -> pa.Array:
    """``values`` as text (``astype(str)``, missing kept missing) in one pyarrow array."""
    text = pd.Series(values).astype(str)
    if not _is_arrow_text(text.dtype):
        text = text.astype(pd.StringDtype("pyarrow", na_value=np.nan))
    array = pa.array(text.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _is_arrow_text(dtype) -> bool:
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
