"""Rules that span columns, rows or tables: dates in order, codes that exist, units allowed,
one record per key.

Each rule is checked on the typed tables and every breach becomes a :class:`Problem` on
the row that holds the later (or dependent) value.

Repeated records: a row that repeats an earlier row of its table value for value (after
spelling, case and unit are made comparable) is found by :func:`exact_duplicates` and kept
once by the loader; two rows with the same record key (``spec.RECORD_KEYS``) that differ
in any other value are refused here, naming both rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .problems import Problem
from .spec import RECORD_KEYS, canonical_lab_test, lab_units, normalise_test_name
from .text_lookup import isin

__all__ = ["check_rules", "exact_duplicates", "isin", "DATE_ORDER"]

#: (table, earlier column, later column): the later date may not precede the earlier one.
DATE_ORDER = (
    ("subjects", "admitted_on", "discharged_on"),
    ("subjects", "screened_on", "enrolled_on"),
    ("subjects", "screened_on", "died_on"),
    ("subjects", "screened_on", "last_known_alive_on"),
    ("subjects", "last_known_alive_on", "died_on"),
    ("subjects", "discharged_on", "died_on"),
    ("adverse_events", "onset_on", "resolved_on"),
)


def check_rules(tables: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame],
                sources: dict[str, str]) -> list[Problem]:
    """Every breach of a cross-column or cross-table rule, as problems."""
    problems: list[Problem] = []
    for table, frame in tables.items():
        problems += _conflicting_records(table, frame, raw[table], sources[table])

    def add(table, rows, column, expected):
        for row in rows:
            value = raw[table].at[row, column] if column in raw[table].columns else None
            text = expected(row) if callable(expected) else expected
            problems.append(Problem(sources[table], int(row), column, value, text))

    for table, early, late in DATE_ORDER:
        t = tables.get(table)
        if t is None or early not in t or late not in t:
            continue
        bad = t.index[(t[late] < t[early]).fillna(False)]
        add(table, bad, late,
            lambda r, t=t, early=early: f"cannot be before {early} ({t.at[r, early].date()})")

    subjects = tables.get("subjects")
    if subjects is None or "subject_id" not in subjects:
        return problems
    known = subjects["subject_id"].dropna().unique()
    for table, t in tables.items():
        if table == "subjects" or "subject_id" not in t:
            continue
        unknown = t.index[t["subject_id"].notna() & ~isin(t["subject_id"], known)]
        add(table, unknown, "subject_id", "no subject with this code in subjects (every subject "
            "must have a screening row)")

    if {"sex", "pregnant_or_breastfeeding"} <= set(subjects.columns):
        bad = subjects.index[((subjects["sex"] == "M")
                              & subjects["pregnant_or_breastfeeding"]).fillna(False)]
        add("subjects", bad, "pregnant_or_breastfeeding", "must be 'no' when sex is M")

    if {"enrolled", "enrolled_on"} <= set(subjects.columns):
        bad = subjects.index[(subjects["enrolled_on"].notna() & ~subjects["enrolled"]).fillna(False)]
        add("subjects", bad, "enrolled_on", "an enrollment date needs enrolled = yes")

    if "admitted_on" in subjects and "discharged_on" in subjects:
        bad = subjects.index[subjects["discharged_on"].notna() & subjects["admitted_on"].isna()]
        add("subjects", bad, "discharged_on", "a discharge date needs an admission date (admitted_on)")

    if {"death_cause", "died_on"} <= set(subjects.columns):
        bad = subjects.index[(subjects["death_cause"].notna() & subjects["died_on"].isna()).fillna(False)]
        add("subjects", bad, "death_cause", "a cause of death needs a death date (died_on); "
            "record the death or leave the cause empty")

    aes = tables.get("adverse_events")
    if aes is not None and {"soc", "pt"} <= set(aes.columns):
        half = aes["soc"].notna() != aes["pt"].notna()
        add("adverse_events", aes.index[half & aes["pt"].isna()], "pt",
            "soc and pt go together: fill both (MedDRA coding by the site) or leave both empty (the term "
            "is then coded from CTCAE v5.0)")
        add("adverse_events", aes.index[half & aes["soc"].isna()], "soc",
            "soc and pt go together: fill both (MedDRA coding by the site) or leave both empty (the term "
            "is then coded from CTCAE v5.0)")

    inf = tables.get("infusions")
    if inf is not None and {"subject_id", "infused_on"} <= set(inf.columns):
        problems += _infusion_rules(inf, subjects, raw, sources, add)

    fio2 = tables.get("blood_gases", pd.DataFrame()).get("fio2")
    if fio2 is not None:
        add("blood_gases", fio2.index[(fio2 > 1.0) & (fio2 < 21)], "fio2",
            "expected a fraction from 0.21 to 1.0 (or a percentage from 21 to 100); values "
            "between 1 and 21 cannot be read either way")

    labs = tables.get("labs")
    if labs is not None and {"test", "unit"} <= set(labs.columns):
        units = lab_units()
        canon = canonical_lab_test(labs["test"])
        for test, allowed in units.groupby("test")["unit"]:
            is_test = canon == test
            ok = labs["unit"].str.lower().isin([u.lower() for u in allowed])
            add("labs", labs.index[(is_test & ~ok & labs["unit"].notna()).fillna(False)], "unit",
                lambda r, test=test, allowed=allowed: (
                    f"unit not allowed for {test}"
                    + ("" if labs.at[r, "test"] == test else f" (test written '{labs.at[r, 'test']}')")
                    + f"; expected {' or '.join(allowed)}"))

    ae = tables.get("adverse_events")
    if ae is not None and {"subject_id", "grade"} <= set(ae.columns) and "died_on" in subjects:
        dead = subjects.loc[subjects["died_on"].notna(), "subject_id"].dropna().unique()
        bad = ae.index[((ae["grade"] == 5) & ~isin(ae["subject_id"], dead)
                        & isin(ae["subject_id"], known)).fillna(False)]
        add("adverse_events", bad, "grade",
            lambda r: f"grade 5 means the event caused death (CTCAE), but subject {ae.at[r, 'subject_id']} "
                      "has no death date in subjects (died_on); record the death or correct the grade")
    return problems


def _comparable(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the values that mean the same made equal, to compare rows.

    Lab tests by canonical name (or normalised spelling) with the value in the reporting unit
    (rounded to 9 decimals), adverse event terms without case or surrounding spaces.
    """
    out = frame.copy()
    if table == "labs" and {"test", "value", "unit"} <= set(frame.columns):
        units = lab_units()
        canon = canonical_lab_test(frame["test"])
        keys = {t: normalise_test_name(t) for t in frame["test"].dropna().unique()}
        out["test"] = canon.fillna(frame["test"].map(keys).astype("string"))
        key = out["test"] + "|" + frame["unit"].str.lower()
        factor = key.map(dict(zip(units["test"] + "|" + units["unit"].str.lower(), units["factor"])))
        report = key.map(dict(zip(units["test"] + "|" + units["unit"].str.lower(), units["report_unit"])))
        out["value"] = np.round(frame["value"] * factor.astype("float64").fillna(1.0), 9)
        out["unit"] = report.fillna(frame["unit"].str.lower()).astype("string")
    if table == "adverse_events" and "term" in frame.columns:
        out["term"] = frame["term"].str.strip().str.casefold()
    return out


def exact_duplicates(table: str, frame: pd.DataFrame, skip_rows=()) -> pd.Series:
    """Rows that repeat an earlier row of the same table value for value.

    Parameters
    ----------
    table : str
        Table name in the cut format.
    frame : DataFrame
        The typed table (index = spreadsheet row number).
    skip_rows : iterable of int
        Rows with an unreadable cell: never counted as repeats (their unreadable cells are
        missing in ``frame``, so they could look alike while the files differ).

    Returns
    -------
    Series
        Indexed by the repeating row, holding the row it repeats (the first one); empty when
        no row repeats. A lab result entered once in mg/L and once in mg/dL, or an adverse
        event term written in another case, counts as a repeat.
    """
    view = _comparable(table, frame)
    view = view.loc[~view.index.isin(list(skip_rows))]
    involved = view[view.duplicated(keep=False)]
    first: dict[tuple, int] = {}
    repeats: dict[int, int] = {}
    for row, values in zip(involved.index, involved.astype(object).itertuples(index=False)):
        key = tuple(None if pd.isna(v) else v for v in values)
        if key in first:
            repeats[int(row)] = first[key]
        else:
            first[key] = int(row)
    return pd.Series(repeats, dtype="int64")


def _conflicting_records(table: str, frame: pd.DataFrame, raw: pd.DataFrame, source: str) -> list[Problem]:
    """Two rows with the same record key that differ in another value (both rows named)."""
    keys = list(RECORD_KEYS[table])
    if table in ("subjects", "infusions") or not set(keys) <= set(frame.columns):
        return []  # one row per subject: checked as a unique code and by the infusion rules
    view = _comparable(table, frame)
    complete = view[keys].notna().all(axis=1)
    clash = view[complete & view[keys].duplicated(keep=False)]
    problems = []
    first: dict[tuple, int] = {}
    others = [c for c in view.columns if c not in keys]
    for row in clash.index:
        key = tuple(clash.loc[row, keys].astype(object))
        if key not in first:
            first[key] = row
            continue
        earlier = first[key]
        differ = [c for c in others if not _same(view.at[row, c], view.at[earlier, c])]
        column = differ[0] if differ else keys[-1]
        shown = raw.at[earlier, column] if column in raw.columns else ""
        problems.append(Problem(
            source, int(row), column, raw.at[row, column] if column in raw.columns else None,
            f"row {earlier} has the same {_and(keys)} but {column} '{shown}'; one row per "
            f"{_and(keys)}: keep the correct row and delete the other"))
    return problems


def _same(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and a == b)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _infusion_rules(inf, subjects, raw, sources, add) -> list[Problem]:
    dup = inf.index[inf["subject_id"].notna() & inf["subject_id"].duplicated(keep=False)]
    add("infusions", dup, "subject_id",
        "the protocol gives one infusion per subject; this code has more than one row")
    s = subjects.reset_index().drop_duplicates("subject_id").set_index("subject_id")
    joined = inf.join(s.drop(columns=["weight_kg"], errors="ignore"), on="subject_id")
    if "enrolled" in joined:
        add("infusions", joined.index[(joined["enrolled"] == False).fillna(False)],  # noqa: E712
            "subject_id", "this subject is not enrolled (subjects: enrolled = no) but has an infusion")
    for column, what in (("screened_on", "screening"), ("enrolled_on", "enrollment"),
                         ("admitted_on", "the hospital admission")):
        if column in joined:
            bad = joined.index[(joined["infused_on"] < joined[column]).fillna(False)]
            add("infusions", bad, "infused_on",
                lambda r, c=column, w=what: f"cannot be before {w} ({joined.at[r, c].date()})")
    if "discharged_on" in joined:  # the infusion is given during the admission
        bad = joined.index[(joined["infused_on"] > joined["discharged_on"]).fillna(False)]
        add("infusions", bad, "infused_on",
            lambda r: f"cannot be after the discharge ({joined.at[r, 'discharged_on'].date()})")
    if "died_on" in joined:
        died_first = joined[(joined["died_on"] < joined["infused_on"]).fillna(False)]
        rows = dict(zip(died_first["row"], died_first["infused_on"]))
        add("subjects", list(rows), "died_on",
            lambda r: f"death cannot be before the infusion ({rows[r].date()}) of this subject")
    return []
