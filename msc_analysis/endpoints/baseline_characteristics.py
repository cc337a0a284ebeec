"""Baseline severity of each treated subject, for Table 1 of the overview page.

Each value is the baseline of the longitudinal endpoint that owns it, by that endpoint's own rule
(``definitions/baseline.yaml``; :mod:`msc_analysis.derive.baseline`): CRP (:mod:`.crp`), PaO2/FiO2
(:mod:`.pao2_fio2`), CT severity score (:mod:`.radiology`), and SpO2 and oxygen use read from the
vital-sign assessment that is the Liao (NEWS-C) baseline (:mod:`.liao_improvement`: the last
complete assessment on days -3..0, the earliest of day 0 only). A subject without a baseline by
that rule has a missing value (counted as missing in Table 1).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..derive.checks import positions
from ..derive.visits import visit_windows
from . import crp, liao_improvement, pao2_fio2, radiology

__all__ = ["SEVERITY_COLUMNS", "baseline_severity"]

#: Output columns of :func:`baseline_severity` besides ``subject_id`` (order kept).
SEVERITY_COLUMNS = ["spo2_pct_baseline", "on_oxygen_baseline", "crp_mg_dl_baseline",
                    "pf_ratio_mmhg_baseline", "ct_severity_score_baseline"]


def _baseline(by_visit: pd.DataFrame, column: str) -> pd.Series:
    base = by_visit[by_visit["target_day"].eq(0) & by_visit["has_baseline"].astype(bool)]
    return base.drop_duplicates("subject_id").set_index("subject_id")[column]


def baseline_severity(subjects: pd.DataFrame, vitals: pd.DataFrame, labs: pd.DataFrame,
                      blood_gases: pd.DataFrame, imaging: pd.DataFrame) -> pd.DataFrame:
    """Baseline SpO2, oxygen use, CRP, PaO2/FiO2 and CT severity score of each treated subject.

    Parameters
    ----------
    subjects : DataFrame
        The treated population (``cut.population("treated")``): ``subject_id``, ``infused_on``,
        ``age_years``, ``died_on``, ``discharged_on``, ``last_known_alive_on``.
    vitals, labs, blood_gases, imaging : DataFrame
        The tables of the cut (as loaded).

    Returns
    -------
    DataFrame
        One row per subject of ``subjects`` (same order): ``subject_id``, ``spo2_pct_baseline``
        (%), ``on_oxygen_baseline`` (object: "yes", "no" or missing), ``crp_mg_dl_baseline``
        (mg/dL), ``pf_ratio_mmhg_baseline`` (mmHg), ``ct_severity_score_baseline`` (points).
    """
    ids = subjects["subject_id"]
    # only the baseline row of each endpoint is used: no visit windows, no visits to assign
    none = {"windows": visit_windows().iloc[:0]}
    liao = liao_improvement.liao_by_visit(liao_improvement.score_assessments(vitals, subjects), subjects, **none)
    base_time = _baseline(liao, "measured_at")
    # the vital-sign record of each baseline assessment: the first row of the subject at that time
    at = positions(vitals["subject_id"], ids)
    when = np.full(len(ids) + 1, np.datetime64("NaT"), dtype=vitals["measured_at"].to_numpy().dtype)
    when[positions(base_time.index.to_series(), ids)] = base_time.to_numpy()
    rows = np.flatnonzero(vitals["measured_at"].to_numpy() == when[at])  # at -1: NaT, never equal
    subject, first = np.unique(at[rows], return_index=True)
    record = vitals.iloc[rows[first]]
    oxygen = record["on_oxygen"].astype("boolean")
    out = pd.DataFrame({"subject_id": ids.to_numpy()})
    spo2 = np.full(len(ids), np.nan)
    spo2[subject] = pd.to_numeric(record["spo2_pct"], errors="coerce").to_numpy(dtype=float)
    out["spo2_pct_baseline"] = spo2
    on_oxygen = np.full(len(ids), np.nan, dtype=object)
    on_oxygen[subject] = np.where(oxygen.isna().to_numpy(bool), pd.NA,
                                  np.where(oxygen.fillna(False).to_numpy(bool), "yes", "no"))
    out["on_oxygen_baseline"] = on_oxygen
    out["crp_mg_dl_baseline"] = ids.map(
        _baseline(crp.crp_by_visit(labs, subjects, **none), "crp_mg_dl")).to_numpy(dtype=float)
    out["pf_ratio_mmhg_baseline"] = ids.map(
        _baseline(pao2_fio2.pf_by_visit(blood_gases, subjects, **none), "pf_ratio_mmhg")).to_numpy(dtype=float)
    out["ct_severity_score_baseline"] = ids.map(
        _baseline(radiology.ct_by_visit(imaging, subjects, **none), "ct_severity_score")).to_numpy(dtype=float)
    return out
