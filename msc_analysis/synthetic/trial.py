"""Simulate one complete SYNTHETIC trial: every screened subject with full follow-up.

Nothing here describes a real person. The simulation is deterministic given ``seed`` (one
``numpy.random.Generator`` drawn in a fixed order) and depends on no clock or environment.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.spec import trial_facts
from .records import adverse_events, blood_gases, imaging, labs, pcr, vitals

__all__ = ["simulate_trial", "FOLLOW_UP_DAYS"]

#: Days of follow-up after the infusion (registered time frame of the primary outcome).
FOLLOW_UP_DAYS = 60

#: Probability of each screen-failure reason (drawn independently; a subject may fail several).
#: Pregnancy is drawn only for females aged 14-49.
SCREEN_FAILURE_PROB = {
    "rt_pcr_not_confirmed": 0.05,
    "no_consent": 0.05,
    "pregnant_or_breastfeeding": 0.12,
    "hiv_or_syphilis": 0.03,
    "liao_below_orange": 0.09,
}
#: Enrolled subjects who are never infused (about 40% of them die first, the rest withdraw).
NOT_INFUSED_PROB = 0.05
#: Days from screening (= enrollment) to infusion: 0, 1, 2, 3.
INFUSION_DELAY_PROB = (0.35, 0.35, 0.2, 0.1)
#: Share of infusions whose dose deviates from target by 20-30%.
DOSE_DEVIATION_PROB = 0.03


def simulate_trial(n_subjects: int, seed: int) -> dict[str, pd.DataFrame]:
    """Simulate one complete synthetic trial of ``n_subjects`` screened subjects.

    Parameters
    ----------
    n_subjects : int
        Number of screened subjects (at least 1).
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same trial.

    Returns
    -------
    dict of DataFrame
        One frame per table of the cut format v1 (``subjects``, ``infusions``, ``vitals``,
        ``labs``, ``blood_gases``, ``pcr``, ``imaging``, ``adverse_events``) with the columns of
        ``cut_v1_columns.csv`` in file order and the *full* follow-up: every death, discharge
        and measurement up to day 60 after the infusion. Dates are ``datetime64``, booleans
        ``bool``/``boolean``, missing values ``NaN``/``NaT``/``<NA>``. Pass the result to
        :func:`~msc_analysis.synthetic.cutoff.cut_at` to see it as of a cutoff date.

    Examples
    --------
    >>> t = simulate_trial(30, seed=1)
    >>> sorted(t) == sorted(["subjects", "infusions", "vitals", "labs", "blood_gases", "pcr",
    ...                      "imaging", "adverse_events"])
    True
    """
    if int(n_subjects) < 1:
        raise ValueError(f"n_subjects must be at least 1, got {n_subjects}")
    rng = np.random.default_rng(seed)
    facts = trial_facts()
    subjects, course = _subjects(int(n_subjects), rng, facts)
    return {
        "subjects": subjects,
        "infusions": _infusions(course, rng, float(facts["target_dose_cells_per_kg"])),
        "vitals": vitals(course, rng),
        "labs": labs(course, rng),
        "blood_gases": blood_gases(course, rng),
        "pcr": pcr(course, rng),
        "imaging": imaging(course, rng),
        "adverse_events": adverse_events(course, rng),
    }


def _at_least_one(flag: np.ndarray, candidates: np.ndarray, rng: np.random.Generator) -> None:
    """Set ``flag`` for one random candidate if no subject has it yet (in place)."""
    if not flag.any() and candidates.any():
        flag[rng.choice(np.flatnonzero(candidates))] = True


def _subjects(n: int, rng: np.random.Generator, facts: dict) -> tuple[pd.DataFrame, dict]:
    """The subjects table and the per-subject course (arrays) the other tables derive from."""
    start = np.datetime64(facts["planned"]["study_start"], "D")
    end = np.datetime64(facts["planned"]["primary_completion"], "D")
    screened = start + np.sort(rng.integers(0, (end - start).astype(int) + 1, n))
    child = rng.random(n) < 0.03
    age = np.where(child, rng.integers(4, 18, n),
                   np.clip(np.round(rng.normal(58, 14, n)), 18, 97)).astype(int)
    female = rng.random(n) < 0.42
    adult_kg = np.where(female, rng.normal(70, 14, n), rng.normal(82, 15, n))
    child_kg = (8 + 2.7 * age) * rng.lognormal(0, 0.15, n)
    weight = np.round(np.where(child, np.clip(child_kg, 12, 120), np.clip(adult_kg, 40, 180)), 1)

    can_be_pregnant = female & (age >= 14) & (age <= 49)
    fails = {k: rng.random(n) < p for k, p in SCREEN_FAILURE_PROB.items()}
    fails["pregnant_or_breastfeeding"] &= can_be_pregnant
    if n >= 20:  # small trials still show every reason for screen failure
        for reason, flag in fails.items():
            eligible = ~np.any(list(fails.values()), axis=0)
            _at_least_one(flag, eligible & (can_be_pregnant if reason.startswith("preg") else True), rng)
    enrolled = ~np.any(list(fails.values()), axis=0)
    not_infused = enrolled & (rng.random(n) < NOT_INFUSED_PROB)
    if n >= 20:
        _at_least_one(not_infused, enrolled, rng)
    infused = enrolled & ~not_infused
    died_before = not_infused & (rng.random(n) < 0.4)
    delay = rng.choice(len(INFUSION_DELAY_PROB), n, p=INFUSION_DELAY_PROB)

    # Disease course relative to the infusion (day 0). s0 = latent severity at screening.
    s0 = rng.uniform(0.6, 0.9, n)
    logit = -1.1 + 0.045 * (age - 58) + 3.0 * (s0 - 0.75)
    died = infused & (rng.random(n) < 1 / (1 + np.exp(-logit)))
    death_day = np.minimum(1 + np.floor(rng.gamma(2.0, 8.0, n)), FOLLOW_UP_DAYS)
    stay = np.clip(np.round(rng.lognormal(np.log(15), 0.45, n)), 7, 40)
    stay = np.where(rng.random(n) < 0.03, rng.integers(41, 76, n), stay)
    lost = rng.random(n) < 0.06
    lost_day = np.minimum(stay + rng.integers(0, 21, n), FOLLOW_UP_DAYS - 1)
    alive_day = np.maximum(np.where(lost, lost_day, FOLLOW_UP_DAYS), stay)
    infused_on = np.where(infused, screened + delay, np.datetime64("NaT")).astype("datetime64[D]")
    course = {
        "subject_id": _subject_ids(n),
        "screened": screened,
        "screen_minute": rng.integers(9 * 60, 17 * 60, n),
        "age": age,
        "liao_low": fails["liao_below_orange"],
        "infused": infused,
        "infused_on": infused_on,
        "weight_kg": weight,
        "delay": delay,
        "s0": s0,
        "fever": rng.uniform(0.3, 1.2, n),
        "crp0_mg_dl": np.clip(rng.lognormal(np.log(14), 0.22, n), 6, 30),
        "crp_decay_days": rng.uniform(2.5, 6.0, n),
        "died": died,
        "death_day": np.where(died, death_day, np.nan),
        "end_day": np.where(died, death_day, stay),  # last hospital day
        "alive_day": np.where(died, death_day, alive_day),  # last day known alive
    }

    died_on = np.where(died, infused_on + death_day.astype(int), np.datetime64("NaT"))
    died_on = np.where(died_before, screened + rng.integers(0, delay + 1), died_on)
    discharged = np.where(infused & ~died, infused_on + stay.astype(int), np.datetime64("NaT"))
    lka = np.where(infused, infused_on + course["alive_day"].astype(int), screened)
    lka = np.where(died_before, died_on, lka)
    lka = np.where(not_infused & ~died_before, screened + rng.integers(0, 2, n), lka)
    weight_missing = ~enrolled & (rng.random(n) < 0.3)  # screen failures need not be weighed

    subjects = pd.DataFrame({
        "subject_id": course["subject_id"],
        "arm": np.where(enrolled, facts["default_arm"], None),
        "age_years": age,
        "sex": np.where(female, "F", "M"),
        "weight_kg": np.where(weight_missing, np.nan, weight),
        "screened_on": screened,
        "rt_pcr_confirmed": ~fails["rt_pcr_not_confirmed"],
        "consent_signed": ~fails["no_consent"],
        "pregnant_or_breastfeeding": fails["pregnant_or_breastfeeding"],
        "hiv_or_syphilis": fails["hiv_or_syphilis"],
        "enrolled": enrolled,
        "enrolled_on": np.where(enrolled, screened, np.datetime64("NaT")).astype("datetime64[D]"),
        "admitted_on": screened - np.minimum(rng.geometric(0.3, n) - 1, 14),
        "discharged_on": discharged.astype("datetime64[D]"),
        "died_on": died_on.astype("datetime64[D]"),
        "last_known_alive_on": lka.astype("datetime64[D]"),
        # true before the cutoff of every interim cut, so it never tells a later cut's news
        "not_infused_reason": np.where(died_before, "clinical worsening before the infusion",
                                       np.where(not_infused, "withdrew consent before the infusion", "")),
    })
    return subjects, course


def _subject_ids(n: int) -> np.ndarray:
    width = max(3, len(str(n)))
    return np.array([f"HCPA-{i:0{width}d}" for i in range(1, n + 1)])


def _infusions(c: dict, rng: np.random.Generator, cells_per_kg: float) -> pd.DataFrame:
    """One infusion per infused subject; the dose is weight x target x (1 + N(0, 5%))."""
    i = np.flatnonzero(c["infused"])
    kg = np.round(c["weight_kg"][i] * (1 + rng.normal(0, 0.015, len(i))), 1)
    factor = 1 + rng.normal(0, 0.05, len(i))
    deviation = rng.random(len(i)) < DOSE_DEVIATION_PROB
    factor = np.where(deviation, rng.choice([0.7, 0.75, 1.25, 1.3], len(i)), factor)
    cells = np.round(kg * cells_per_kg * factor, -4)
    return pd.DataFrame({
        "subject_id": c["subject_id"][i],
        "infused_on": c["infused_on"][i],
        "cells_infused": cells,
        "weight_kg": kg,
    })
