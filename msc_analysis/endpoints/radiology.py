"""Radiological improvement on chest CT: severity score change and the radiologist's impression.

Population: treated subjects; day 0 is the infusion. The CT severity score (0-25: five lobes
scored 0-5) is handled like every longitudinal value, with the ``ct`` rows of
``definitions/baseline.yaml`` (imaging has dates only: a scan dated day 0 counts as baseline)
and ``definitions/visit_windows.csv`` (days 14, 28, 60 with wide windows).

The impression (improved, stable, worsened) compares a scan with the **previous** scan. At each
visit the scan nearest the target day is read; a subject without a scan is **not assessed**,
never "stable"; a scan without a recorded impression is "impression not recorded".
"""
from __future__ import annotations

import pandas as pd

from ..derive.checks import require_columns
from ..derive.visits import (VISIT_STATUSES, assign_visits, family_rule, longitudinal, summarise_visits,
                             visit_windows)
from ..report.longitudinal_tables import median_measures
from ..stats.binomial import EXACT_CI_METHOD, exact_proportion
from ..stats.estimability import NO_SUBJECT_INFUSED, no_subject_evaluable, with_reason
from ..stats.paired import signed_rank_by_visit

__all__ = ["FAMILY", "IMPRESSIONS", "IMPRESSION_CATEGORIES", "DECIMALS", "ct_by_visit", "ct_summary",
           "ct_change_tests", "impression_by_visit", "impression_counts", "impression_shift",
           "improvement_proportions", "headline_measures"]

FAMILY = "ct"
#: Radiologist's impressions, as in ``imaging.impression``.
IMPRESSIONS = ("improved", "stable", "worsened")
NOT_RECORDED, NOT_ASSESSED = "impression not recorded", "not assessed (no scan)"
#: Category of a subject at a CT visit, in display order.
IMPRESSION_CATEGORIES = (*IMPRESSIONS, NOT_RECORDED, NOT_ASSESSED, "died", "follow-up not reached")
#: Decimals of the medians and quartiles of the CT score and of its change on the page: the score is
#: recorded in whole points, and summaries carry one decimal more (a median of 4.5 is not rounded to 4;
#: the ``decimal1`` format of ``ct_score_change_median`` in ``definitions/measures.csv``).
DECIMALS = 1
_STATUS_TO_CATEGORY = {"died": "died", "discharged": NOT_ASSESSED, "no value": NOT_ASSESSED,
                       "follow-up not reached": "follow-up not reached"}


def _scans(imaging: pd.DataFrame) -> pd.DataFrame:
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


def ct_by_visit(imaging: pd.DataFrame, subjects: pd.DataFrame, *, windows: pd.DataFrame | None = None,
                window_days_before: int | None = None, day0_values: str | None = None) -> pd.DataFrame:
    """CT severity score of each treated subject at baseline and at each CT visit.

    Parameters
    ----------
    imaging : DataFrame
        ``subject_id``, ``performed_on`` (date), ``days_since_infusion``, ``severity_score``
        (0-25, may be missing), ``impression``; rows of another ``modality`` than CT are
        ignored.
    subjects : DataFrame
        The treated population: ``subject_id``, ``infused_on``, ``died_on``,
        ``discharged_on``, ``last_known_alive_on``.
    windows, window_days_before, day0_values
        Visit windows and baseline rule; ``None`` reads the ``ct`` rows of the definitions.

    Returns
    -------
    DataFrame
        One row per subject for the baseline and each visit: ``subject_id``, ``visit``,
        ``target_day``, ``status``, ``days_since_infusion``, ``performed_on`` (of the scored
        scan used), ``ct_severity_score``, ``death_day``, ``discharge_day``, ``has_baseline``,
        ``ct_severity_score_baseline``, ``ct_score_change`` (points, value - baseline),
        ``ct_score_change_pct`` (missing when the baseline is 0). Only scans with a score count.
    """
    rule = family_rule(FAMILY, windows, window_days_before, day0_values)
    long = longitudinal(_scans(imaging), subjects, value_column="ct_severity_score",
                        time_column="performed_on", **rule)
    return long.rename(columns={"value": "ct_severity_score", "baseline_value": "ct_severity_score_baseline",
                                "change": "ct_score_change", "change_pct": "ct_score_change_pct"})


def ct_summary(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Subjects behind each visit; median and quartiles of the score (``ct_severity_score_*``)
    and of its change (``ct_score_change_*``), ``*_not_estimable_reason`` saying why a median is
    missing; see ``derive.visits.summarise_visits``. Every CT visit is reported even with no subject
    (nobody infused yet), with zero counts."""
    return summarise_visits(by_visit, "ct_severity_score", "ct_score_change", visits=visit_windows(FAMILY))


def ct_change_tests(by_visit: pd.DataFrame) -> pd.DataFrame:
    """Wilcoxon signed-rank test of the score change at each visit (columns of
    ``stats.paired.signed_rank_by_visit``)."""
    return signed_rank_by_visit(by_visit, "ct_score_change")


def impression_by_visit(imaging: pd.DataFrame, subjects: pd.DataFrame, *,
                        windows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The radiologist's impression of each treated subject at each CT visit.

    The scan nearest the target day in the window is read, whether or not it was scored.

    Returns
    -------
    DataFrame
        One row per subject and visit: ``subject_id``, ``visit``, ``target_day``, ``status``
        (as in ``derive.visits``: "measured" means a scan), ``days_since_infusion`` and
        ``performed_on`` of the scan, ``impression_category`` (categorical,
        :data:`IMPRESSION_CATEGORIES`: the impression; "impression not recorded"; "not
        assessed (no scan)" for an alive subject without a scan, discharged or not; "died";
        "follow-up not reached").
    """
    rule = family_rule(FAMILY, windows)
    visits = assign_visits(_scans(imaging), subjects, rule["windows"], value_column="impression",
                           time_column="performed_on")
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


def improvement_proportions(impressions: pd.DataFrame, *, deaths_as_not_improved: bool = True) -> pd.DataFrame:
    """Proportion with an "improved" impression at each CT visit, with an exact 95 % CI.

    The denominator is the subjects with a read scan (improved, stable or worsened) plus,
    with ``deaths_as_not_improved`` (default, as for the Liao score), those who died before
    the visit; subjects not assessed, with an unrecorded impression or not yet followed to the
    visit are left out and counted. At a visit where no subject has a read scan the proportion
    is not estimated (missing): it would count deaths only.

    Returns
    -------
    DataFrame
        One row per visit (every CT visit of the windows when there is no subject at all):
        ``visit``, ``target_day``, ``n_subjects``, ``n_improved``,
        ``n_stable``, ``n_worsened``, ``n_died``, ``n_not_recorded``, ``n_not_assessed``,
        ``n_not_reached``, ``n_evaluable``, ``improved_prop``, ``ci95_lower``,
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
        n = g["impression_category"].value_counts().reindex(IMPRESSION_CATEGORIES, fill_value=0)
        evaluable = int(n[list(IMPRESSIONS)].sum()) + (int(n["died"]) if deaths_as_not_improved else 0)
        rows.append({"visit": visit, "target_day": int(day), "n_subjects": len(g),
                     "n_improved": int(n["improved"]), "n_stable": int(n["stable"]),
                     "n_worsened": int(n["worsened"]), "n_died": int(n["died"]),
                     "n_not_recorded": int(n[NOT_RECORDED]), "n_not_assessed": int(n[NOT_ASSESSED]),
                     "n_not_reached": int(n["follow-up not reached"]), "n_evaluable": evaluable})
    out = pd.DataFrame(rows, columns=["visit", "target_day", "n_subjects", "n_improved", "n_stable",
                                      "n_worsened", "n_died", "n_not_recorded", "n_not_assessed",
                                      "n_not_reached", "n_evaluable"])
    read = (out["n_improved"] + out["n_stable"] + out["n_worsened"]) > 0
    ci = exact_proportion(out["n_improved"].to_numpy(int), out["n_evaluable"].where(read, 0).to_numpy(int))
    reason = [NO_SUBJECT_INFUSED if n == 0 else no_subject_evaluable(d) if e == 0 else
              "" if r else "no read scan at this visit"
              for n, e, r, d in zip(out["n_subjects"], out["n_evaluable"], read, out["target_day"])]
    return out.assign(improved_prop=ci["estimate_prop"].to_numpy(), ci95_lower=ci["ci95_lower"].to_numpy(),
                      ci95_upper=ci["ci95_upper"].to_numpy(), not_estimable_reason=reason)


def headline_measures(summary: pd.DataFrame, proportions: pd.DataFrame) -> pd.DataFrame:
    """Headline rows: ``ct_score_change_median`` by visit day (points, IQR in the CI columns)
    and ``ct_improved_prop`` by visit day (exact CI).

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``day``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``,
        ``unit``, ``method`` (for ``report.results.result_rows``).
    """
    return pd.concat([
        median_measures(summary, "ct_score_change", measure="ct_score_change_median", unit="points",
                        n_column="n_change", what="change in CT severity score (0-25) from baseline of "
                        "treated subjects with both", include_baseline=False),
        pd.DataFrame({"measure": "ct_improved_prop", "group": "all", "day": proportions["target_day"],
                      "estimate": proportions["improved_prop"], "ci95_lower": proportions["ci95_lower"],
                      "ci95_upper": proportions["ci95_upper"], "n": proportions["n_evaluable"],
                      "unit": "proportion",
                      "method": [with_reason("radiologist's impression 'improved' (vs the previous scan) at the "
                                             "visit's scan, among subjects with a read scan or who died before "
                                             f"(counted as not improved); not assessed excluded; {EXACT_CI_METHOD}",
                                             reason) for reason in proportions.get(
                                                 "not_estimable_reason", pd.Series("", index=proportions.index))]}),
    ], ignore_index=True)
