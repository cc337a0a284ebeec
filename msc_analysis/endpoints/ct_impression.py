"""The radiologist's impression of each chest CT against the **previous** scan (a secondary measure of
the CT page, :mod:`msc_analysis.endpoints.radiology`).

At each CT visit the scan nearest the target day is read; a subject without a scan is **not
assessed**, never "stable"; a scan without a recorded impression is "impression not recorded".
Because the impression compares with the previous scan, "stable" at day 28 after "improved" at
day 14 is a subject who kept the improvement: the headline of the CT page compares the severity
score with the baseline scan instead (``radiology.improvement_from_baseline``).
"""
from __future__ import annotations

import pandas as pd

from ..derive.checks import require_columns
from ..derive.visits import VISIT_STATUSES, assign_visits, family_rule, visit_windows
from ..stats.binomial import exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_evaluable

__all__ = ["FAMILY", "IMPRESSIONS", "NOT_RECORDED", "NOT_ASSESSED", "IMPRESSION_CATEGORIES", "ct_scans",
           "impression_by_visit", "impression_counts", "impression_shift", "improvement_proportions"]

#: Row of the definitions tables of chest CT.
FAMILY = "ct"
#: Radiologist's impressions, as in ``imaging.impression``.
IMPRESSIONS = ("improved", "stable", "worsened")
NOT_RECORDED, NOT_ASSESSED = "impression not recorded", "not assessed (no scan)"
#: Category of a subject at a CT visit, in display order.
IMPRESSION_CATEGORIES = (*IMPRESSIONS, NOT_RECORDED, NOT_ASSESSED, "died", "lost to follow-up",
                         "follow-up not reached")
_STATUS_TO_CATEGORY = {"died": "died", "discharged": NOT_ASSESSED, "no value": NOT_ASSESSED,
                       "lost to follow-up": "lost to follow-up", "follow-up not reached": "follow-up not reached"}


def ct_scans(imaging: pd.DataFrame) -> pd.DataFrame:
    """CT rows of the imaging table: ``subject_id``, ``performed_on``, ``days_since_infusion``,
    ``ct_severity_score`` (Float64), ``impression`` (lower case, "impression not recorded" when missing)."""
    require_columns(imaging, ("subject_id", "performed_on", "days_since_infusion", "severity_score",
                              "impression"), "imaging")
    if "modality" in imaging:
        imaging = imaging[imaging["modality"].astype(str).str.upper() == "CT"]
    impression = imaging["impression"].astype(object).where(imaging["impression"].notna())
    unknown = impression.notna() & ~impression.str.lower().isin(IMPRESSIONS)
    if unknown.any():
        raise ValueError(f"impression must be one of {IMPRESSIONS} or missing, "
                         f"got {sorted(set(impression[unknown]))}")
    return pd.DataFrame({"subject_id": imaging["subject_id"].to_numpy(),
                         "performed_on": imaging["performed_on"].to_numpy(),
                         "days_since_infusion": imaging["days_since_infusion"].astype("Int64").to_numpy(),
                         "ct_severity_score": pd.to_numeric(imaging["severity_score"]).astype("Float64").to_numpy(),
                         "impression": impression.str.lower().fillna(NOT_RECORDED).to_numpy()})

def impression_by_visit(imaging: pd.DataFrame, subjects: pd.DataFrame, *,
                        windows: pd.DataFrame | None = None, cutoff_date=None) -> pd.DataFrame:
    """The radiologist's impression of each treated subject at each CT visit.

    The scan nearest the target day in the window is read, whether or not it was scored.
    ``cutoff_date`` (the data cutoff) is needed for "lost to follow-up" and for the calendar
    evaluability of :func:`improvement_proportions`.

    Returns
    -------
    DataFrame
        One row per subject and visit: ``subject_id``, ``visit``, ``target_day``, ``status``
        (as in ``derive.visits``: "measured" means a scan), ``days_since_infusion`` and
        ``performed_on`` of the scan, ``window_end_day``, ``evaluable_by_calendar``,
        ``impression_category`` (categorical, :data:`IMPRESSION_CATEGORIES`: the impression;
        "impression not recorded"; "not assessed (no scan)" for an alive subject without a
        scan, discharged or not; "died"; "lost to follow-up"; "follow-up not reached").
    """
    rule = family_rule(FAMILY, windows)
    visits = assign_visits(ct_scans(imaging), subjects, rule["windows"], value_column="impression",
                           time_column="performed_on", cutoff_date=cutoff_date)
    category = visits["value"].astype(object).where(visits["status"] == VISIT_STATUSES[0],
                                                    visits["status"].astype(object).map(_STATUS_TO_CATEGORY))
    return visits.drop(columns=["value", "death_day", "discharge_day"]).assign(
        impression_category=pd.Categorical(category, categories=IMPRESSION_CATEGORIES))


def impression_counts(impressions: pd.DataFrame) -> pd.DataFrame:
    """Subjects in each impression category at each visit (zeros included).

    Returns
    -------
    DataFrame
        ``visit``, ``target_day``, ``impression_category``, ``n_subjects``, ``share_prop``
        (of the treated subjects).
    """
    visits = impressions[["visit", "target_day"]].drop_duplicates()
    counts = impressions.groupby(["visit", "impression_category"], observed=False).size().rename("n_subjects")
    out = visits.merge(pd.DataFrame({"impression_category": IMPRESSION_CATEGORIES}), how="cross") \
        .join(counts, on=["visit", "impression_category"])
    out["n_subjects"] = out["n_subjects"].fillna(0).astype("int64")
    out["impression_category"] = pd.Categorical(out["impression_category"], categories=IMPRESSION_CATEGORIES)
    total = out.groupby("visit", sort=False)["n_subjects"].transform("sum")
    out["share_prop"] = (out["n_subjects"] / total.where(total > 0)).astype("float64")
    return out.reset_index(drop=True)


def impression_shift(impressions: pd.DataFrame, from_day: int = 14, to_day: int = 28) -> pd.DataFrame:
    """Shift of the impression category from one CT visit to a later one, per subject.

    Returns
    -------
    DataFrame
        Every combination (zeros included): ``from_category``, ``to_category``
        (:data:`IMPRESSION_CATEGORIES`), ``n_subjects``. Without any subject (nobody infused
        yet) every count is 0; the days are then checked against the CT visit windows.
    """
    days = set(impressions["target_day"]) if len(impressions) else set(visit_windows(FAMILY)["target_day"])
    if from_day not in days or to_day not in days or from_day >= to_day:
        raise ValueError(f"need two CT visit days, the first earlier; have {sorted(days)}")
    pick = {d: impressions[impressions["target_day"] == d].set_index("subject_id")["impression_category"]
            for d in (from_day, to_day)}
    pairs = pd.DataFrame({"from_category": pick[from_day].astype(object),
                          "to_category": pick[to_day].reindex(pick[from_day].index).astype(object)})
    counts = pairs.groupby(["from_category", "to_category"]).size().rename("n_subjects")
    grid = pd.MultiIndex.from_product([IMPRESSION_CATEGORIES, IMPRESSION_CATEGORIES],
                                      names=["from_category", "to_category"])
    out = counts.reindex(grid, fill_value=0).reset_index()
    for column in ("from_category", "to_category"):
        out[column] = pd.Categorical(out[column], categories=IMPRESSION_CATEGORIES)
    return out.astype({"n_subjects": "int64"})


def improvement_proportions(impressions: pd.DataFrame, *, deaths_as_not_improved: bool = True,
                            by_calendar: bool = False) -> pd.DataFrame:
    """Proportion with an "improved" impression (against the previous scan) at each CT visit, exact 95 % CI.

    The denominator is the subjects with a read scan (improved, stable or worsened) plus,
    with ``deaths_as_not_improved`` (default, as for the Liao score), those who died before
    the visit's window ended; subjects not assessed, with an unrecorded impression, lost to
    follow-up or not yet followed to the visit are left out and counted. With ``by_calendar``
    only the subjects whose visit window closed by the cutoff count (``evaluable_by_calendar``
    of :func:`impression_by_visit` with the cutoff); the others are counted in
    ``n_not_evaluable``. At a visit where no subject has a read scan the proportion is not
    estimated (missing): it would count deaths only.

    Returns
    -------
    DataFrame
        One row per visit (every CT visit of the windows when there is no subject at all):
        ``visit``, ``target_day``, ``n_subjects``, ``n_not_evaluable`` (0 unless
        ``by_calendar``), ``n_improved``, ``n_stable``, ``n_worsened``, ``n_died``,
        ``n_not_recorded``, ``n_not_assessed``, ``n_lost_to_follow_up``, ``n_not_reached``,
        ``n_evaluable``, ``improved_prop``, ``ci95_lower``,
        ``ci95_upper`` (Clopper-Pearson, ``stats.binomial.exact_proportion``),
        ``not_estimable_reason`` ("" when estimated; "no subject infused yet", "no read scan
        at this visit" or "no subject evaluable at day N").
    """
    rows = []
    groups = list(impressions.groupby(["visit", "target_day"], sort=False))
    if not groups:
        empty = impressions.iloc[:0]
        groups = [((v, d), empty) for v, d in zip(visit_windows(FAMILY)["visit"], visit_windows(FAMILY)["target_day"])]
    for (visit, day), g in groups:
        n_all = len(g)
        if by_calendar:
            passed = g["evaluable_by_calendar"].astype("boolean")
            if passed.isna().any():
                raise ValueError("evaluable_by_calendar is missing: read the impressions with the data cutoff")
            g = g[passed.to_numpy(bool)]
        n = g["impression_category"].value_counts().reindex(IMPRESSION_CATEGORIES, fill_value=0)
        evaluable = int(n[list(IMPRESSIONS)].sum()) + (int(n["died"]) if deaths_as_not_improved else 0)
        rows.append({"visit": visit, "target_day": int(day), "n_subjects": n_all, "n_not_evaluable": n_all - len(g),
                     "n_improved": int(n["improved"]), "n_stable": int(n["stable"]),
                     "n_worsened": int(n["worsened"]), "n_died": int(n["died"]),
                     "n_not_recorded": int(n[NOT_RECORDED]), "n_not_assessed": int(n[NOT_ASSESSED]),
                     "n_lost_to_follow_up": int(n["lost to follow-up"]),
                     "n_not_reached": int(n["follow-up not reached"]), "n_evaluable": evaluable})
    out = pd.DataFrame(rows, columns=["visit", "target_day", "n_subjects", "n_not_evaluable", "n_improved", "n_stable",
                                      "n_worsened", "n_died", "n_not_recorded", "n_not_assessed",
                                      "n_lost_to_follow_up", "n_not_reached", "n_evaluable"])
    read = (out["n_improved"] + out["n_stable"] + out["n_worsened"]) > 0
    ci = exact_proportion(out["n_improved"].to_numpy(int), out["n_evaluable"].where(read, 0).to_numpy(int))
    reason = [NO_SUBJECT_INFUSED if n == 0 else no_subject_evaluable(d) if e == 0 else
              "" if r else "no read scan at this visit"
              for n, e, r, d in zip(out["n_subjects"], out["n_evaluable"], read, out["target_day"])]
    return out.assign(improved_prop=ci["estimate_prop"].to_numpy(), ci95_lower=ci["ci95_lower"].to_numpy(),
                      ci95_upper=ci["ci95_upper"].to_numpy(), not_estimable_reason=reason)
