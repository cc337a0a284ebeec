"""Adverse events: treatment-emergent AEs, worst grade per subject, serious AEs and deaths.

The hand-built AE table covers: the same term twice in one subject at different grades, an AE
starting the day before the infusion, an AE on the infusion day, a grade-5 event, a missing
relationship assessment (counted as related), a treated subject with no AE (in the
denominator) and an AE of a subject never infused.
"""
import pandas as pd
import pytest

from msc_analysis.definitions import safety_definitions
from msc_analysis.endpoints import adverse_events as ae

d = pd.to_datetime

# Four treated subjects, all infused on 2020-08-01 (day 0); D has no AE. E was never infused.
TREATED = pd.DataFrame({
    "subject_id": ["A", "B", "C", "D"],
    "infused_on": d(["2020-08-01"] * 4),
    "died_on": d([None, "2020-08-14", None, "2020-08-06"]),
})


def _aes() -> pd.DataFrame:
    rows = [
        # subject, term, onset, resolved, grade, serious, related, infusion_related, day
        ("A", "Nausea", "2020-08-03", "2020-08-05", 1, False, "possible", False, 2),
        ("A", "Nausea", "2020-08-10", None, 3, True, "unrelated", False, 9),       # same term, worse grade
        ("A", "Chills", "2020-07-31", "2020-08-01", 2, False, "possible", True, -1),  # day before infusion
        ("B", "Fever", "2020-08-01", "2020-08-02", 1, False, None, True, 0),       # infusion day, not assessed
        ("B", "Sepsis", "2020-08-13", None, 5, True, "unlikely", False, 12),        # grade 5
        ("C", "Headache", "2020-08-04", "2020-08-04", 2, False, "probable", True, 3),  # infusion-related on day 3
        ("E", "Anemia", "2020-08-02", None, 1, False, "unrelated", False, None),    # never infused
    ]
    frame = pd.DataFrame(rows, columns=["subject_id", "term", "onset_on", "resolved_on", "grade", "serious",
                                        "related", "infusion_related", "days_since_infusion"])
    return frame.assign(onset_on=d(frame["onset_on"]), resolved_on=d(frame["resolved_on"]),
                        grade=frame["grade"].astype("Int64"), serious=frame["serious"].astype("boolean"),
                        related=frame["related"].astype("string"),
                        infusion_related=frame["infusion_related"].astype("boolean"),
                        days_since_infusion=frame["days_since_infusion"].astype("Int64"))


@pytest.fixture
def flagged():
    return ae.classify_adverse_events(_aes())


@pytest.fixture
def summary(flagged):
    return ae.subjects_with_adverse_events(flagged, TREATED).set_index("category")


def test_ae_on_the_infusion_day_is_treatment_emergent_and_the_day_before_is_not(flagged):
    period = dict(zip(flagged["term"], flagged["period"].astype(str)))
    assert period["Fever"] == "treatment-emergent"      # day 0
    assert period["Chills"] == "before infusion"        # day -1
    assert period["Anemia"] == "not infused"


def test_missing_relatedness_counts_as_related_and_is_flagged(flagged):
    fever = flagged.set_index("term").loc["Fever"]
    assert fever["related_to_msc"] and fever["relatedness_missing"]


def test_missing_relatedness_can_be_counted_as_unrelated():
    out = ae.classify_adverse_events(_aes(), missing_relatedness_counts_as_related=False)
    assert not out.set_index("term").loc["Fever", "related_to_msc"]


def test_related_categories_are_a_setting():
    out = ae.classify_adverse_events(_aes(), related_categories=["probable", "definite"])
    # A's possible Nausea is no longer related; C's probable Headache still is.
    related = out[out["related_to_msc"]]["term"].tolist()
    assert "Headache" in related and "Chills" not in related
    assert not out[(out["term"] == "Nausea") & (out["grade"] == 1)]["related_to_msc"].iloc[0]


def test_infusion_reaction_needs_the_investigator_flag_and_onset_on_day_0_or_1(flagged):
    # Fever: flag yes, day 0 -> reaction. Headache: flag yes, day 3 -> not. Chills: day -1 -> not.
    assert flagged[flagged["infusion_reaction"]]["term"].tolist() == ["Fever"]


def test_infusion_reaction_on_day_1_counts_and_day_2_does_not():
    aes = _aes().iloc[[3, 3]].assign(days_since_infusion=pd.array([1, 2], dtype="Int64"))
    assert ae.classify_adverse_events(aes)["infusion_reaction"].tolist() == [True, False]


def test_resolution_day_is_counted_from_the_infusion(flagged):
    # A's first Nausea: onset day 2 (2020-08-03), resolved 2020-08-05 -> day 4; the grade-3 one is ongoing.
    nausea = flagged[flagged["term"] == "Nausea"]["resolved_days_since_infusion"].tolist()
    assert nausea[0] == 4 and pd.isna(nausea[1])


def test_subject_without_ae_is_in_the_denominator(summary):
    # 3 of the 4 treated subjects (A, B, C) have a treatment-emergent AE; D has none.
    row = summary.loc["any_teae"]
    assert (row["n_subjects"], row["n_treated"], row["estimate_prop"]) == (3, 4, 0.75)
    # Events: A 2 Nausea + B Fever, Sepsis + C Headache = 5 (A's Chills is before the infusion).
    assert row["n_events"] == 5


def test_each_subject_counts_once_at_their_worst_grade(summary):
    # A: Nausea 1 and 3 (Chills 2 is pre-infusion) -> 3; B: 1 and 5 -> 5; C: 2 -> 2.
    worst = summary.loc[[f"worst_grade_{g}" for g in range(1, 6)], "n_subjects"].tolist()
    assert worst == [0, 1, 1, 0, 1]
    assert sum(worst) == summary.loc["any_teae", "n_subjects"]


def test_subjects_with_ae_by_category(summary):
    # grade >= 3: A (Nausea 3), B (Sepsis 5); serious: same two events.
    assert summary.loc["grade_3_plus", "n_subjects"] == 2
    assert (summary.loc["serious_ae", "n_subjects"], summary.loc["serious_ae", "n_events"]) == (2, 2)
    # related: A Nausea 1 (possible), B Fever (not assessed), C Headache (probable).
    assert (summary.loc["related_ae", "n_subjects"], summary.loc["related_ae", "n_events"]) == (3, 3)
    assert summary.loc["related_ae_not_assessed", "n_subjects"] == 1
    assert summary.loc["infusion_reaction", "n_subjects"] == 1
    assert summary.loc["fatal_ae", "n_subjects"] == 1


def test_proportions_have_exact_intervals(summary):
    # Clopper-Pearson for 1 of 4: lower bound solves 1 - (1 - p)^4 = 0.025 -> 1 - 0.975 ** 0.25.
    assert summary.loc["fatal_ae", "ci95_lower"] == pytest.approx(1 - 0.975 ** 0.25, abs=1e-9)
    # For 3 of 4: upper bound solves p^4 = 0.975 -> 0.975 ** 0.25.
    assert summary.loc["any_teae", "ci95_upper"] == pytest.approx(0.975 ** 0.25, abs=1e-9)


def test_same_term_twice_counts_once_at_the_worse_grade(flagged):
    by_term = ae.adverse_events_by_term(flagged, TREATED).set_index("term")
    nausea = by_term.loc["Nausea"]
    assert (nausea["n_subjects_grade_1"], nausea["n_subjects_grade_3"], nausea["n_subjects_any_grade"],
            nausea["n_events"]) == (0, 1, 1, 2)
    assert "Chills" not in by_term.index            # only before the infusion
    assert "Anemia" not in by_term.index            # subject never infused


def test_terms_are_ordered_by_frequency_then_severity_then_name(flagged):
    extra = _aes().iloc[[5]].assign(subject_id="D")       # D also has Headache -> 2 subjects
    by_term = ae.adverse_events_by_term(ae.classify_adverse_events(pd.concat([_aes(), extra])), TREATED)
    # Headache 2 subjects; then 1 subject each: Nausea and Sepsis (grade >= 3) before Fever.
    assert by_term["term"].tolist() == ["Headache", "Nausea", "Sepsis", "Fever"]
    assert by_term["any_grade_prop"].iloc[0] == 0.5


def test_terms_differing_only_in_case_or_spaces_are_one_term():
    aes = _aes()
    aes.loc[1, "term"] = " nausea"
    by_term = ae.adverse_events_by_term(ae.classify_adverse_events(aes), TREATED)
    assert by_term["term"].str.casefold().str.strip().tolist().count("nausea") == 1


def test_listings(flagged):
    assert ae.serious_ae_listing(flagged, TREATED)[["subject_id", "term"]].values.tolist() == [
        ["A", "Nausea"], ["B", "Sepsis"]]
    pre = ae.pre_infusion_listing(flagged)
    assert pre[["subject_id", "term", "period"]].astype(str).values.tolist() == [
        ["A", "Chills", "before infusion"], ["E", "Anemia", "not infused"]]
    assert ae.late_infusion_related_listing(flagged, TREATED)["term"].tolist() == ["Headache"]
    assert list(pre.columns) == list(ae.LISTING_COLUMNS)


def test_deaths_are_cross_checked_with_grade_5_aes(flagged):
    deaths = ae.death_listing(TREATED, flagged).set_index("subject_id")
    # D died 2020-08-06 (day 5) without a grade-5 AE; B died 2020-08-14 (day 13) after grade-5 Sepsis (day 12).
    assert deaths.loc["D", ["days_since_infusion", "cross_check"]].tolist() == [5, "death without a grade-5 AE"]
    assert deaths.loc["B", ["days_since_infusion", "grade_5_terms", "grade_5_onset_days_since_infusion",
                            "cross_check"]].tolist() == [13, "Sepsis", 12, "death with a grade-5 AE"]
    assert list(deaths.index) == ["D", "B"]              # by day of death


def test_grade_5_ae_without_a_recorded_death_is_flagged(flagged):
    alive = TREATED.assign(died_on=pd.NaT)
    deaths = ae.death_listing(alive, flagged)
    assert deaths[["subject_id", "died", "cross_check"]].values.tolist() == [
        ["B", False, "grade-5 AE without a recorded death"]]
    assert pd.isna(deaths["days_since_infusion"].iloc[0])


def test_headline_measures(summary, flagged):
    deaths = ae.death_listing(TREATED, flagged)
    h = ae.headline_measures(summary.reset_index(), deaths).set_index("measure")
    assert {"any_teae_prop", "serious_ae_prop", "related_ae_prop", "infusion_reaction_prop",
            "grade_3_plus_prop", "deaths"} <= set(h.index)
    assert h.loc["deaths", "estimate"] == 2                     # B and D
    assert h.loc["related_ae_prop", "estimate"] == 0.75         # 3 of 4
    assert "not assessed" in h.loc["related_ae_prop", "method"]
    assert "CTCAE v5.0" in h.loc["any_teae_prop", "method"]


def test_empty_treated_population_gives_missing_proportions_not_errors(flagged):
    nobody = TREATED.iloc[0:0]
    s = ae.subjects_with_adverse_events(flagged, nobody)
    assert (s["n_subjects"] == 0).all() and s["estimate_prop"].isna().all()
    assert ae.adverse_events_by_term(flagged, nobody).empty
    assert ae.death_listing(nobody, flagged).empty
    assert ae.onset_counts(flagged, nobody).empty


def test_cut_without_any_ae():
    none = ae.classify_adverse_events(_aes().iloc[0:0])
    s = ae.subjects_with_adverse_events(none, TREATED).set_index("category")
    assert s.loc["any_teae", "n_subjects"] == 0 and s.loc["any_teae", "estimate_prop"] == 0
    assert ae.adverse_events_by_term(none, TREATED).empty


def test_onset_counts_count_events_by_day_and_grade(flagged):
    counts = ae.onset_counts(flagged, TREATED)
    # Treated subjects' AEs: day -1 g2, 0 g1, 2 g1, 3 g2, 9 g3, 12 g5 (E's AE excluded).
    assert counts.values.tolist() == [[-1, 2, 1], [0, 1, 1], [2, 1, 1], [3, 2, 1], [9, 3, 1], [12, 5, 1]]


def test_inputs_are_not_modified(flagged):
    raw = _aes()
    before, flagged_before, treated_before = raw.copy(), flagged.copy(), TREATED.copy()
    out = ae.classify_adverse_events(raw)
    ae.subjects_with_adverse_events(out, TREATED)
    ae.adverse_events_by_term(out, TREATED)
    ae.death_listing(TREATED, out)
    ae.serious_ae_listing(out, TREATED)
    pd.testing.assert_frame_equal(raw, before)
    pd.testing.assert_frame_equal(flagged, flagged_before)
    pd.testing.assert_frame_equal(TREATED, treated_before)


def test_ctcae_version_is_pinned_in_the_definitions():
    assert safety_definitions()["ctcae_version"] == "5.0"


def test_changing_the_returned_rules_does_not_change_the_next_reader():
    rules = safety_definitions()
    rules["adverse_events"]["related_categories"].append("unrelated")
    assert "unrelated" not in safety_definitions()["adverse_events"]["related_categories"]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="first <= last"):
        ae.classify_adverse_events(_aes(), infusion_reaction_days=(2, 1))
    with pytest.raises(ValueError, match="list of categories"):
        ae.classify_adverse_events(_aes(), related_categories="possible")
    with pytest.raises(ValueError, match="grade"):
        ae.classify_adverse_events(_aes().drop(columns="grade"))
    with pytest.raises(ValueError, match="classify_adverse_events"):
        ae.subjects_with_adverse_events(_aes(), TREATED)


def test_fixture_cut_death_matches_its_grade_5_ae(fixture_cut):
    treated = fixture_cut.population("treated")
    flagged = ae.classify_adverse_events(fixture_cut.adverse_events)
    deaths = ae.death_listing(treated, flagged)
    # S02: infused 2020-08-05, respiratory failure (grade 5) from 2020-08-10 (day 5), died 2020-08-15 (day 10).
    assert deaths[["subject_id", "days_since_infusion", "grade_5_onset_days_since_infusion", "cross_check"]
                  ].values.tolist() == [["S02", 10, 5, "death with a grade-5 AE"]]
    # S01: fever on the infusion day, possible, infusion-related -> an infusion reaction; 1 of 2 treated.
    s = ae.subjects_with_adverse_events(flagged, treated).set_index("category")
    assert (s.loc["infusion_reaction", "n_subjects"], s.loc["infusion_reaction", "n_treated"]) == (1, 2)


def test_summary_table_says_a_missing_relationship_is_counted_as_related(summary):
    from msc_analysis.report.safety_tables import format_subject_summary

    table = format_subject_summary(summary.reset_index()).set_index("Subjects with at least one")
    label = next(t for t in table.index if "not assessed" in t and "of which" in t)
    assert "counted as related" in label
    assert table.loc[label, "n (% of treated)"] == "1 (25.0%)"
