"""Rules that span columns or tables: dates in order, codes that exist, units allowed.

Each rule is checked on the typed tables and every breach becomes a :class:`Problem` on
the row that holds the later (or dependent) value.
"""
from __future__ import annotations

import pandas as pd

from .problems import Problem
from .spec import lab_units

__all__ = ["check_rules", "DATE_ORDER"]

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
    known = set(subjects["subject_id"].dropna())
    for table, t in tables.items():
        if table == "subjects" or "subject_id" not in t:
            continue
        unknown = t.index[t["subject_id"].notna() & ~t["subject_id"].isin(known)]
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
        for test, allowed in units.groupby("test")["unit"]:
            is_test = labs["test"].str.upper() == test.upper()
            ok = labs["unit"].str.lower().isin([u.lower() for u in allowed])
            add("labs", labs.index[(is_test & ~ok & labs["unit"].notna()).fillna(False)], "unit",
                f"unit not allowed for {test}; expected {' or '.join(allowed)}")
    return problems


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
