"""What changed from one cut to the next: new subjects, new events, changed values, headlines.

Records are matched on the natural key of each table (``io.spec.RECORD_KEYS``). A change is
classed as a *follow-up update* when it is what more follow-up brings (an outcome date filled
in, a later date last known alive, an adverse event resolving); anything else is a
*correction* worth a look.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.checks import isin
from ..io.spec import RECORD_KEYS, TABLES, table_columns

__all__ = ["FOLLOW_UP_FIELDS", "new_subjects", "new_events", "changed_values",
           "record_counts", "headline_movement", "compare_cuts", "headline_measures"]

#: (table, column) -> the change that more follow-up brings: "added" (empty -> filled) or
#: "later" (a date moving later).
FOLLOW_UP_FIELDS = {
    ("subjects", "enrolled_on"): "added",
    ("subjects", "discharged_on"): "added",
    ("subjects", "died_on"): "added",
    ("subjects", "last_known_alive_on"): "later",
    ("adverse_events", "resolved_on"): "added",
}


def _tables(cut) -> dict[str, pd.DataFrame]:
    if cut is None:
        return {t: pd.DataFrame(columns=[c.column for c in table_columns(t)]) for t in TABLES}
    return {t: getattr(cut, t)[[c.column for c in table_columns(t)]] for t in TABLES}


def new_subjects(before, after) -> pd.DataFrame:
    """Subjects screened in ``after`` who were not in ``before`` (a cut or None).

    Returns
    -------
    DataFrame
        ``subject_id``, ``screened_on``, ``enrolled``, ``treated``.
    """
    known = set(_tables(before)["subjects"]["subject_id"])
    s = after.subjects
    return s.loc[~isin(s["subject_id"], known), ["subject_id", "screened_on", "enrolled", "treated"]
                 ].reset_index(drop=True)


def new_events(before, after) -> pd.DataFrame:
    """Deaths, discharges, negative RT-PCRs and adverse events known in ``after`` but not ``before``.

    Returns
    -------
    DataFrame
        ``event`` (death, discharge, negative RT-PCR, adverse event), ``subject_id``,
        ``date``, ``days_since_infusion``, ``detail``; sorted by date.
    """
    return _new_events(_tables(before), after)


def _new_events(old: dict, after, keyed: tuple | None = None) -> pd.DataFrame:
    """:func:`new_events` from the previous cut's tables (``_tables``); ``keyed``: both cuts'
    tables by :func:`_keyed_tables` (``(before, after)``), computed when not given."""
    s = after.subjects
    day0 = s.set_index("subject_id")["infused_on"]
    frames = []
    for event, column in (("death", "died_on"), ("discharge", "discharged_on")):
        had = set(old["subjects"].loc[old["subjects"][column].notna(), "subject_id"])
        rows = s[s[column].notna() & ~isin(s["subject_id"], had)]
        frames.append(pd.DataFrame({"event": event, "subject_id": rows["subject_id"],
                                    "date": rows[column], "detail": ""}))
    for event, table, date, detail, mask in (
            ("negative RT-PCR", "pcr", "collected_on", None, lambda t: t["result"] == "negative"),
            ("adverse event", "adverse_events", "onset_on", "term", lambda t: t["grade"].notna())):
        frame = getattr(after, table)
        if keyed:
            a, b = keyed[0][table], keyed[1][table]
        else:
            a, b = _keyed(old[table], table), _keyed(frame, table)
        fresh = frame[~b.index.isin(a.index)]
        fresh = fresh[mask(fresh).fillna(False).astype(bool)]
        frames.append(pd.DataFrame({
            "event": event, "subject_id": fresh["subject_id"], "date": fresh[date],
            "detail": ("" if detail is None else
                       fresh[detail].astype(str) + ", grade " + fresh["grade"].astype(str))}))
    out = pd.concat(frames, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"])
    out["days_since_infusion"] = (out["date"] - day0.reindex(out["subject_id"]).to_numpy()).dt.days.astype("Int64")
    return out.sort_values(["date", "event", "subject_id"], kind="stable").reset_index(drop=True)[
        ["event", "subject_id", "date", "days_since_infusion", "detail"]]


def _keyed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` indexed by its record key plus an occurrence number for repeated keys."""
    keys = list(RECORD_KEYS[table])
    f = frame.copy()
    f["occurrence"] = f.groupby(keys, dropna=False).cumcount()
    return f.set_index(keys + ["occurrence"])


def _keyed_tables(tables: dict) -> dict[str, pd.DataFrame]:
    """:func:`_keyed` of every table of ``tables`` (the output of ``_tables``)."""
    return {t: _keyed(tables[t], t) for t in TABLES}


def record_counts(before, after) -> pd.DataFrame:
    """Records per table in each cut, and how many are new or no longer present.

    Returns
    -------
    DataFrame
        ``table``, ``records_before``, ``records_after``, ``records_new``, ``records_removed``.
    """
    return _record_counts(_keyed_tables(_tables(before)), _keyed_tables(_tables(after)))


def _record_counts(old: dict, new: dict) -> pd.DataFrame:
    """:func:`record_counts` from both cuts' keyed tables (:func:`_keyed_tables`)."""
    return pd.DataFrame([{
        "table": t, "records_before": len(old[t]), "records_after": len(new[t]),
        "records_new": int((~new[t].index.isin(old[t].index)).sum()),
        "records_removed": int((~old[t].index.isin(new[t].index)).sum())} for t in TABLES])


def changed_values(before, after) -> pd.DataFrame:
    """Every value that differs between two cuts for a record present in both, and every
    record that disappeared.

    Returns
    -------
    DataFrame
        ``table``, ``subject_id``, ``record`` (the record's key as text), ``field``,
        ``value_before``, ``value_after`` (as text), ``change`` (added, removed, changed,
        record removed), ``kind`` ("follow-up update" or "correction").

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import msc_analysis.endpoints.changes as ch
    >>> a = ch._tables(None); b = ch._tables(None)
    >>> a["pcr"] = pd.DataFrame({"subject_id": ["S1"], "collected_on": pd.to_datetime(["2020-08-01"]),
    ...                          "result": ["positive"]})
    >>> b["pcr"] = a["pcr"].assign(result="negative")
    >>> ch._changed_tables(a, b)[["field", "value_before", "value_after", "kind"]].values.tolist()
    [['result', 'positive', 'negative', 'correction']]
    """
    return _changed_tables(_tables(before), _tables(after))


def _text(values: pd.Series) -> pd.Series:
    def one(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return ""
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d" if v == v.normalize() else "%Y-%m-%dT%H:%M")
        if isinstance(v, (float, np.floating)):
            return f"{v:g}"
        return str(v)
    return values.map(one).astype(str)


def _labels(index: pd.MultiIndex) -> list[str]:
    """The key of each record after ``subject_id`` (e.g. its date), as text."""
    parts = [_text(pd.Series(index.get_level_values(i), dtype=object)).tolist() for i in range(1, index.nlevels - 1)]
    return [" ".join(k) for k in zip(*parts)] if parts else [""] * len(index)


def _changed_tables(old: dict, new: dict, keyed: tuple | None = None) -> pd.DataFrame:
    """:func:`changed_values` from both cuts' tables (``_tables``); ``keyed``: both cuts' tables
    by :func:`_keyed_tables` (``(old, new)``), computed when not given."""
    ka, kb = keyed if keyed else (_keyed_tables(old), _keyed_tables(new))
    frames = []
    for t in TABLES:
        a, b = ka[t], kb[t]
        both = a.index.intersection(b.index)
        at, bt = (a.index.get_indexer(both), b.index.get_indexer(both)) if len(both) else (None, None)
        for field in a.columns if len(both) else []:
            x, y = a[field].iloc[at].reset_index(drop=True), b[field].iloc[bt].reset_index(drop=True)
            differs = ~((x.isna() & y.isna()) | (x == y).fillna(False).astype(bool)).to_numpy()
            if not differs.any():
                continue
            idx = both[differs]
            xb, yb = x[differs], y[differs]
            change = np.where(xb.isna(), "added", np.where(yb.isna(), "removed", "changed"))
            rule = FOLLOW_UP_FIELDS.get((t, field))
            follow = (rule == "added") & (change == "added")
            if rule == "later":
                follow = (change == "changed") & (yb.to_numpy() > xb.to_numpy())
            frames.append(pd.DataFrame({
                "table": t, "subject_id": [k[0] for k in idx], "record": _labels(idx), "field": field,
                "value_before": _text(xb).to_numpy(), "value_after": _text(yb).to_numpy(),
                "change": change, "kind": np.where(follow, "follow-up update", "correction")}))
        gone = a.index.difference(b.index)
        if len(gone):
            frames.append(pd.DataFrame({
                "table": t, "subject_id": [k[0] for k in gone], "record": _labels(gone),
                "field": "(whole record)", "value_before": "", "value_after": "",
                "change": "record removed", "kind": "correction"}))
    columns = ["table", "subject_id", "record", "field", "value_before", "value_after", "change", "kind"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def headline_movement(before: pd.DataFrame, after: pd.DataFrame, skip_endpoints=("changes",)) -> pd.DataFrame:
    """Every headline measure of two results tables side by side (but those of ``skip_endpoints``:
    the counts of differences of this page compare other cuts).

    Parameters
    ----------
    before, after : DataFrame
        Results in the schema of ``docs/results.md`` (either may be empty); the limits as
        ``lower``/``upper`` (schema v2) or ``ci95_lower``/``ci95_upper``.

    Returns
    -------
    DataFrame
        ``endpoint``, ``measure``, ``group``, ``day``, ``unit``, ``estimate_before``,
        ``estimate_after``, ``change`` (after - before), ``n_before``, ``n_after``,
        ``lower_before``, ``upper_before``, ``lower_after``, ``upper_after``, ``interval``
        (this cut's, else the previous cut's; empty when neither has one). A measure only one
        cut has is missing on the other side.

    Examples
    --------
    >>> a = pd.DataFrame({"endpoint": ["e"], "measure": ["deaths"], "group": ["all"], "day": [None],
    ...                   "unit": ["subjects"], "estimate": [1.0], "n": [13]})
    >>> headline_movement(a, a.assign(estimate=8.0, n=31))[["estimate_before", "estimate_after", "change"]].values.tolist()
    [[1.0, 8.0, 7.0]]
    """
    keys = ["endpoint", "measure", "group", "day", "unit"]
    cols = keys + ["estimate", "lower", "upper", "interval", "n"]

    def tidy(frame: pd.DataFrame) -> pd.DataFrame:
        f = frame.rename(columns={"ci95_lower": "lower", "ci95_upper": "upper"}).reindex(columns=cols)
        f["day"] = pd.to_numeric(f["day"], errors="coerce").astype(float)
        for c in ("estimate", "lower", "upper"):
            f[c] = pd.to_numeric(f[c], errors="coerce").astype(float)
        f["n"] = pd.to_numeric(f["n"], errors="coerce").astype("Int64")
        f["interval"] = [i if isinstance(i, str) else "" for i in f["interval"]]
        for c in ("endpoint", "measure", "group", "unit"):
            f[c] = f[c].astype(str)
        return f

    a, b = tidy(before), tidy(after)
    a, b = a[~a["endpoint"].isin(skip_endpoints)], b[~b["endpoint"].isin(skip_endpoints)]
    out = a.merge(b, on=keys, how="outer", suffixes=("_before", "_after"), sort=False)
    # rows in the order of this cut's results, then those only the previous cut has (pandas sorts an outer merge)
    order: dict = {}
    for key in map(tuple, pd.concat([b[keys], a[keys]]).astype(str).to_numpy()):
        order.setdefault(key, len(order))
    rank = [order.get(k, len(order)) for k in map(tuple, out[keys].astype(str).to_numpy())]
    out = out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    out["change"] = out["estimate_after"] - out["estimate_before"]
    out["interval"] = [a if isinstance(a, str) and a else b if isinstance(b, str) else ""
                       for a, b in zip(out["interval_after"], out["interval_before"])]
    return out[keys + ["estimate_before", "estimate_after", "change", "n_before", "n_after",
                       "lower_before", "upper_before", "lower_after", "upper_after", "interval"]]


def compare_cuts(before, after) -> dict[str, pd.DataFrame]:
    """All comparisons of two cuts (``before`` may be None): new subjects, new events,
    record counts and changed values (corrections first)."""
    old, new = _tables(before), _tables(after)
    keyed = (_keyed_tables(old), _keyed_tables(new))
    values = _changed_tables(old, new, keyed)
    return {
        "new_subjects": new_subjects(before, after),
        "new_events": _new_events(old, after, keyed),
        "record_counts": _record_counts(*keyed),
        "changed_values": values.sort_values("kind", kind="stable").reset_index(drop=True),
    }


def headline_measures(compared: dict[str, pd.DataFrame], n_subjects: int | None = None) -> pd.DataFrame:
    """Counts of differences, ready for :func:`~msc_analysis.report.results.result_rows`.

    Parameters
    ----------
    compared : dict
        Output of :func:`compare_cuts`.
    n_subjects : int, optional
        Subjects in this cut (every screened subject), written as ``n`` of every row: the
        subjects whose records were compared. Default: the subjects of ``compared["record_counts"]``.

    Returns
    -------
    DataFrame
        ``measure`` (``new_subjects``, ``corrections``, ``follow_up_updates``, and
        ``new_events`` with the event type in ``group``), ``group``, ``estimate``, ``n``,
        ``unit``, ``method``.
    """
    if n_subjects is None:
        counts = compared["record_counts"].set_index("table")
        n_subjects = int(counts.loc["subjects", "records_after"]) if "subjects" in counts.index else 0
    kinds = compared["changed_values"]["kind"]
    rows = [("new_subjects", "all", len(compared["new_subjects"]), "subjects"),
            ("corrections", "all", int((kinds == "correction").sum()), "values"),
            ("follow_up_updates", "all", int((kinds == "follow-up update").sum()), "values")]
    events = compared["new_events"]["event"]
    rows += [("new_events", e, int((events == e).sum()), "events")
             for e in ("death", "discharge", "negative RT-PCR", "adverse event")]
    out = pd.DataFrame(rows, columns=["measure", "group", "estimate", "unit"])
    out["n"] = int(n_subjects)
    out["method"] = "count of differences between the two cuts; n = subjects in this cut"
    return out[["measure", "group", "estimate", "n", "unit", "method"]]
