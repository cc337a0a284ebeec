"""Rules of the NEWS-C ("Liao et al. 2020") score, from docs/reference/liao-2020-score.md.

Expected points are written by hand from the published bands, not read from the CSV.
"""

import operator

import numpy as np
import pandas as pd
import pytest

from msc_analysis.derive.liao_score import LIAO_LEVELS, liao_bands, liao_score

# Every parameter in its 0-point band.
NORMAL = {
    "resp_rate_per_min": 16, "spo2_pct": 98, "on_oxygen": False, "temp_c": 37.0,
    "sbp_mmhg": 120, "heart_rate_bpm": 70, "consciousness": "A",
}


def assessment(**vitals) -> pd.DataFrame:
    """One assessment of subject S01: NORMAL values updated with ``vitals``."""
    row = {"subject_id": "S01", "measured_at": pd.Timestamp("2020-08-01 08:00"), **NORMAL, **vitals}
    return pd.DataFrame([row])


def subjects(age=40) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": ["S01"], "age_years": [age]})


def score_one(age=40, switches=None, **vitals) -> pd.Series:
    """The scored row of one assessment."""
    return liao_score(assessment(**vitals), subjects(age), **(switches or {})).iloc[0]


def cases(column, table):
    return [pytest.param(value, points, id=f"{column}_{value}_scores_{points}") for value, points in table]


# ----------------------------------------------------------------- bands, both sides of each boundary

@pytest.mark.parametrize("value, points", cases("rr", [
    (8, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3),
    (4, 3), (40, 3),
]))
def test_resp_rate_bands(value, points):
    assert score_one(resp_rate_per_min=value)["resp_rate_points"] == points


def test_resp_rate_20_scores_0_and_21_scores_2():
    assert score_one(resp_rate_per_min=20)["resp_rate_points"] == 0
    assert score_one(resp_rate_per_min=21)["resp_rate_points"] == 2


@pytest.mark.parametrize("value, points", cases("spo2", [
    (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0), (70, 3),
]))
def test_spo2_scale_1_bands(value, points):
    assert score_one(spo2_pct=value)["spo2_points"] == points


@pytest.mark.parametrize("value, on_oxygen, points", [
    pytest.param(v, o2, p, id=f"spo2_{v}_{'oxygen' if o2 else 'air'}_scores_{p}") for v, o2, p in [
        (83, False, 3), (84, False, 2), (85, False, 2), (86, False, 1), (87, False, 1),
        (88, False, 0), (92, False, 0), (93, False, 0), (100, False, 0),
        (83, True, 3), (84, True, 2), (87, True, 1), (88, True, 0), (92, True, 0),
        (93, True, 1), (94, True, 1), (95, True, 2), (96, True, 2), (97, True, 3), (100, True, 3),
    ]
])
def test_spo2_scale_2_bands(value, on_oxygen, points):
    row = score_one(spo2_pct=value, on_oxygen=on_oxygen, switches={"spo2_scale": 2})
    assert row["spo2_points"] == points


def test_spo2_scale_2_93_on_air_scores_0_but_on_oxygen_scores_1():
    assert score_one(spo2_pct=93, on_oxygen=False, switches={"spo2_scale": 2})["spo2_points"] == 0
    assert score_one(spo2_pct=93, on_oxygen=True, switches={"spo2_scale": 2})["spo2_points"] == 1


def test_spo2_scale_1_ignores_oxygen_in_spo2_points():
    assert score_one(spo2_pct=97, on_oxygen=True)["spo2_points"] == 0


@pytest.mark.parametrize("on_oxygen, points", [(True, 2), (False, 0)])
def test_any_supplemental_oxygen_scores_2(on_oxygen, points):
    assert score_one(on_oxygen=on_oxygen)["oxygen_points"] == points


@pytest.mark.parametrize("value, points", cases("temp", [
    (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2),
    (33.0, 3), (41.0, 2),
]))
def test_temperature_bands(value, points):
    assert score_one(temp_c=value)["temperature_points"] == points


@pytest.mark.parametrize("value, points", cases("temp", [
    (34.95, 3), (35.05, 1), (36.05, 0), (38.05, 1), (39.05, 2),
]))
def test_temperature_between_published_bands_goes_to_the_band_above(value, points):
    # Bands are lower < t <= upper on the value as recorded: 36.0 < 36.05 <= 38.0 scores 0.
    assert score_one(temp_c=value)["temperature_points"] == points


@pytest.mark.parametrize("column, value, points", [
    ("resp_rate_per_min", 8.5, 1), ("resp_rate_per_min", 11.5, 0), ("resp_rate_per_min", 20.5, 2),
    ("resp_rate_per_min", 24.5, 3), ("spo2_pct", 91.5, 2), ("spo2_pct", 95.5, 0),
    ("sbp_mmhg", 90.5, 2), ("sbp_mmhg", 219.5, 3), ("heart_rate_bpm", 40.5, 1),
    ("heart_rate_bpm", 90.5, 1), ("heart_rate_bpm", 130.5, 3),
])
def test_non_integer_value_goes_to_the_band_above(column, value, points):
    parameter = {"resp_rate_per_min": "resp_rate", "spo2_pct": "spo2", "sbp_mmhg": "sbp",
                 "heart_rate_bpm": "heart_rate"}[column]
    assert score_one(**{column: value})[f"{parameter}_points"] == points


@pytest.mark.parametrize("value, points", cases("sbp", [
    (90, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3), (60, 3), (260, 3),
]))
def test_systolic_bp_bands(value, points):
    assert score_one(sbp_mmhg=value)["sbp_points"] == points


@pytest.mark.parametrize("value, points", cases("hr", [
    (40, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3),
    (25, 3), (180, 3),
]))
def test_heart_rate_bands(value, points):
    assert score_one(heart_rate_bpm=value)["heart_rate_points"] == points


@pytest.mark.parametrize("code, acvpu_points, avpu_points", [
    ("A", 0, 0), ("C", 3, 0), ("V", 3, 3), ("P", 3, 3), ("U", 3, 3),
])
def test_consciousness_acvpu_and_avpu(code, acvpu_points, avpu_points):
    assert score_one(consciousness=code)["consciousness_points"] == acvpu_points
    avpu = score_one(consciousness=code, switches={"consciousness_scale": "AVPU"})
    assert avpu["consciousness_points"] == avpu_points


def test_new_confusion_scores_3_on_acvpu_and_0_on_avpu():
    assert score_one(consciousness="C")["consciousness_points"] == 3
    assert score_one(consciousness="C", switches={"consciousness_scale": "AVPU"})["consciousness_points"] == 0


@pytest.mark.parametrize("age, points", [(64, 0), (64.9, 0), (65, 3), (65.0, 3), (90, 3), (18, 0)])
def test_age_65_or_more_scores_3(age, points):
    assert score_one(age=age)["age_points"] == points


@pytest.mark.parametrize("age_points", [0, 1, 2, 3])
def test_age_points_switch_sets_points_for_age_65_and_never_for_64(age_points):
    assert score_one(age=65, switches={"age_points": age_points})["age_points"] == age_points
    assert score_one(age=64, switches={"age_points": age_points})["age_points"] == 0


def test_age_points_0_is_plain_news_and_needs_no_subjects():
    out = liao_score(assessment(resp_rate_per_min=25), age_points=0).iloc[0]
    assert out["age_points"] == 0
    assert out["liao_total"] == 3
    assert not out["incomplete"]


def test_numeric_bands_cover_every_value_exactly_once():
    bands = liao_bands()
    ops = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
    grid = np.round(np.arange(0, 300, 0.01), 2)
    numeric = bands[bands["category"] == ""]
    for (parameter, scale), group in numeric.groupby(["parameter", "scale"]):
        for on_oxygen in ("yes", "no"):
            matches = np.zeros(len(grid), dtype=int)
            for band in group.itertuples():
                hit = np.ones(len(grid), dtype=bool)
                if band.lower_op:
                    hit &= ops[band.lower_op](grid, band.lower)
                if band.upper_op:
                    hit &= ops[band.upper_op](grid, band.upper)
                if band.on_oxygen:
                    hit &= band.on_oxygen == on_oxygen
                matches += hit
            assert (matches == 1).all(), (parameter, scale, on_oxygen, grid[matches != 1][:5])


# ----------------------------------------------------------------- a full row by hand

def test_full_row_total_by_hand():
    # RR 22 -> 2, SpO2 93 -> 2, oxygen -> 2, 38.4 degC -> 1, SBP 105 -> 1, HR 112 -> 2,
    # new confusion -> 3 (ACVPU), age 67 -> 3: total 16, worst physiology 3, red.
    row = score_one(age=67, resp_rate_per_min=22, spo2_pct=93, on_oxygen=True, temp_c=38.4,
                    sbp_mmhg=105, heart_rate_bpm=112, consciousness="C")
    points = [row[f"{p}_points"] for p in ("resp_rate", "spo2", "oxygen", "temperature", "sbp",
                                          "heart_rate", "consciousness", "age")]
    assert points == [2, 2, 2, 1, 1, 2, 3, 3]
    assert row["liao_total"] == 16
    assert row["max_physiology_points"] == 3
    assert row["n_parameters_missing"] == 0
    assert not row["incomplete"]
    assert row["liao_level"] == "red"


def test_full_row_under_avpu_plain_news_and_scale_2():
    vitals = {"resp_rate_per_min": 22, "spo2_pct": 93, "on_oxygen": True, "temp_c": 38.4,
              "sbp_mmhg": 105, "heart_rate_bpm": 112, "consciousness": "C"}
    assert score_one(age=67, switches={"consciousness_scale": "AVPU"}, **vitals)["liao_total"] == 13
    assert score_one(age=67, switches={"age_points": 0}, **vitals)["liao_total"] == 13
    # scale 2: 93 % on oxygen scores 1 instead of 2
    assert score_one(age=67, switches={"spo2_scale": 2}, **vitals)["liao_total"] == 15


# ----------------------------------------------------------------- missing values

@pytest.mark.parametrize("column, parameter", [
    ("resp_rate_per_min", "resp_rate"), ("spo2_pct", "spo2"), ("on_oxygen", "oxygen"),
    ("temp_c", "temperature"), ("sbp_mmhg", "sbp"), ("heart_rate_bpm", "heart_rate"),
    ("consciousness", "consciousness"),
])
def test_missing_parameter_adds_nothing_and_flags_incomplete(column, parameter):
    # HR 111 scores 2 and SBP 95 scores 2; with one other parameter missing the total stays 4.
    vitals = {"heart_rate_bpm": 111, "sbp_mmhg": 95,
              column: None if column in ("on_oxygen", "consciousness") else np.nan}
    row = score_one(**vitals)
    expected = 4 - {"heart_rate_bpm": 2, "sbp_mmhg": 2}.get(column, 0)
    assert pd.isna(row[f"{parameter}_points"])
    assert row["liao_total"] == expected
    assert row["n_parameters_missing"] == 1
    assert row["incomplete"]


def test_missing_age_flags_incomplete_and_scores_nothing():
    row = score_one(age=np.nan, resp_rate_per_min=25)
    assert pd.isna(row["age_points"])
    assert row["liao_total"] == 3
    assert row["incomplete"]


def test_subject_absent_from_subjects_has_missing_age():
    out = liao_score(assessment(subject_id="S99"), subjects(70)).iloc[0]
    assert pd.isna(out["age_points"])
    assert out["incomplete"]


def test_complete_row_is_not_incomplete():
    row = score_one()
    assert row["n_parameters_missing"] == 0
    assert not row["incomplete"]
    assert row["liao_total"] == 0


def test_several_missing_are_counted_and_level_comes_from_the_lower_bound():
    row = score_one(resp_rate_per_min=25, temp_c=np.nan, sbp_mmhg=np.nan, consciousness=None)
    assert row["n_parameters_missing"] == 3
    assert row["liao_total"] == 3
    assert row["liao_level"] == "orange"
    assert row["incomplete"]


def test_nullable_dtypes_with_pd_na_are_missing():
    vitals = pd.concat([assessment(), assessment()], ignore_index=True)
    vitals["temp_c"] = pd.array([37.0, pd.NA], dtype="Float64")
    vitals["on_oxygen"] = pd.array([True, pd.NA], dtype="boolean")
    out = liao_score(vitals, subjects())
    assert out["incomplete"].tolist() == [False, True]
    assert out["n_parameters_missing"].tolist() == [0, 2]
    assert out["oxygen_points"].iloc[0] == 2


@pytest.mark.parametrize("spo2, spo2_points", [(95, None), (85, 2)])
def test_scale_2_with_unknown_oxygen_scores_spo2_only_where_oxygen_does_not_matter(spo2, spo2_points):
    row = score_one(spo2_pct=spo2, on_oxygen=None, switches={"spo2_scale": 2})
    if spo2_points is None:
        assert pd.isna(row["spo2_points"])
        assert row["n_parameters_missing"] == 2
    else:
        assert row["spo2_points"] == spo2_points
        assert row["n_parameters_missing"] == 1


# ----------------------------------------------------------------- levels

@pytest.mark.parametrize("vitals, total, level", [
    pytest.param({}, 0, "green", id="total_0_green"),
    pytest.param({"resp_rate_per_min": 10}, 1, "yellow", id="total_1_yellow"),
    pytest.param({"resp_rate_per_min": 21, "heart_rate_bpm": 111}, 4, "yellow", id="total_4_yellow"),
    pytest.param({"resp_rate_per_min": 21, "heart_rate_bpm": 111, "temp_c": 38.5}, 5, "orange",
                 id="total_5_orange"),
    pytest.param({"resp_rate_per_min": 21, "heart_rate_bpm": 111, "sbp_mmhg": 95}, 6, "orange",
                 id="total_6_orange"),
    pytest.param({"resp_rate_per_min": 21, "heart_rate_bpm": 111, "sbp_mmhg": 95, "temp_c": 38.5},
                 7, "red", id="total_7_red"),
])
def test_total_rule_levels_at_each_threshold(vitals, total, level):
    row = score_one(**vitals)
    assert row["liao_total"] == total
    assert row["liao_level"] == level


def test_single_physiological_parameter_scoring_3_makes_orange():
    row = score_one(resp_rate_per_min=25)
    assert row["liao_total"] == 3
    assert row["liao_level"] == "orange"


def test_new_confusion_alone_makes_orange():
    assert score_one(consciousness="C")["liao_level"] == "orange"


def test_age_alone_scoring_3_is_yellow_by_default():
    row = score_one(age=70)
    assert row["liao_total"] == 3
    assert row["max_physiology_points"] == 0
    assert row["liao_level"] == "yellow"


def test_age_alone_scoring_3_is_orange_when_age_triggers_single_parameter_rule():
    row = score_one(age=70, switches={"age_triggers_single_parameter_rule": True})
    assert row["liao_level"] == "orange"


def test_cell_rule_any_parameter_2_is_orange():
    row = score_one(resp_rate_per_min=21, switches={"level_rule": "cell"})
    assert row["liao_total"] == 2
    assert row["liao_level"] == "orange"


def test_cell_rule_any_parameter_3_is_red():
    assert score_one(resp_rate_per_min=25, switches={"level_rule": "cell"})["liao_level"] == "red"


def test_cell_rule_total_5_made_of_ones_is_yellow_but_orange_under_total_rule():
    ones = {"resp_rate_per_min": 10, "spo2_pct": 95, "temp_c": 38.5, "sbp_mmhg": 105,
            "heart_rate_bpm": 95}
    assert score_one(**ones)["liao_total"] == 5
    assert score_one(**ones, switches={"level_rule": "cell"})["liao_level"] == "yellow"
    assert score_one(**ones)["liao_level"] == "orange"


def test_cell_rule_total_0_is_green():
    assert score_one(switches={"level_rule": "cell"})["liao_level"] == "green"


@pytest.mark.parametrize("age_triggers, level", [(False, "yellow"), (True, "red")])
def test_cell_rule_age_alone_counts_only_with_the_switch(age_triggers, level):
    switches = {"level_rule": "cell", "age_triggers_single_parameter_rule": age_triggers}
    assert score_one(age=70, switches=switches)["liao_level"] == level


def test_levels_are_an_ordered_categorical_green_to_red():
    assert LIAO_LEVELS == ("green", "yellow", "orange", "red")
    level = liao_score(assessment(), subjects())["liao_level"]
    assert level.dtype == pd.CategoricalDtype(LIAO_LEVELS, ordered=True)
    assert level.iloc[0] == "green"


# ----------------------------------------------------------------- switches and inputs are checked

@pytest.mark.parametrize("switches", [
    {"spo2_scale": 3}, {"spo2_scale": "2"}, {"spo2_scale": True}, {"spo2_scale": 1.0},
    {"consciousness_scale": "acvpu"}, {"consciousness_scale": "NEWS"},
    {"level_rule": "colour"}, {"level_rule": None},
    {"age_points": 4}, {"age_points": -1}, {"age_points": 1.5}, {"age_points": True},
    {"age_triggers_single_parameter_rule": "yes"}, {"age_triggers_single_parameter_rule": 1},
], ids=lambda s: "-".join(f"{k}={v!r}" for k, v in s.items()))
def test_invalid_switch_raises_value_error(switches):
    with pytest.raises(ValueError):
        liao_score(assessment(), subjects(), **switches)


def test_subjects_required_when_age_scores():
    with pytest.raises(ValueError, match="subjects"):
        liao_score(assessment())


def test_missing_vitals_column_raises():
    with pytest.raises(ValueError, match="temp_c"):
        liao_score(assessment().drop(columns="temp_c"), subjects())


def test_duplicated_subject_in_subjects_raises():
    with pytest.raises(ValueError, match="unique"):
        liao_score(assessment(), pd.concat([subjects(40), subjects(70)]))


def test_unknown_consciousness_code_raises():
    with pytest.raises(ValueError, match="consciousness"):
        liao_score(assessment(consciousness="X"), subjects())


def test_age_in_vitals_is_refused():
    with pytest.raises(ValueError, match="age_years"):
        liao_score(assessment(age_years=70), subjects())


def test_output_column_already_in_vitals_is_refused():
    with pytest.raises(ValueError, match="liao_total"):
        liao_score(assessment(liao_total=3), subjects())


def test_measured_at_must_be_datetime():
    with pytest.raises(TypeError, match="measured_at"):
        liao_score(assessment(measured_at="2020-08-01"), subjects())


def test_text_vital_sign_is_refused():
    with pytest.raises(TypeError, match="sbp_mmhg"):
        liao_score(assessment(sbp_mmhg="120"), subjects())


# ----------------------------------------------------------------- shape of the result

def test_output_is_one_row_per_input_row_with_documented_columns():
    vitals = pd.concat([assessment(), assessment(resp_rate_per_min=25)], ignore_index=True)
    vitals["days_since_infusion"] = [0.0, 1.5]
    vitals.index = [10, 11]
    out = liao_score(vitals, subjects())
    assert list(out.columns) == [
        "subject_id", "measured_at", "days_since_infusion",
        "resp_rate_points", "spo2_points", "oxygen_points", "temperature_points", "sbp_points",
        "heart_rate_points", "consciousness_points", "age_points",
        "liao_total", "max_physiology_points", "n_parameters_missing", "incomplete", "liao_level",
    ]
    assert list(out.index) == [10, 11]
    assert out["days_since_infusion"].tolist() == [0.0, 1.5]
    assert out["liao_total"].tolist() == [0, 3]
    assert out["liao_total"].dtype == np.int64
    assert out["incomplete"].dtype == bool
    assert out["resp_rate_points"].dtype == "Int64"


def test_empty_vitals_give_empty_result():
    out = liao_score(assessment().iloc[:0], subjects())
    assert len(out) == 0
    assert "liao_level" in out.columns


def test_input_frames_are_not_modified():
    vitals = pd.concat([
        assessment(),
        assessment(consciousness=None, on_oxygen=None, temp_c=np.nan),
        assessment(subject_id="S02", resp_rate_per_min=25, on_oxygen=True),
    ], ignore_index=True)
    vitals["days_since_infusion"] = [0, 1, 2]
    people = pd.DataFrame({"subject_id": ["S01", "S02"], "age_years": [40, 70]})
    vitals_before, people_before = vitals.copy(deep=True), people.copy(deep=True)
    for switches in [{}, {"spo2_scale": 2, "consciousness_scale": "AVPU", "level_rule": "cell",
                          "age_points": 2, "age_triggers_single_parameter_rule": True}]:
        out = liao_score(vitals, people, **switches)
        out.loc[:, "subject_id"] = "changed"
    pd.testing.assert_frame_equal(vitals, vitals_before)
    pd.testing.assert_frame_equal(people, people_before)


def test_per_parameter_false_leaves_out_only_the_seven_physiological_points():
    vitals = pd.concat([assessment(resp_rate_per_min=25, spo2_pct=np.nan), assessment(consciousness="V")],
                       ignore_index=True)
    full = liao_score(vitals, subjects(70))
    short = liao_score(vitals, subjects(70), per_parameter=False)
    physiology = [f"{p}_points" for p in ("resp_rate", "spo2", "oxygen", "temperature", "sbp", "heart_rate",
                                          "consciousness")]
    pd.testing.assert_frame_equal(short, full.drop(columns=physiology))
