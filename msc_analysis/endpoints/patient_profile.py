"""Patient profiles: one subject's records on one time axis, for case review by a safety board.

A board reviews each death and each serious adverse event (SAE) as a case. This module brings one
subject's data together, in days since the infusion (day 0): the admission, the infusion, the Liao
(NEWS-C) score of every vital-sign assessment, SpO2 with oxygen, CRP, PaO2/FiO2, RT-PCR results, CT
scores, adverse events (onset to resolution), and the discharge or death.

Rules (written out in ``docs/endpoints/11_patient_profile.md``):

- **who**: ``"default"`` is every treated subject who died or had a serious adverse event by the
  cutoff; ``"all"`` every treated subject; otherwise one code or a list of codes, in the order
  given. A code not in the cut, or of a subject never infused (no day 0, so no time axis), is
  reported and not profiled. At most ``max_subjects`` are profiled, the first ones in order
  (subject code for ``"default"`` / ``"all"``); the others are counted, never dropped silently.
- **time**: a record with a date and time sits at its exact time (day 0 at 12:00 is day 0.5); a
  record with a date only sits at the start of its day. The derived values come from the endpoint
  modules: Liao score and level from :func:`.liao_improvement.score_assessments` (page 06
  defaults), CRP in mg/dL from :func:`.crp.crp_values`, PaO2/FiO2 from :func:`.pao2_fio2.pf_ratio`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.checks import require_columns
from ..derive.liao_score import LIAO_LEVELS
from . import crp as crp_module
from . import liao_improvement, pao2_fio2

__all__ = ["SELECTIONS", "RECORD_KINDS", "REPEATED_MEASURES", "select_subjects", "subject_summaries",
           "profile_records", "daily_worst", "headline_measures"]

#: The named selections of the ``subjects`` parameter.
SELECTIONS = ("default", "all")
#: Kinds of record of a profile, in the order of the listing on a day.
RECORD_KINDS = ("Admission", "Infusion", "Liao score", "SpO2", "CRP", "PaO2/FiO2", "RT-PCR", "CT score",
                "Adverse event", "Discharge", "Death")
#: Kinds of record measured again and again (summarised by day under a profile; every one is in the figure).
REPEATED_MEASURES = ("Liao score", "SpO2", "CRP", "PaO2/FiO2")
_DAY = pd.Timedelta(days=1)


def _codes(which) -> list[str] | None:
    """The codes asked for (None for a named selection)."""
    if isinstance(which, str):
        return None if which in SELECTIONS else [which.strip()]
    if isinstance(which, (list, tuple)):
        if not all(isinstance(w, str) for w in which):
            raise ValueError(f"subjects must be 'default', 'all' or a list of subject codes (text), not {which!r}")
        return list(dict.fromkeys(w.strip() for w in which))
    raise ValueError(f"subjects must be 'default', 'all' or a list of subject codes, not {which!r}")


def select_subjects(subjects: pd.DataFrame, adverse_events: pd.DataFrame, which="default", *,
                    max_subjects: int = 40) -> pd.DataFrame:
    """The subjects to profile and, for each code asked for, why it is or is not profiled.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``treated`` (bool), ``died_on`` (as ``Cut.subjects``).
    adverse_events : DataFrame
        ``subject_id``, ``serious`` (bool).
    which : str or list of str
        ``"default"`` (treated subjects who died or had an SAE), ``"all"`` (every treated subject),
        one subject code, or a list of codes.
    max_subjects : int
        Most subjects profiled; the rest are marked ``profiled`` False with their reason.

    Returns
    -------
    DataFrame
        One row per subject selected or code asked for, in order: ``subject_id``; ``in_cut``,
        ``treated``, ``died``, ``had_sae`` (bool); ``profiled`` (bool); ``reason`` (words: why
        selected, or why not profiled).

    Examples
    --------
    >>> s = pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "treated": [True, True, True, False],
    ...                   "died_on": pd.to_datetime(["2020-08-10", None, None, None])})
    >>> ae = pd.DataFrame({"subject_id": ["B", "C"], "serious": [True, False]})
    >>> select_subjects(s, ae)[["subject_id", "reason"]].values.tolist()
    [['A', 'died'], ['B', 'serious adverse event']]
    >>> select_subjects(s, ae, ["C", "D", "X"])["reason"].tolist()
    ['asked for', 'not infused: no day 0, so no time axis', 'not in this cut']
    """
    require_columns(subjects, ("subject_id", "treated", "died_on"), "subjects")
    require_columns(adverse_events, ("subject_id", "serious"), "adverse_events")
    if int(max_subjects) < 1:
        raise ValueError(f"max_subjects must be at least 1, not {max_subjects!r}")
    ids = subjects["subject_id"].astype(str)
    treated = dict(zip(ids, subjects["treated"].fillna(False).astype(bool)))
    died = dict(zip(ids, subjects["died_on"].notna()))
    sae = set(adverse_events.loc[adverse_events["serious"].fillna(False).astype(bool), "subject_id"].astype(str))
    codes = _codes(which)
    if codes is None:
        pool = sorted(i for i in ids if treated[i])
        codes = pool if which == "all" else [i for i in pool if died[i] or i in sae]
    rows = []
    for code in codes:
        known = code in treated
        row = dict(subject_id=code, in_cut=known, treated=known and treated[code], died=known and died[code],
                   had_sae=code in sae)
        if not known:
            row["reason"] = "not in this cut"
        elif not row["treated"]:
            row["reason"] = "not infused: no day 0, so no time axis"
        elif which in SELECTIONS:
            row["reason"] = "; ".join(w for w, on in (("died", row["died"]), ("serious adverse event", row["had_sae"]))
                                      if on) or "every treated subject"
        else:
            row["reason"] = "asked for"
        rows.append(row)
    out = pd.DataFrame(rows, columns=["subject_id", "in_cut", "treated", "died", "had_sae", "reason"])
    out = out.astype({c: bool for c in ("in_cut", "treated", "died", "had_sae")})
    rank = out["treated"].cumsum()
    out["profiled"] = out["treated"] & (rank <= int(max_subjects))
    left = out["treated"] & ~out["profiled"]
    out.loc[left, "reason"] = out.loc[left, "reason"] + f"; not profiled: beyond the first {int(max_subjects)}"
    return out[["subject_id", "in_cut", "treated", "died", "had_sae", "profiled", "reason"]]


def _day(when: pd.Series, infused_on: pd.Series) -> pd.Series:
    return ((pd.to_datetime(when) - pd.to_datetime(infused_on).dt.normalize()) / _DAY).astype("float64")


def subject_summaries(subjects: pd.DataFrame, infusions: pd.DataFrame, follow: pd.DataFrame,
                      adverse_events: pd.DataFrame, subject_ids) -> pd.DataFrame:
    """One row per subject profiled: who, the dose and the outcome at the cutoff.

    Parameters
    ----------
    subjects : DataFrame
        ``subject_id``, ``age_years``, ``sex``, ``admitted_on``, ``infused_on``, ``death_cause``,
        ``liao_level_at_screening`` (as ``Cut.subjects``).
    infusions : DataFrame
        ``subject_id``, ``cells_infused``, ``weight_kg`` (dosing weight).
    follow : DataFrame
        :func:`~msc_analysis.derive.follow_up.follow_up` of the treated subjects.
    adverse_events : DataFrame
        ``subject_id``, ``serious`` (bool).
    subject_ids : list of str
        The subjects, in the order wanted (all treated).

    Returns
    -------
    DataFrame
        ``subject_id``, ``age_years``, ``sex``, ``liao_level_at_screening`` (str),
        ``dose_cells_per_kg`` (cells_infused / dosing weight_kg), ``infused_on``,
        ``admission_day`` (days since the infusion, negative before it), ``discharge_day``,
        ``death_day`` (float, NaN when none), ``death_cause`` (text; missing when none recorded),
        ``status_text`` (follow-up status at the cutoff), ``n_aes``, ``n_saes`` (int).
    """
    require_columns(subjects, ("subject_id", "age_years", "sex", "admitted_on", "infused_on", "death_cause",
                               "liao_level_at_screening"), "subjects")
    require_columns(infusions, ("subject_id", "cells_infused", "weight_kg"), "infusions")
    require_columns(follow, ("subject_id", "death_day", "discharge_day", "status_text"), "follow")
    ids = [str(i) for i in subject_ids]
    s = subjects.assign(subject_id=subjects["subject_id"].astype(str)).set_index("subject_id").reindex(ids)
    inf = infusions.assign(subject_id=infusions["subject_id"].astype(str)).set_index("subject_id").reindex(ids)
    f = follow.assign(subject_id=follow["subject_id"].astype(str)).set_index("subject_id").reindex(ids)
    ae = adverse_events.assign(subject_id=adverse_events["subject_id"].astype(str))
    n_aes = ae.groupby("subject_id").size().reindex(ids, fill_value=0)
    n_saes = ae[ae["serious"].fillna(False).astype(bool)].groupby("subject_id").size().reindex(ids, fill_value=0)
    return pd.DataFrame({
        "subject_id": ids,
        "age_years": s["age_years"].to_numpy(),
        "sex": s["sex"].astype("object").to_numpy(),
        "liao_level_at_screening": s["liao_level_at_screening"].astype("object").to_numpy(),
        "dose_cells_per_kg": (inf["cells_infused"].astype("float64") / inf["weight_kg"].astype("float64")).to_numpy(),
        "infused_on": s["infused_on"].to_numpy(),
        "admission_day": _day(s["admitted_on"], s["infused_on"]).to_numpy(),
        "discharge_day": f["discharge_day"].astype("float64").to_numpy(),
        "death_day": f["death_day"].astype("float64").to_numpy(),
        "death_cause": s["death_cause"].astype("object").to_numpy(),
        "status_text": f["status_text"].astype("object").to_numpy(),
        "n_aes": n_aes.astype("int64").to_numpy(),
        "n_saes": n_saes.astype("int64").to_numpy(),
    })


def _frame(subject_id, time_days, record, value=float("nan"), unit="", level=None, detail=None,
           end_days=float("nan")) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": subject_id, "time_days": time_days, "end_days": end_days, "record": record,
                         "value": value, "unit": unit, "level": level, "detail": detail})


def profile_records(cut, subject_ids) -> pd.DataFrame:
    """Every record of the subjects, one row each, on the time axis of days since the infusion.

    Parameters
    ----------
    cut : Cut
        A loaded cut (``subjects``, ``vitals``, ``labs``, ``blood_gases``, ``pcr``, ``imaging``,
        ``adverse_events``); only read.
    subject_ids : list of str
        Treated subjects.

    Returns
    -------
    DataFrame
        Sorted by subject (in the order given), time and :data:`RECORD_KINDS`: ``subject_id``;
        ``time_days`` (float days since the infusion; the exact time where the record has one);
        ``end_days`` (float: adverse events, the day resolved; NaN when ongoing or not an AE);
        ``record`` (one of :data:`RECORD_KINDS`); ``value`` (float: Liao total in points, SpO2 in
        %, CRP in mg/dL, PaO2/FiO2 in mmHg, CT severity score in points, AE grade; NaN otherwise);
        ``unit``; ``level`` (Liao level, "on oxygen" / "room air", RT-PCR result, CT impression,
        "serious" / "not serious"; may be missing); ``detail`` (AE term and relatedness, cause of
        death, "incomplete assessment"; may be missing).
    """
    ids = [str(i) for i in subject_ids]
    s = cut.subjects[cut.subjects["subject_id"].astype(str).isin(ids)]
    day0 = dict(zip(s["subject_id"].astype(str), pd.to_datetime(s["infused_on"]).dt.normalize()))

    def mine(frame):
        out = frame[frame["subject_id"].astype(str).isin(ids)].copy()
        out["subject_id"] = out["subject_id"].astype(str)
        return out

    def days(frame, column):
        start = pd.to_datetime(frame["subject_id"].astype(object).map(day0))  # datetimes even when empty
        return ((pd.to_datetime(frame[column]) - start) / _DAY).astype("float64")

    parts = [
        _frame(s["subject_id"].astype(str), _day(s["admitted_on"], s["infused_on"]), "Admission"),
        _frame(s["subject_id"].astype(str), 0.0, "Infusion"),
    ]
    gone = s[s["discharged_on"].notna()]
    parts.append(_frame(gone["subject_id"].astype(str), _day(gone["discharged_on"], gone["infused_on"]), "Discharge"))
    dead = s[s["died_on"].notna()]
    parts.append(_frame(dead["subject_id"].astype(str), _day(dead["died_on"], dead["infused_on"]), "Death",
                        detail=dead["death_cause"].astype("object")))

    scored = mine(liao_improvement.score_assessments(mine(cut.vitals), s))
    parts.append(_frame(scored["subject_id"], days(scored, "measured_at"), "Liao score",
                        scored["liao_total"].astype("float64"), "points", scored["liao_level"].astype("object"),
                        scored["incomplete"].map({True: "incomplete assessment", False: None})))
    v = mine(cut.vitals)
    v = v[v["spo2_pct"].notna()]
    parts.append(_frame(v["subject_id"], days(v, "measured_at"), "SpO2", v["spo2_pct"].astype("float64"), "%",
                        v["on_oxygen"].map({True: "on oxygen", False: "room air"}).astype("object")))
    c = mine(crp_module.crp_values(mine(cut.labs)))
    parts.append(_frame(c["subject_id"], days(c, "collected_at"), "CRP", c["crp_mg_dl"], "mg/dL"))
    pf = mine(pao2_fio2.pf_ratio(mine(cut.blood_gases)))
    pf = pf[pf["pf_ratio_mmhg"].notna()]
    parts.append(_frame(pf["subject_id"], days(pf, "collected_at"), "PaO2/FiO2", pf["pf_ratio_mmhg"], "mmHg"))
    p = mine(cut.pcr)
    parts.append(_frame(p["subject_id"], days(p, "collected_on"), "RT-PCR", level=p["result"].astype("object")))
    im = mine(cut.imaging)
    parts.append(_frame(im["subject_id"], days(im, "performed_on"), "CT score",
                        im["severity_score"].astype("float64"), "points", im["impression"].astype("object")))
    ae = mine(cut.adverse_events)
    parts.append(_frame(ae["subject_id"], days(ae, "onset_on"), "Adverse event", ae["grade"].astype("float64"),
                        "CTCAE grade", ae["serious"].map({True: "serious", False: "not serious"}).astype("object"),
                        ae["term"].astype(str) + " (" + ae["related"].astype("object").fillna("relatedness not recorded")
                        .astype(str) + ")", days(ae, "resolved_on")))
    kept = [x for x in parts if len(x)]
    out = pd.concat(kept, ignore_index=True) if kept else _frame(
        pd.Series([], dtype=object), pd.Series([], dtype="float64"), pd.Series([], dtype=object))
    out["level"] = out["level"].astype("object").where(out["level"].notna(), None)
    out["detail"] = out["detail"].astype("object").where(out["detail"].notna(), None)
    order = {k: i for i, k in enumerate(RECORD_KINDS)}
    who = {k: i for i, k in enumerate(ids)}
    out = out.assign(_who=out["subject_id"].map(who), _kind=out["record"].map(order))
    return (out.sort_values(["_who", "time_days", "_kind"], kind="stable").drop(columns=["_who", "_kind"])
            .reset_index(drop=True))


def daily_worst(records: pd.DataFrame) -> pd.DataFrame:
    """The worst value of each day of the repeated measures, per subject.

    Parameters
    ----------
    records : DataFrame
        :func:`profile_records` (any subjects); only the :data:`REPEATED_MEASURES` rows are used.

    Returns
    -------
    DataFrame
        One row per subject and day with at least one repeated measure, in the order of
        ``records``: ``subject_id``; ``day`` (int, days since the infusion, the day of the
        record); ``n_assessments`` (vital-sign assessments scored that day); ``liao_max``
        (highest Liao total, points); ``liao_level_worst`` (worst colour level of the day:
        green < yellow < orange < red; missing when none); ``n_incomplete`` (assessments scored
        although incomplete); ``spo2_min_pct`` (lowest SpO2); ``spo2_min_on_oxygen`` (bool, the
        oxygen of that lowest reading; missing when no SpO2); ``crp_max_mg_dl``;
        ``pf_min_mmhg`` (lowest PaO2/FiO2). NaN where the day has no such record.

    Examples
    --------
    >>> r = pd.DataFrame({"subject_id": ["A"] * 4, "time_days": [0.2, 0.7, 0.7, 1.5],
    ...                   "record": ["Liao score", "Liao score", "SpO2", "CRP"], "value": [5.0, 7.0, 90.0, 12.0],
    ...                   "level": ["yellow", "red", "room air", None], "detail": [None] * 4})
    >>> daily_worst(r)[["day", "n_assessments", "liao_max", "liao_level_worst", "spo2_min_pct", "crp_max_mg_dl"]]
       day  n_assessments  liao_max liao_level_worst  spo2_min_pct  crp_max_mg_dl
    0    0              2       7.0              red          90.0            NaN
    1    1              0       NaN              NaN           NaN           12.0
    """
    require_columns(records, ("subject_id", "time_days", "record", "value", "level", "detail"), "records")
    r = records[records["record"].isin(REPEATED_MEASURES)]
    r = r.assign(day=np.floor(r["time_days"]).astype("int64"), _who=pd.factorize(r["subject_id"])[0])
    keys = ["_who", "subject_id", "day"]
    out = r[keys].drop_duplicates().sort_values(["_who", "day"]).reset_index(drop=True)
    liao = r[r["record"] == "Liao score"].assign(
        _rank=lambda x: pd.Categorical(x["level"], categories=LIAO_LEVELS, ordered=True).codes.astype("float64"),
        _incomplete=lambda x: x["detail"].eq("incomplete assessment"))
    liao = liao.assign(_rank=liao["_rank"].where(liao["_rank"] >= 0))
    by = liao.groupby(keys)
    out = out.merge(by.agg(n_assessments=("value", "size"), liao_max=("value", "max"), _rank=("_rank", "max"),
                           n_incomplete=("_incomplete", "sum")).reset_index(), on=keys, how="left")
    out["liao_level_worst"] = out["_rank"].map(lambda k: LIAO_LEVELS[int(k)] if k == k else None).astype("object")
    spo2 = r[r["record"] == "SpO2"].sort_values(keys + ["value"], kind="stable").drop_duplicates(keys)
    out = out.merge(spo2[keys + ["value", "level"]].rename(columns={"value": "spo2_min_pct", "level": "_oxygen"}),
                    on=keys, how="left")
    out["spo2_min_on_oxygen"] = out["_oxygen"].map({"on oxygen": True, "room air": False}).astype("object")
    for kind, column, how in (("CRP", "crp_max_mg_dl", "max"), ("PaO2/FiO2", "pf_min_mmhg", "min")):
        values = r[r["record"] == kind].groupby(keys)["value"].agg(how).rename(column).reset_index()
        out = out.merge(values, on=keys, how="left")
    out["n_assessments"] = out["n_assessments"].fillna(0).astype("int64")
    out["n_incomplete"] = out["n_incomplete"].fillna(0).astype("int64")
    return out[["subject_id", "day", "n_assessments", "liao_max", "liao_level_worst", "n_incomplete", "spo2_min_pct",
                "spo2_min_on_oxygen", "crp_max_mg_dl", "pf_min_mmhg"]].astype(
        {c: "float64" for c in ("liao_max", "spo2_min_pct", "crp_max_mg_dl", "pf_min_mmhg")})


def headline_measures(selection: pd.DataFrame) -> pd.DataFrame:
    """The page's one result, ready for :func:`~msc_analysis.report.results.result_rows`.

    Returns
    -------
    DataFrame
        One row: ``measure`` ``subjects_profiled``, ``estimate`` (subjects profiled), ``n``
        (treated subjects selected, profiled or not), ``unit``, ``method``.

    Examples
    --------
    >>> sel = pd.DataFrame({"treated": [True, True, False], "profiled": [True, False, False]})
    >>> headline_measures(sel)[["estimate", "n"]].values.tolist()
    [[1, 2]]
    """
    selected = int(selection["treated"].sum())
    shown = int(selection["profiled"].sum())
    return pd.DataFrame([dict(measure="subjects_profiled", estimate=shown, n=selected, unit="subjects",
                              method="count of treated subjects shown with a profile; n = treated subjects selected "
                                     "by the parameter subjects (default: died or had a serious adverse event)")])
