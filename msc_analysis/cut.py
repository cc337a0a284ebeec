"""Load one interim data cut: read, validate everything at once, then type and derive.

``load_cut`` is the only way the kit reads data. It either returns a :class:`Cut` whose
tables are typed and ready for the endpoint modules, or raises
:class:`~msc_analysis.io.problems.CutValidationError` listing every problem in the files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .derive.liao_score import adult_score_min_age, children_scored_adult
from .derive.populations import POPULATIONS, assess_eligibility, screening_liao
from .derive.time_origin import add_days_since_infusion
from .io.parse import parse_table
from .io.problems import CutValidationError, Problem, visible
from .io.read import read_raw_cut
from .io.rules import check_rules, exact_duplicates
from .io.schema import check_columns
from .io.spec import (RECORD_DATES, TABLES, canonical_lab_test, lab_test_lookalike, lab_test_names,
                      lab_units, normalise_test_name, table_columns, trial_facts)

__all__ = ["Cut", "load_cut", "EVENT_DATE_COLUMNS"]

#: The date that places each record of a record table in time (cutoff, day 0).
EVENT_DATE_COLUMNS = {t: c for t, c in RECORD_DATES.items() if t != "subjects"}


#: Pandas type of each column type of the format (as produced by ``io.parse``).
_DTYPES = {"id": "string", "text": "string", "category": "string", "boolean": "boolean",
           "number": "float64", "integer": "Int64", "date": "datetime64[s]",
           "datetime": "datetime64[s]"}


@dataclass(frozen=True)
class Cut:
    """A validated interim data cut.

    Attributes
    ----------
    cut_id, study_id, description : str
    synthetic : bool
        ``cut.yaml`` says the data are invented (``synthetic: true``); false when absent.
    cutoff_date : pandas.Timestamp
    subjects : DataFrame
        One row per screened subject, with ``arm``, ``infused_on`` and the population flags
        ``screened``, ``eligible``, ``enrolled``, ``treated`` and the screening Liao score.
    infusions, vitals, labs, blood_gases, pcr, imaging, adverse_events : DataFrame
        Typed tables; each holds ``days_since_infusion`` (infusion day = 0). Lab tests are
        named by their canonical name (``lab_test_names.csv``: ``PCR``, ``hs-CRP``, ... are
        ``CRP``) and values of tests listed in ``lab_units.csv`` are in the reporting unit
        (CRP in mg/dL); ``fio2`` is a fraction. A row repeating an earlier row value for value
        is kept once.
    eligibility : DataFrame
        ``subject_id``, ``criterion``, ``kind``, ``label``, ``met``.
    data_quality : DataFrame
        What was excluded, converted, flagged or not read: ``table``, ``column``, ``issue``,
        ``n_rows``, ``action``. Files, sub-folders and sheets that are not part of the format
        are listed with ``table`` = ``(cut folder)``.
    files : DataFrame
        ``file``, ``bytes``, ``sha256`` of every file of the cut that was read (``cut.yaml``,
        the tables, README); files not part of the format are never read nor hashed.
    """

    path: Path
    cut_id: str
    study_id: str
    cutoff_date: pd.Timestamp
    description: str
    synthetic: bool
    subjects: pd.DataFrame
    infusions: pd.DataFrame
    vitals: pd.DataFrame
    labs: pd.DataFrame
    blood_gases: pd.DataFrame
    pcr: pd.DataFrame
    imaging: pd.DataFrame
    adverse_events: pd.DataFrame
    eligibility: pd.DataFrame
    data_quality: pd.DataFrame
    files: pd.DataFrame = field(repr=False)

    def population(self, name: str) -> pd.DataFrame:
        """Subjects of one population: ``screened``, ``eligible``, ``enrolled`` or ``treated``."""
        if name not in POPULATIONS:
            raise ValueError(f"unknown population {name!r}; choose one of {', '.join(POPULATIONS)}")
        return self.subjects[self.subjects[name]].reset_index(drop=True)


def load_cut(path: str | Path) -> Cut:
    """Read and validate the cut folder ``path``; return its typed tables.

    Raises
    ------
    CutValidationError
        If anything in the files is wrong: the message lists every problem (file, row,
        column, value, what was expected). The files are only read, never written.
    """
    path = Path(path)
    if not path.is_dir():
        raise CutValidationError(str(path), [Problem(str(path), None, None, None,
                                 "no such folder; a cut is a folder holding cut.yaml and the table files")])
    from .io.cache import cached_cut  # the runner's copy of this cut, validated once per run
    cached = cached_cut(path, Cut)
    if cached is not None:
        return cached
    raw = read_raw_cut(path)
    problems = list(raw.problems)
    quality = list(raw.notes)
    typed: dict[str, pd.DataFrame] = {}
    texts: dict[str, pd.DataFrame] = {}
    for table, frame in raw.tables.items():
        t, unreadable = parse_table(table, raw.sources[table], frame)
        problems += unreadable
        t, frame = _keep_repeats_once(table, t, frame, {p.row for p in unreadable}, quality)
        seen = {(p.row, p.column) for p in unreadable}
        problems += check_columns(table, raw.sources[table], t, frame, seen)
        typed[table], texts[table] = t, frame
    problems += check_rules(typed, texts, raw.sources)
    if problems:
        raise CutValidationError(str(path), problems)
    return _build(path, raw.meta, typed, raw.files, quality)


def _keep_repeats_once(table: str, typed: pd.DataFrame, text: pd.DataFrame, skip_rows: set,
                       quality: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop rows that repeat an earlier row value for value; say so in the data-quality table."""
    repeats = exact_duplicates(table, typed, skip_rows)
    if repeats.empty:
        return typed, text
    pairs = [f"{r} = {first}" for r, first in repeats.items()]
    shown = ", ".join(pairs[:10]) + (f" and {len(pairs) - 10} more" if len(pairs) > 10 else "")
    _flag(quality, table, "(whole row)", f"row repeating an earlier row value for value (rows {shown})",
          len(repeats), "kept once")
    return typed.drop(index=repeats.index), text.drop(index=repeats.index)


def _build(path: Path, meta: dict, typed: dict[str, pd.DataFrame], files: pd.DataFrame,
           quality: list[tuple]) -> Cut:
    cutoff = pd.Timestamp(meta["cutoff_date"])
    t = {name: _complete_columns(name, frame.reset_index(drop=True)) for name, frame in typed.items()}
    t = _apply_cutoff(t, cutoff, quality)
    t["labs"] = _convert_lab_units(t["labs"], quality)
    t["blood_gases"] = _fio2_as_fraction(t["blood_gases"], quality)

    subjects = t["subjects"]
    subjects["arm"] = subjects["arm"].fillna(trial_facts()["default_arm"])
    infusions = t["infusions"]
    for name, column in EVENT_DATE_COLUMNS.items():
        t[name] = add_days_since_infusion(t[name], infusions, column)
    subjects = subjects.merge(infusions[["subject_id", "infused_on"]], on="subject_id", how="left")
    subjects = subjects.merge(screening_liao(subjects, t["vitals"]), on="subject_id", how="left")
    eligibility = assess_eligibility(subjects)
    eligible = eligibility.groupby("subject_id", sort=False)["met"].all()
    subjects["screened"] = True
    subjects["eligible"] = subjects["subject_id"].map(eligible).astype(bool)
    subjects["enrolled"] = subjects["enrolled"].astype(bool)
    subjects["treated"] = subjects["infused_on"].notna()
    _flag(quality, "subjects", "enrolled", "enrolled although not eligible by the recorded criteria",
          int((subjects["enrolled"] & ~subjects["eligible"]).sum()), "kept; review as a protocol deviation")
    _flag(quality, "vitals", "(screening assessment)",
          "no vital-sign assessment on the screening day: Liao level unknown",
          int(subjects["liao_level_at_screening"].isna().sum()), "counted as not meeting inclusion 3")
    _flag(quality, "vitals", "(screening assessment)",
          "screening Liao score from an incomplete assessment (score is a lower bound)",
          int(subjects["liao_incomplete_at_screening"].fillna(False).astype(bool).sum()), "kept; flagged")
    children = children_scored_adult(subjects)
    _flag(quality, "subjects", "age_years",
          f"child (younger than {adult_score_min_age():g}) scored with the adult Liao (NEWS-C) bands",
          len(children), "kept; listed on page 06")
    _flag(quality, "subjects", "death_cause", "death without a recorded cause",
          int((subjects["died_on"].notna() & subjects["death_cause"].isna()).sum()),
          "kept; shown as 'cause not recorded'")
    _flag_uncoded_ae_terms(t["adverse_events"], quality)
    dq = pd.DataFrame(quality, columns=["table", "column", "issue", "n_rows", "action"])
    return Cut(path=path, cut_id=str(meta["cut_id"]), study_id=str(meta["study_id"]),
               cutoff_date=cutoff, description=str(meta.get("description") or ""),
               synthetic=bool(meta.get("synthetic", False)),
               subjects=subjects, eligibility=eligibility,
               data_quality=dq[dq["n_rows"] > 0].reset_index(drop=True), files=files,
               **{name: t[name] for name in TABLES if name != "subjects"})


def _flag(quality: list, table: str, column: str, issue: str, n: int, action: str) -> None:
    quality.append((table, column, issue, n, action))


def _flag_uncoded_ae_terms(adverse_events: pd.DataFrame, quality: list) -> None:
    """One data-quality row per AE term that neither the site (soc and pt) nor the CTCAE v5.0 table
    codes, with the nearest CTCAE terms as suggestions (``definitions.nearest_ctcae_terms``)."""
    from .definitions import ctcae_lookup, ctcae_term_key, nearest_ctcae_terms
    ae = adverse_events
    site = pd.Series(False, index=ae.index)
    if "soc" in ae and "pt" in ae:
        filled = [ae[c].astype("string").str.strip().fillna("").ne("").astype(bool) for c in ("soc", "pt")]
        site = filled[0] & filled[1]
    lookup = ctcae_lookup()
    terms = ae.loc[~site, "term"]
    keys = terms.map({term: ctcae_term_key(term) for term in terms.unique()})  # each spelling once
    for key, n in sorted(keys[~keys.isin(list(lookup))].value_counts().items()):
        near = nearest_ctcae_terms(key)
        term = str(ae.loc[keys[keys == key].index[0], "term"]).strip()
        _flag(quality, "adverse_events", "term",
              f"term '{term}' is not a CTCAE v5.0 term of the shipped table and has no site coding "
              f"(nearest CTCAE terms: {'; '.join(near) if near else 'none close'})",
              int(n), "kept; shown under the organ class 'uncoded'")


def _complete_columns(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Add optional columns that the file left out, as missing values."""
    for spec in table_columns(table):
        if spec.column not in frame:
            frame[spec.column] = pd.Series(pd.NA, index=frame.index, dtype=_DTYPES[spec.type])
    return frame[[s.column for s in table_columns(table)]]


def _apply_cutoff(t: dict[str, pd.DataFrame], cutoff: pd.Timestamp, quality: list) -> dict:
    subjects = t["subjects"]
    late = subjects["screened_on"] > cutoff
    _flag(quality, "subjects", "screened_on", "screened after the cutoff date", int(late.sum()),
          "subject and all their records excluded")
    dropped = set(subjects.loc[late, "subject_id"])
    subjects = subjects.loc[~late].reset_index(drop=True)
    # As for any data cutoff: what happened later is not yet known, but a subject seen alive
    # (or dying) after the cutoff was alive at it, so is followed up to the cutoff date.
    alive_later = (subjects["died_on"] > cutoff) | (subjects["last_known_alive_on"] > cutoff)
    late_enrollment = subjects["enrolled_on"] > cutoff
    _flag(quality, "subjects", "enrolled_on", "enrolled after the cutoff date", int(late_enrollment.sum()),
          "counted as not yet enrolled")
    subjects.loc[late_enrollment, "enrolled"] = False
    for column in ("enrolled_on", "admitted_on", "discharged_on", "died_on"):
        after = subjects[column] > cutoff
        _flag(quality, "subjects", column, "dated after the cutoff date", int(after.sum()),
              "treated as not yet known (blanked)")
        subjects.loc[after, column] = pd.NaT
        if column == "died_on":  # a death not yet known at the cutoff has no known cause either
            subjects.loc[after, "death_cause"] = pd.NA
    _flag(quality, "subjects", "last_known_alive_on", "alive or died after the cutoff date",
          int(alive_later.sum()), "last known alive set to the cutoff date")
    subjects.loc[alive_later, "last_known_alive_on"] = cutoff
    out = {"subjects": subjects}
    for name, column in EVENT_DATE_COLUMNS.items():
        frame = t[name]
        of_dropped = frame["subject_id"].isin(dropped)
        after = ~of_dropped & (frame[column].dt.normalize() > cutoff)
        _flag(quality, name, column, "dated after the cutoff date", int(after.sum()), "excluded")
        out[name] = frame.loc[~(of_dropped | after)].reset_index(drop=True)
    return out


def _canonical_lab_tests(labs: pd.DataFrame, quality: list) -> pd.DataFrame:
    """Name each lab test by its canonical name (``lab_test_names.csv``), saying what was mapped.

    Every spelling other than the canonical name gets a data-quality row; a test name that is
    not listed but looks like a listed test (``lab_test_lookalikes.csv``) is kept under its own
    name and reported, since it is then left out of that test's endpoint.
    """
    canon = canonical_lab_test(labs["test"])
    names = lab_test_names()
    notes = dict(zip(names["key"], names["note"]))
    mapped = labs[(canon.notna() & (canon != labs["test"])).fillna(False).astype(bool)]
    for spelling, n in mapped.groupby("test").size().items():
        test = canonical_lab_test(pd.Series([spelling])).iloc[0]
        note = notes.get(normalise_test_name(spelling)) or ""
        _flag(quality, "labs", "test", f"test written '{visible(spelling)}'" + (f" ({note})" if note else ""),
              int(n), f"counted as {test}")
    unlisted = labs.loc[canon.isna(), "test"].dropna()
    for spelling, n in unlisted.value_counts(sort=False).items():
        like = lab_test_lookalike(spelling)
        if like is not None:
            _flag(quality, "labs", "test", f"test '{visible(spelling)}' looks like {like} but is not a spelling "
                  "listed in lab_test_names.csv", int(n),
                  f"kept as another test, NOT counted as {like}; add the spelling if it is {like}")
    return labs.assign(test=canon.fillna(labs["test"]).astype("string"))


def _convert_lab_units(labs: pd.DataFrame, quality: list) -> pd.DataFrame:
    labs = _canonical_lab_tests(labs, quality)
    units = lab_units()
    key = labs["test"] + "|" + labs["unit"].str.lower()
    factors = dict(zip(units["test"] + "|" + units["unit"].str.lower(), units["factor"]))
    targets = dict(zip(units["test"] + "|" + units["unit"].str.lower(), units["report_unit"]))
    factor = key.map(factors).astype("float64")
    for (test, unit), n in labs[factor.notna() & (factor != 1)].groupby(["test", "unit"]).size().items():
        target = targets[f"{test}|{unit.lower()}"]
        _flag(quality, "labs", "value", f"{test} recorded in {unit}", int(n), f"converted to {target}")
    return labs.assign(
        value=labs["value"] * factor.fillna(1.0),
        unit=key.map(targets).fillna(labs["unit"]).astype("string"),
    )


def _fio2_as_fraction(gases: pd.DataFrame, quality: list) -> pd.DataFrame:
    percent = gases["fio2"] >= 21
    _flag(quality, "blood_gases", "fio2", "FiO2 recorded as a percentage (21-100)", int(percent.sum()),
          "divided by 100")
    return gases.assign(fio2=gases["fio2"].where(~percent, gases["fio2"] / 100))
