"""Organ-class coding of AE terms, the SOC x term x worst-grade table, relatedness x grade and event
rates: rules checked on a hand-computed four-subject frame (issue 14 items 1 and 2)."""
from __future__ import annotations

import pandas as pd
import pytest

from msc_analysis.cut import _flag_uncoded_ae_terms
from msc_analysis.definitions import ctcae_v5_terms
from msc_analysis.endpoints import adverse_events as ae
from msc_analysis.endpoints.ae_coding import (UNCODED, code_adverse_events, events_per_100_subject_days,
                                              rate_measures, uncoded_terms)
from msc_analysis.endpoints.ae_listings import death_listing
from msc_analysis.report.ae_tables import format_coded_listing, format_soc_term_table

GI, GEN = "Gastrointestinal disorders", "General disorders and administration site conditions"
TREATED = pd.DataFrame({"subject_id": ["A", "B", "C", "D"]})


def _four_subjects() -> pd.DataFrame:
    """A: Fever g1 and g3, Nausea g2; B: 'pyrexia' g2; C: Diarrhea g1, 'Feverr' g2 (uncoded); D: none."""
    return pd.DataFrame({
        "subject_id": ["A", "A", "A", "B", "C", "C"],
        "term": ["Fever", "FEVER ", "Nausea", "pyrexia", "Diarrhea", "Feverr"],
        "grade": [1, 3, 2, 2, 1, 2], "serious": False,
        "related": ["possible", "unrelated", None, "unrelated", "probable", "unrelated"],
        "infusion_related": False, "days_since_infusion": [0, 5, 2, 1, 3, 4]})


def _flagged() -> pd.DataFrame:
    return ae.classify_adverse_events(code_adverse_events(_four_subjects()))


def test_demo_generator_terms_are_all_in_the_ctcae_table():
    from msc_analysis.synthetic.records import AE_TERMS
    extra = ["Infusion related reaction", "Fever", "Chills", "Respiratory failure", "Sepsis", "Multi-organ failure"]
    coded = code_adverse_events(pd.DataFrame({"term": [t[0] for t in AE_TERMS] + extra}))
    assert (coded["coding"] == "CTCAE v5.0 table").all()


def test_matching_ignores_case_and_spacing_and_maps_synonyms():
    coded = code_adverse_events(pd.DataFrame({"term": [" lung   INFECTION", "Pyrexia", "infusion-related reaction"]}))
    assert coded["pt"].tolist() == ["Lung infection", "Fever", "Infusion related reaction"]
    assert coded["soc"].tolist() == ["Infections and infestations", GEN,
                                     "Injury, poisoning and procedural complications"]


def test_site_coding_wins_when_soc_and_pt_are_both_given():
    frame = pd.DataFrame({"term": ["Fever", "Fever"], "soc": ["Site SOC", ""], "pt": ["Site PT", "x"]})
    coded = code_adverse_events(frame)
    assert coded[["soc", "pt", "coding"]].values.tolist() == [["Site SOC", "Site PT", "site (MedDRA)"],
                                                              [GEN, "Fever", "CTCAE v5.0 table"]]


def test_uncoded_term_is_kept_with_suggestions_never_dropped():
    coded = code_adverse_events(_four_subjects())
    assert len(coded) == 6
    assert coded.loc[5, ["soc", "pt", "coding"]].tolist() == [UNCODED, "Feverr", UNCODED]
    assert uncoded_terms(coded).values.tolist() == [["Feverr", 1, "Fever"]]


def test_coding_does_not_modify_its_input():
    frame = _four_subjects()
    before = frame.copy()
    code_adverse_events(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_ctcae_table_has_one_soc_per_term_and_a_source_header():
    terms = ctcae_v5_terms()
    assert terms["term"].is_unique and (terms["soc"] != "").all()
    from importlib import resources
    head = (resources.files("msc_analysis.definitions") / "ctcae_v5_terms.csv").read_text().splitlines()[0]
    assert head.startswith("#") and "NCI" in head and "v5.0" in head


def test_subject_counts_once_per_soc_and_term_at_the_worst_grade():
    t = ae.adverse_events_by_soc_and_term(_flagged(), TREATED)
    rows = [(r.level, r.soc, r.term, r.n_subjects_grade_1, r.n_subjects_grade_2, r.n_subjects_grade_3,
             r.n_subjects_any_grade, r.n_events) for r in t.itertuples()]
    assert rows == [
        ("any", "", "", 0, 2, 1, 3, 6),          # worst: A 3, B 2, C 2
        ("soc", GI, "", 1, 1, 0, 2, 2),          # C Diarrhea g1, A Nausea g2
        ("term", GI, "Diarrhea", 1, 0, 0, 1, 1),
        ("term", GI, "Nausea", 0, 1, 0, 1, 1),
        ("soc", GEN, "", 0, 1, 1, 2, 3),         # A Fever g1+g3 -> 3, B pyrexia g2
        ("term", GEN, "Fever", 0, 1, 1, 2, 3),
        ("soc", UNCODED, "", 0, 1, 0, 1, 1),
        ("term", UNCODED, "Feverr", 0, 1, 0, 1, 1),
    ]
    assert t["n_treated"].eq(4).all() and t.loc[4, "any_grade_prop"] == 0.5


def test_soc_table_indents_terms_under_their_class():
    cells = format_soc_term_table(ae.adverse_events_by_soc_and_term(_flagged(), TREATED))
    assert cells.iloc[0, 0] == "Any treatment-emergent AE" and cells.iloc[2, 0].strip() == "Diarrhea"
    assert cells.loc[0, "Any grade, n (% of treated)"] == "3 (75.0%)"


def test_relatedness_by_grade_counts_events_and_subjects():
    r = ae.relatedness_by_grade(_flagged(), TREATED).set_index("related")
    columns = ["n_events_grade_2", "n_events_grade_3", "n_events", "n_subjects"]
    assert r.loc["unrelated", columns].tolist() == [2, 1, 3, 3]
    assert r.loc["not assessed", ["n_events_grade_2", "n_subjects"]].tolist() == [1, 1]
    assert r.loc["definite", "n_events"] == 0 and bool(r.loc["definite", "counts_as_related"])
    assert r["n_events"].sum() == 6


def test_event_rate_uses_follow_up_capped_at_the_cutoff_with_exact_poisson_ci():
    follow = pd.DataFrame({"subject_id": list("ABCD"), "follow_up_days": [10.0, 20.0, 30.0, 40.0],
                           "days_to_cutoff": [90, 90, 90, 25]})   # D capped at 25: 85 subject-days
    r = events_per_100_subject_days(_flagged(), follow)
    top = r.iloc[0]
    assert (top["soc"], top["n_events"], top["subject_days"]) == ("all", 6, 85.0)
    assert top["events_per_100_subject_days"] == pytest.approx(600 / 85)
    # Garwood limits for 6 events: 2.2018 and 13.0591 (published tables of exact Poisson limits)
    assert top["ci95_lower"] == pytest.approx(2.2018 * 100 / 85, abs=1e-3)
    assert top["ci95_upper"] == pytest.approx(13.0591 * 100 / 85, abs=1e-3)
    assert r["soc"].tolist()[1:] == [GEN, GI, UNCODED] and r["n_events"].tolist()[1:] == [3, 2, 1]
    m = rate_measures(r)
    assert m.loc[0, "measure"] == "events_per_100_subject_days" and m.loc[0, "n"] == 4


def test_zero_events_have_a_zero_lower_limit():
    follow = pd.DataFrame({"subject_id": ["Z"], "follow_up_days": [100.0], "days_to_cutoff": [100]})
    r = events_per_100_subject_days(_flagged(), follow)
    assert r.loc[0, ["n_events", "ci95_lower"]].tolist() == [0, 0.0]
    assert r.loc[0, "ci95_upper"] == pytest.approx(3.6889, abs=1e-3)   # Garwood upper for 0 events, per 100 days


def test_listing_duration_is_resolution_minus_onset_or_ongoing():
    frame = _four_subjects().assign(onset_on=pd.to_datetime("2020-08-01"),
                                    resolved_on=pd.to_datetime(["2020-08-04", None, None, None, None, None]))
    flagged = ae.classify_adverse_events(code_adverse_events(frame))
    cells = format_coded_listing(ae.adverse_event_listing(flagged, TREATED))
    first = cells.iloc[0]
    assert (first["Subject"], first["Coded term"], first["Duration, days"], first["Outcome"]) == (
        "A", "Fever", "3", "resolved (day 3)")
    assert (cells["Duration, days"] == "ongoing").sum() == 5 and len(cells) == 6


def test_death_listing_shows_cause_or_cause_not_recorded():
    d = pd.to_datetime
    t = pd.DataFrame({"subject_id": ["A", "B"], "infused_on": d(["2020-08-01"] * 2),
                      "died_on": d(["2020-08-11", "2020-08-05"]), "death_cause": ["sepsis", None]})
    out = death_listing(t, _flagged().iloc[0:0]).set_index("subject_id")
    assert out["death_cause"].to_dict() == {"A": "sepsis", "B": "cause not recorded"}
    assert death_listing(t.drop(columns="death_cause"), _flagged().iloc[0:0])["death_cause"].eq(
        "cause not recorded").all()


def test_uncoded_terms_are_counted_in_the_data_quality_table():
    quality = []
    _flag_uncoded_ae_terms(pd.DataFrame({"term": ["Feverr", "feverr ", "Fever"], "soc": None, "pt": None}), quality)
    assert len(quality) == 1 and quality[0][3] == 2 and "nearest CTCAE terms: Fever" in quality[0][2]


def test_site_coding_needs_both_soc_and_pt_and_a_meddra_organ_class(tmp_path):
    import shutil

    from msc_analysis import load_cut
    from msc_analysis.io.problems import CutValidationError

    from .conftest import FIXTURE_CUT

    cut = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, cut)
    path = cut / "adverse_events.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["soc"] = ""
    frame["pt"] = ""
    frame.loc[0, ["soc", "pt"]] = ["infections and infestations", "Pneumonia"]   # case ignored: valid
    frame.loc[1, ["soc", "pt"]] = ["Lung disorders", "Pneumonia"]                # not a MedDRA SOC
    frame.to_csv(path, index=False)
    with pytest.raises(CutValidationError) as err:
        load_cut(cut)
    assert "adverse_events.csv" in str(err.value) and "Lung disorders" in str(err.value)
    frame.loc[1, ["soc", "pt"]] = ["Infections and infestations", ""]            # a SOC without its pt
    frame.to_csv(path, index=False)
    with pytest.raises(CutValidationError) as err:
        load_cut(cut)
    assert "soc and pt go together" in str(err.value)
    frame.loc[1, "soc"] = ""
    frame.to_csv(path, index=False)
    loaded = load_cut(cut).adverse_events
    assert loaded.loc[0, "soc"] == "Infections and infestations" and loaded["soc"].isna().sum() == len(frame) - 1
