"""NEWS-C ("Liao et al. 2020") early-warning score and colour level per vital-sign assessment.

The definition is data: the bands are in ``definitions/liao_news_c_bands.csv`` and the level
rules in ``definitions/liao_levels.csv`` (read and checked by :mod:`msc_analysis.definitions`);
this module only applies them (see
``docs/reference/liao-2020-score.md`` for the source of every number).

Band boundaries
---------------
Every band states its bounds and whether each is inclusive (``lower_op``, ``upper_op``), and
applies to the value as recorded, without rounding. The physiological bands are half-open,
``lower < x <= upper``: the published integer (or 0.1 degC) bands are reproduced exactly, and a
value between two published bands goes up to the next one (36.05 degC is in 36.1-38.0 and
scores 0; a respiratory rate of 20.5/min is in 21-24 and scores 2). Age is ``age < 65`` scores 0,
``age >= 65`` scores ``age_points``, so 64.9 years is not ">=65".

Missing values
--------------
A parameter that cannot be scored (value missing; on SpO2 scale 2 also a saturation of 93 % or
more with unknown oxygen status) has ``<NA>`` points and adds nothing to ``liao_total``, which is
then a lower bound; the row is flagged ``incomplete``. ``liao_level`` is still derived from that
lower bound: read it together with ``incomplete``.

Children
--------
The score is an adult score (NEWS2 is validated from age 16): every subject is scored with the adult
bands, and :func:`children_scored_adult` / :func:`without_children` find the subjects younger than
the limit of ``definitions/liao_adult_score.yaml`` so that the endpoints can count them and leave
them out as a sensitivity analysis.
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from .. import definitions
from .checks import positions, require_columns

__all__ = ["LIAO_LEVELS", "LIAO_PARAMETERS", "liao_bands", "liao_level_rules", "liao_score",
           "adult_score_min_age", "children_scored_adult", "without_children"]

#: Colour levels, lowest to highest risk; ``liao_level`` is an ordered categorical of these.
LIAO_LEVELS: tuple[str, ...] = ("green", "yellow", "orange", "red")

#: Scored parameter (as named in the bands table) -> the input column it reads.
#: The first seven are physiological; ``age`` comes from ``subjects``.
LIAO_PARAMETERS: dict[str, str] = {
    "resp_rate": "resp_rate_per_min",
    "spo2": "spo2_pct",
    "oxygen": "on_oxygen",
    "temperature": "temp_c",
    "sbp": "sbp_mmhg",
    "heart_rate": "heart_rate_bpm",
    "consciousness": "consciousness",
    "age": "age_years",
}
_PHYSIOLOGY = tuple(LIAO_PARAMETERS)[:7]
_NUMERIC_COLUMNS = ("resp_rate_per_min", "spo2_pct", "temp_c", "sbp_mmhg", "heart_rate_bpm")
_SCORE_COLUMNS = (*(f"{p}_points" for p in LIAO_PARAMETERS), "liao_total", "max_physiology_points",
                  "n_parameters_missing", "incomplete", "liao_level")
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def liao_bands() -> pd.DataFrame:
    """Return a copy of the NEWS-C band table (``liao_news_c_bands.csv``) for display."""
    return definitions.liao_news_c_bands()


def liao_level_rules() -> pd.DataFrame:
    """Return a copy of the level-rule table (``liao_levels.csv``) for display."""
    return definitions.liao_levels()


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_switches(age_points, age_triggers, spo2_scale, consciousness_scale, level_rule):
    bands, problems = liao_bands(), []
    spo2_scales, consciousness_scales = (
        sorted(set(bands.loc[bands["parameter"] == p, "scale"])) for p in ("spo2", "consciousness"))
    level_rules = sorted(set(liao_level_rules()["level_rule"]))
    if not (_is_int(age_points) and 0 <= age_points <= 3):
        problems.append(f"age_points must be an integer 0-3, got {age_points!r}")
    if not isinstance(age_triggers, (bool, np.bool_)):
        problems.append("age_triggers_single_parameter_rule must be True or False, "
                        f"got {age_triggers!r}")
    if not (_is_int(spo2_scale) and str(spo2_scale) in spo2_scales):
        problems.append(f"spo2_scale must be an integer in {spo2_scales}, got {spo2_scale!r}")
    if consciousness_scale not in consciousness_scales:
        problems.append(f"consciousness_scale must be one of {consciousness_scales}, "
                        f"got {consciousness_scale!r}")
    if level_rule not in level_rules:
        problems.append(f"level_rule must be one of {level_rules}, got {level_rule!r}")
    if problems:
        raise ValueError("; ".join(problems))


def _check_inputs(vitals: pd.DataFrame, subjects: pd.DataFrame | None, age_points: int) -> None:
    required = ["subject_id", "measured_at", *(LIAO_PARAMETERS[p] for p in _PHYSIOLOGY)]
    require_columns(vitals, required, "vitals")
    if "age_years" in vitals.columns:
        raise ValueError("vitals has an age_years column; pass age in `subjects` instead")
    clash = [c for c in _SCORE_COLUMNS if c in vitals.columns]
    if clash:
        raise ValueError(f"vitals already has output column(s) {clash}")
    if not pd.api.types.is_datetime64_any_dtype(vitals["measured_at"]):
        raise TypeError(f"vitals.measured_at must be datetime64, got {vitals['measured_at'].dtype}")
    for column in _NUMERIC_COLUMNS:
        dtype = vitals[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            raise TypeError(f"vitals.{column} must be numeric, got {dtype}")
    bands = liao_bands()
    allowed = set(bands.loc[bands["parameter"] == "consciousness", "category"])
    known = vitals["consciousness"].isna() | vitals["consciousness"].isin(allowed)
    if not known.all():
        bad = sorted(map(str, vitals.loc[~known, "consciousness"].unique()))
        raise ValueError(f"vitals.consciousness must be one of {sorted(allowed)} or missing, "
                         f"got {bad}")
    if subjects is None:
        if age_points != 0:
            raise ValueError("subjects (subject_id, age_years) is required unless age_points=0")
        return
    require_columns(subjects, ("subject_id", "age_years"), "subjects")
    if subjects["subject_id"].duplicated().any():
        raise ValueError("subjects.subject_id must be unique")
    if not pd.api.types.is_numeric_dtype(subjects["age_years"]):
        raise TypeError(f"subjects.age_years must be numeric, got {subjects['age_years'].dtype}")


def _band_points(values, bands: pd.DataFrame, on_oxygen: dict[str, np.ndarray]) -> np.ndarray:
    """Points of the band each value falls in (int8); -1 where no band applies."""
    points = bands["points"].to_numpy(np.int8)
    if bands["category"].ne("").all():
        categories = list(bands["category"])
        codes = (pd.Categorical(values, categories=categories).codes if isinstance(values, pd.Categorical)
                 else positions(values, categories))
        return np.append(points, np.int8(-1))[codes]
    x = np.asarray(values, dtype=float)
    conditions = []
    for band in bands.itertuples():
        condition = np.ones(len(x), dtype=bool)
        if band.lower_op:
            condition &= _OPS[band.lower_op](x, band.lower)
        if band.upper_op:
            condition &= _OPS[band.upper_op](x, band.upper)
        if band.on_oxygen:
            condition &= on_oxygen[band.on_oxygen]
        conditions.append(condition)
    return np.select(conditions, list(points), default=np.int8(-1))


def liao_score(
    vitals: pd.DataFrame,
    subjects: pd.DataFrame | None = None,
    *,
    age_points: int = 3,
    age_triggers_single_parameter_rule: bool = False,
    spo2_scale: int = 1,
    consciousness_scale: str = "ACVPU",
    level_rule: str = "total",
    per_parameter: bool = True,
) -> pd.DataFrame:
    """Score every vital-sign assessment with NEWS-C (Liao et al. 2020) and assign its level.

    Parameters
    ----------
    vitals : pandas.DataFrame
        One row per assessment, with columns ``subject_id``; ``measured_at`` (datetime64);
        ``resp_rate_per_min`` (breaths/min); ``spo2_pct`` (%); ``on_oxygen`` (bool, any
        supplemental oxygen, may be missing); ``temp_c`` (degC); ``sbp_mmhg``;
        ``heart_rate_bpm``; ``consciousness`` (one of A, C, V, P, U, or missing). Numeric
        values may be missing. It must not hold ``age_years``: age comes from ``subjects``.
    subjects : pandas.DataFrame, optional
        One row per subject (unique ``subject_id``) with ``age_years`` (completed years). Age
        is looked up by ``subject_id``; a subject absent here has missing age. Required unless
        ``age_points=0``.
    age_points : int, default 3
        Points for age >= 65 years (0-3). 0 gives plain NEWS; age then never makes a row
        incomplete.
    age_triggers_single_parameter_rule : bool, default False
        Whether age counts as a "single parameter" for the level rules (with ``True`` and the
        default ``age_points``, everyone aged >= 65 is at least orange).
    spo2_scale : {1, 2}, default 1
        NEWS2 SpO2 scale; 2 is for hypercapnic respiratory failure and uses ``on_oxygen``.
    consciousness_scale : {"ACVPU", "AVPU"}, default "ACVPU"
        ACVPU (NEWS2): new confusion "C" scores 3. AVPU (NEWS): "C" is not a category and is
        scored as alert, 0.
    level_rule : {"total", "cell"}, default "total"
        "total": green total 0; yellow 1-4; orange 5-6 or any single parameter scoring 3;
        red >= 7. "cell" (the colour of the worst cell of the chart): red if any single
        parameter scores 3, else orange if any scores 2, else yellow if the total is >= 1,
        else green. In both, "single parameter" means the seven physiological ones, plus age
        only when ``age_triggers_single_parameter_rule``. Thresholds: ``liao_levels.csv``.
    per_parameter : bool, default True
        False leaves out the seven physiological ``*_points`` columns (``age_points`` and every
        other column stay): the same scores with less memory when only totals and levels are used.

    Returns
    -------
    pandas.DataFrame
        Same index and row order as ``vitals``, with columns:

        - ``subject_id``, ``measured_at`` and every other column of ``vitals`` except the seven
          scored vital signs (e.g. ``days_since_infusion``), in input order;
        - ``resp_rate_points``, ``spo2_points``, ``oxygen_points``, ``temperature_points``,
          ``sbp_points``, ``heart_rate_points``, ``consciousness_points``, ``age_points``
          (Int64, 0-3; ``<NA>`` when the parameter could not be scored; only ``age_points`` when
          ``per_parameter=False``);
        - ``liao_total`` (int): sum of the points, missing counted as 0 (a lower bound when
          ``incomplete``);
        - ``max_physiology_points`` (int): largest of the seven physiological points
          (missing counted as 0);
        - ``n_parameters_missing`` (int): parameters that could not be scored;
        - ``incomplete`` (bool): ``n_parameters_missing > 0``;
        - ``liao_level`` (ordered categorical, ``LIAO_LEVELS``): from ``liao_total`` and the
          single-parameter points under ``level_rule``.

    Raises
    ------
    ValueError
        A switch out of range, a required column missing, an unknown consciousness code,
        duplicated ``subjects.subject_id`` or an output column already present in ``vitals``.
    TypeError
        ``measured_at`` not datetime64, a vital sign or age not numeric, or ``on_oxygen`` not
        boolean.

    Examples
    --------
    >>> vitals = pd.DataFrame({
    ...     "subject_id": ["S01"], "measured_at": pd.to_datetime(["2020-08-01 08:00"]),
    ...     "resp_rate_per_min": [22], "spo2_pct": [93], "on_oxygen": [True], "temp_c": [38.4],
    ...     "sbp_mmhg": [105], "heart_rate_bpm": [112], "consciousness": ["A"]})
    >>> subjects = pd.DataFrame({"subject_id": ["S01"], "age_years": [67]})
    >>> out = liao_score(vitals, subjects)
    >>> out[["liao_total", "max_physiology_points", "incomplete", "liao_level"]]
       liao_total  max_physiology_points  incomplete liao_level
    0          13                      2       False        red
    """
    _check_switches(age_points, age_triggers_single_parameter_rule, spo2_scale,
                    consciousness_scale, level_rule)
    _check_inputs(vitals, subjects, age_points)
    bands = liao_bands()
    scale = {"spo2": str(spo2_scale), "consciousness": consciousness_scale}
    try:
        oxygen = vitals["on_oxygen"].astype("boolean")
    except (TypeError, ValueError) as error:
        raise TypeError(f"vitals.on_oxygen must hold True, False or missing ({error})") from None
    on_oxygen = {"yes": oxygen.fillna(False).to_numpy(bool),
                 "no": (~oxygen).fillna(False).to_numpy(bool)}
    inputs = {p: vitals[c].to_numpy(float, na_value=np.nan) for p, c in LIAO_PARAMETERS.items()
              if c in _NUMERIC_COLUMNS}
    inputs["oxygen"] = pd.Categorical.from_codes(
        np.where(oxygen.isna(), -1, on_oxygen["yes"]), categories=["no", "yes"])
    inputs["consciousness"] = vitals["consciousness"]

    points = np.zeros((len(LIAO_PARAMETERS), len(vitals)), dtype=np.int8)  # -1: not scored
    for i, parameter in enumerate(LIAO_PARAMETERS):
        applies = bands["scale"].isin(["", scale.get(parameter, "")])
        rows = bands[(bands["parameter"] == parameter) & applies]
        if parameter == "age":
            if subjects is None:
                continue  # age_points == 0: age scores 0 and is never missing
            rows = rows.assign(points=rows["points"].where(rows["points"] == 0, age_points))
            ages = np.append(subjects["age_years"].to_numpy(float, na_value=np.nan), np.nan)
            inputs["age"] = ages[positions(vitals["subject_id"], subjects["subject_id"])]
        points[i] = _band_points(inputs[parameter], rows, on_oxygen)

    is_missing = points < 0
    np.maximum(points, 0, out=points)  # a parameter not scored counts as 0
    physiology = points[: len(_PHYSIOLOGY)].max(axis=0)
    total = points.sum(axis=0, dtype=np.int64)
    single = points.max(axis=0) if age_triggers_single_parameter_rule else physiology

    levels = liao_level_rules()
    rules = levels[levels["level_rule"] == level_rule].iloc[::-1]  # highest level first
    conditions = [(total >= r.min_total) | (single >= r.min_single_parameter_points)
                  for r in rules.itertuples()]
    codes = np.select(conditions, [LIAO_LEVELS.index(lv) for lv in rules["level"]], default=-1)

    result = pd.DataFrame(
        {f"{p}_points": pd.arrays.IntegerArray(points[i].astype(np.int64), is_missing[i])
         for i, p in enumerate(LIAO_PARAMETERS) if per_parameter or p == "age"}
        | {
            "liao_total": total,
            "max_physiology_points": physiology.astype(np.int64),
            "n_parameters_missing": is_missing.sum(axis=0, dtype=np.int64),
            "incomplete": is_missing.any(axis=0),
            "liao_level": pd.Categorical.from_codes(
                codes, dtype=pd.CategoricalDtype(LIAO_LEVELS, ordered=True)),
        },
        index=vitals.index, copy=False,
    )
    dropped = {"subject_id", "measured_at", *LIAO_PARAMETERS.values()}
    keep = ["subject_id", "measured_at", *(c for c in vitals.columns if c not in dropped)]
    return pd.concat([vitals[keep], result], axis=1)


# ------------------------------------------------------------------ children and the adult score

def adult_score_min_age(min_age_years: float | None = None) -> float:
    """The age limit of the adult score in years: ``min_age_years``, or when None the
    ``adult_min_age_years`` of ``definitions/liao_adult_score.yaml`` (16, the NEWS2 lower limit).

    >>> adult_score_min_age()
    16.0
    """
    value = definitions.liao_adult_score()["adult_min_age_years"] if min_age_years is None else min_age_years
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        raise ValueError(f"min_age_years must be a number of years above 0, got {value!r}")
    return float(value)


def children_scored_adult(subjects: pd.DataFrame, min_age_years: float | None = None) -> pd.DataFrame:
    """The subjects younger than the adult score's age limit: scored with the adult bands all the same.

    Parameters
    ----------
    subjects : pandas.DataFrame
        ``subject_id`` and ``age_years`` (completed years); any other column is kept.
    min_age_years : float, optional
        The age limit (None: :func:`adult_score_min_age`). A subject is a child when
        ``age_years < min_age_years``; a missing age is not counted as a child.

    Returns
    -------
    pandas.DataFrame
        The rows of ``subjects`` that are children, in input order, with every input column and
        ``adult_min_age_years`` (the limit applied).

    Examples
    --------
    >>> subjects = pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "age_years": [15.9, 16, 4, None]})
    >>> children_scored_adult(subjects)["subject_id"].tolist()
    ['A', 'C']
    """
    limit = adult_score_min_age(min_age_years)
    return subjects[_is_child(subjects, limit)].assign(adult_min_age_years=limit)


def _is_child(subjects: pd.DataFrame, limit: float) -> np.ndarray:
    require_columns(subjects, ("subject_id", "age_years"), "subjects")
    return pd.to_numeric(subjects["age_years"], errors="coerce").lt(limit).to_numpy(bool)


def without_children(subjects: pd.DataFrame, min_age_years: float | None = None) -> pd.DataFrame:
    """``subjects`` without the children of :func:`children_scored_adult` (a copy; order kept).

    >>> subjects = pd.DataFrame({"subject_id": ["A", "B"], "age_years": [8, 40]})
    >>> without_children(subjects)["subject_id"].tolist()
    ['B']
    """
    return subjects[~_is_child(subjects, adult_score_min_age(min_age_years))].copy()
