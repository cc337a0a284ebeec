"""The library computations behind each endpoint page, as the notebooks make them (no plots).

Used by benchmarks/run.py to time each endpoint at scale. Keep in step with the notebooks.
"""
from msc_analysis.endpoints import adverse_events as ae
from msc_analysis.endpoints import (changes, crp, dose_feasibility, hospital_stay, liao_improvement,
                                    overall_survival, overview, pao2_fio2, pcr_negativity, radiology)
from msc_analysis.endpoints import safety_monitoring as sm


def _overview(cut):
    overview.trial_flow(cut.subjects)
    overview.screen_failures(cut.eligibility)
    overview.enrollment_over_time(cut.subjects)
    status = overview.follow_up_status(cut.subjects, cut.cutoff_date)
    return overview.headline_measures(cut.subjects, status)


def _overall_survival(cut):
    times = overall_survival.survival_times(cut.subjects, cut.cutoff_date)
    overall_survival.km_curves(times)
    overall_survival.risk_table_by_group(times)
    overall_survival.median_survival_by_group(times)
    negativity = pcr_negativity.negativity_status(cut.subjects, cut.pcr)
    overall_survival.swimmer_lanes(times, cut.subjects, negativity)
    return overall_survival.headline_measures(times)


def _pcr_negativity(cut):
    status = pcr_negativity.negativity_status(cut.subjects, cut.pcr)
    pcr_negativity.incidence_curves(status)
    pcr_negativity.risk_table(status)
    first = pcr_negativity.negativity_status(cut.subjects, cut.pcr, confirmation="first_negative")
    pcr_negativity.headline_measures(first, prefix="sensitivity_")
    return pcr_negativity.headline_measures(status)


def _hospital_stay(cut):
    course = hospital_stay.hospital_course(cut.subjects, cut.cutoff_date)
    hospital_stay.discharge_curves(course)
    hospital_stay.risk_table(course)
    return hospital_stay.headline_measures(course)


def _crp(cut):
    by_visit = crp.crp_by_visit(cut.labs, cut.population("treated"))
    crp.crp_change_tests(by_visit)
    crp.crp_ratio_to_baseline(by_visit)
    return crp.headline_measures(crp.crp_summary(by_visit))


def _pao2_fio2(cut):
    by_visit = pao2_fio2.pf_by_visit(cut.blood_gases, cut.population("treated"))
    pao2_fio2.pf_change_tests(by_visit)
    pao2_fio2.pf_ratio_to_baseline(by_visit)
    pao2_fio2.berlin_shift_table(by_visit)
    return pao2_fio2.headline_measures(pao2_fio2.pf_summary(by_visit))


def _liao_score(cut):
    treated = cut.population("treated")
    scored = liao_improvement.score_assessments(cut.vitals, treated)
    by_visit = liao_improvement.liao_by_visit(scored, treated)
    summary = liao_improvement.score_change_summary(by_visit)
    liao_improvement.score_change_tests(by_visit)
    liao_improvement.level_distribution(by_visit)
    proportions = liao_improvement.improvement_proportions(liao_improvement.level_improvement(scored, treated))
    sustained = liao_improvement.sustained_low_score(scored, treated)
    incidence = liao_improvement.sustained_low_score_incidence(sustained, (7, 14, 28, 60))
    return summary, proportions, incidence


def _radiology(cut):
    treated = cut.population("treated")
    by_visit = radiology.ct_by_visit(cut.imaging, treated)
    radiology.ct_change_tests(by_visit)
    impressions = radiology.impression_by_visit(cut.imaging, treated)
    radiology.impression_shift(impressions)
    return radiology.headline_measures(radiology.ct_summary(by_visit),
                                       radiology.improvement_proportions(impressions))


def _safety(cut):
    treated = cut.population("treated")
    flagged = ae.classify_adverse_events(cut.adverse_events)
    ae.subjects_with_adverse_events(flagged, treated)
    ae.adverse_events_by_term(flagged, treated)
    ae.serious_ae_listing(flagged, treated)
    ae.death_listing(treated, flagged)
    evaluable = sm.evaluable_subjects(treated, sm.toxicity_events(flagged, treated))
    sm.monitoring_boundary(len(treated))
    return sm.posterior_toxicity(evaluable)


def _dose_feasibility(cut):
    doses = dose_feasibility.dose_delivered(cut.infusions)
    delays = dose_feasibility.enrollment_to_infusion(cut.subjects)
    proportions = dose_feasibility.feasibility_proportions(cut.subjects, doses)
    return dose_feasibility.headline_measures(doses, proportions, delays)


def _changes(cut):
    return changes.compare_cuts(None, cut)


ENDPOINT_CALLS = {
    "00_overview": _overview,
    "01_overall_survival": _overall_survival,
    "02_pcr_negativity": _pcr_negativity,
    "03_hospital_stay": _hospital_stay,
    "04_crp": _crp,
    "05_pao2_fio2": _pao2_fio2,
    "06_liao_score": _liao_score,
    "07_radiology": _radiology,
    "08_safety": _safety,
    "09_dose_feasibility": _dose_feasibility,
    "10_changes": _changes,
}
