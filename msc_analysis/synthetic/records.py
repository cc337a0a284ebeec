"""Measurement and event tables of the SYNTHETIC trial, simulated from each subject's course.

Each function takes the course arrays built by :mod:`.trial` (one entry per screened subject:
``infused``, ``delay`` (days screening -> infusion), ``end_day`` (last hospital day after the
infusion), ``alive_day`` (last day known alive), ``died``, latent severity ``s0`` ...) and
draws whole tables at once with numpy: no loop over rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["vitals", "labs", "blood_gases", "pcr", "imaging", "adverse_events"]

NaT = np.datetime64("NaT")
_VITALS = ("resp_rate_per_min", "spo2_pct", "on_oxygen", "temp_c", "sbp_mmhg", "heart_rate_bpm",
           "consciousness")
#: Adverse-event terms (CTCAE v5.0) drawn at random, with the grades each term allows.
AE_TERMS = (
    ("Anemia", 1, 4), ("Hyperglycemia", 1, 4), ("Hypokalemia", 1, 4),
    ("Alanine aminotransferase increased", 1, 4), ("Acute kidney injury", 1, 4),
    ("Lung infection", 2, 4), ("Sepsis", 4, 4), ("Thromboembolic event", 1, 4),
    ("Atrial fibrillation", 1, 4), ("Delirium", 1, 3), ("Diarrhea", 1, 3), ("Nausea", 1, 3),
    ("Constipation", 1, 3), ("Headache", 1, 3), ("Insomnia", 1, 3), ("Hypotension", 1, 4),
)
_RELATED = (["unrelated", "unlikely", "possible", "probable", None], [0.55, 0.25, 0.1, 0.04, 0.06])


def _severity(c: dict, i: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latent severity (0 well .. 1 moribund) of subjects ``i`` at ``t`` days since infusion.

    Survivors recover exponentially (about 0.15 on the discharge day); subjects who die
    worsen steadily to 1 on the day of death. Before the infusion it stays at ``s0``.
    """
    s0, end, tt = c["s0"][i], c["end_day"][i], np.maximum(t, 0.0)
    recovering = 0.08 + (s0 - 0.08) * np.exp(-tt * 2.2 / end)
    dying = s0 + (1.05 - s0) * np.clip(tt / end, 0, 1) ** 1.5
    return np.clip(np.where(c["died"][i], dying, recovering) + rng.normal(0, 0.04, len(i)), 0, 1.1)


def _minutes(c: dict, i: np.ndarray, day: np.ndarray, minute: np.ndarray) -> np.ndarray:
    """Date-time of ``day`` days after the infusion (or screening) at ``minute`` after midnight."""
    base = c["infused_on"][i].astype("datetime64[m]")
    return base + (day * 1440 + minute).astype("timedelta64[m]")


def _expand(idx: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repeat each subject index ``counts`` times; also return the position within the subject."""
    starts = np.cumsum(counts) - counts
    return np.repeat(idx, counts), np.arange(counts.sum()) - np.repeat(starts, counts)


def _grid(c: dict, days: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten a (treated subjects x planned days) grid to the kept (subject, day) pairs."""
    i = np.flatnonzero(c["infused"])
    return np.repeat(i, days.shape[1]).reshape(days.shape)[keep], days[keep]


def _baseline_day(c: dict, rng: np.random.Generator) -> np.ndarray:
    """Baseline sample day per treated subject: -1 (if screened before that) or 0."""
    delay = c["delay"][c["infused"]]
    return np.where((delay >= 1) & (rng.random(len(delay)) < 0.5), -1, 0)


def _vital_signs(s, dying, fever, rng) -> dict:
    m = len(s)
    oxygen_prob = 1 / (1 + np.exp(-(s - 0.28) * 25))
    confused = rng.random(m) < np.clip((s - 0.85) * 3, 0, 0.7)
    return {
        "resp_rate_per_min": np.clip(np.round(15 + 16 * s + rng.normal(0, 2, m)), 8, 50),
        "spo2_pct": np.clip(np.round(97.5 - 13 * s + rng.normal(0, 1.5, m)), 60, 100),
        "on_oxygen": (rng.random(m) < oxygen_prob).astype(float),
        "temp_c": np.round(36.7 + 1.4 * s * fever + rng.normal(0, 0.3, m), 1),
        "sbp_mmhg": np.clip(np.round(128 - 10 * s - 40 * dying + rng.normal(0, 12, m)), 60, 220),
        "heart_rate_bpm": np.clip(np.round(75 + 35 * s + rng.normal(0, 8, m)), 40, 180),
        "consciousness": np.where(confused, rng.choice(["C", "V", "P", "U"], m, p=[.5, .25, .15, .1]),
                                  "A").astype(object),
    }


def _below_orange(v: dict, low: np.ndarray, age: np.ndarray, rng: np.random.Generator) -> None:
    """Overwrite rows ``low`` with NEWS-C green/yellow vitals: every parameter in its 0 band,
    except SpO2 94-95 (1 point) for some subjects under 65 (age >= 65 adds 3: yellow)."""
    m = int(low.sum())
    spo2 = rng.integers(96, 100, m)
    spo2 = np.where((age[low] < 65) & (rng.random(m) < 0.3), rng.integers(94, 96, m), spo2)
    new = {"resp_rate_per_min": rng.integers(12, 21, m), "spo2_pct": spo2, "on_oxygen": 0.0,
           "temp_c": np.round(rng.uniform(36.2, 37.9, m), 1), "sbp_mmhg": rng.integers(112, 150, m),
           "heart_rate_bpm": rng.integers(60, 91, m), "consciousness": "A"}
    for k, value in new.items():
        v[k][low] = value


def _orange(v: dict, mask: np.ndarray, rng: np.random.Generator) -> None:
    """Overwrite rows ``mask`` with a milder hypoxic presentation: SpO2 88-91 (3 points), oxygen
    for half of them, other physiology in its 0 band. NEWS-C total 3-8: orange or (with oxygen
    and age >= 65) red."""
    m = int(mask.sum())
    new = {"resp_rate_per_min": rng.integers(14, 21, m), "spo2_pct": rng.integers(88, 92, m),
           "on_oxygen": (rng.random(m) < 0.5).astype(float), "temp_c": np.round(rng.uniform(36.5, 37.9, m), 1),
           "sbp_mmhg": rng.integers(112, 150, m), "heart_rate_bpm": rng.integers(70, 91, m), "consciousness": "A"}
    for k, value in new.items():
        v[k][mask] = value


def vitals(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Screening assessment for every subject (the only one dated on the screening day), then
    for treated subjects twice daily to day 7 after infusion and daily to the last hospital day."""
    n = len(c["s0"])
    scr = _vital_signs(np.clip(c["s0"] + rng.normal(0, 0.03, n), 0, 1), np.zeros(n), c["fever"], rng)
    scr["spo2_pct"] = np.minimum(scr["spo2_pct"], 91)  # SpO2 <= 91 scores 3: at least orange
    _orange(scr, rng.random(n) < 0.4, rng)
    _below_orange(scr, c["liao_low"], c["age"], rng)
    scr_at = c["screened"].astype("datetime64[m]") + c["screen_minute"].astype("timedelta64[m]")

    i = np.flatnonzero(c["infused"])
    delay, last = c["delay"][i], (c["delay"][i] + c["end_day"][i]).astype(int)  # days since screening
    twice_last = np.minimum(delay + 7, last)
    rows, k = _expand(i, 2 * twice_last + (last - twice_last))
    n_twice = np.repeat(2 * twice_last, 2 * twice_last + (last - twice_last))
    day = np.where(k < n_twice, 1 + k // 2, k - n_twice // 2 + 1)  # days since screening
    hour = np.where((k < n_twice) & (k % 2 == 1), 20, 8)
    alive = ~(c["died"][rows] & (day == c["delay"][rows] + c["end_day"][rows]) & (hour == 20))
    rows, day, hour = rows[alive], day[alive] - c["delay"][rows[alive]], hour[alive]
    minute = hour * 60 + rng.integers(0, 45, len(rows))
    t = day + minute / 1440
    dying = np.where(c["died"][rows], np.clip(t / c["end_day"][rows], 0, 1) ** 3, 0.0)
    fu = _vital_signs(_severity(c, rows, t, rng), dying, c["fever"][rows], rng)
    blank = np.where(rng.random(len(rows)) < 0.03, rng.integers(0, len(_VITALS), len(rows)), -1)
    for j, name in enumerate(_VITALS):  # ~3% of follow-up rows lack one vital sign
        fu[name] = np.where(blank == j, None if name == "consciousness" else np.nan, fu[name])

    subject = np.concatenate([np.arange(n), rows])
    at = np.concatenate([scr_at, _minutes(c, rows, day, minute)])
    order = np.lexsort((at, subject))
    out = {"subject_id": c["subject_id"][subject[order]], "measured_at": at[order]}
    for name in _VITALS:
        out[name] = np.concatenate([np.asarray(scr[name], dtype=fu[name].dtype), fu[name]])[order]
    frame = pd.DataFrame(out)
    return frame.assign(on_oxygen=frame["on_oxygen"].astype("boolean"))


def labs(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """CRP (about 30% of subjects reported in mg/L) and D-dimer at baseline and days 1-28."""
    m = int(c["infused"].sum())
    t_ = np.flatnonzero(c["infused"])
    days = np.column_stack([_baseline_day(c, rng)] + [np.full(m, d) for d in (1, 3, 7, 14, 21, 28)])
    end, alive = c["end_day"][t_, None], c["alive_day"][t_, None]
    clinic = ~c["died"][t_, None] & (days > end) & np.isin(days, (14, 28)) & (days <= alive)
    keep = ((days <= end) & (rng.random(days.shape) < 0.95)) | (clinic & (rng.random(days.shape) < 0.5))
    keep[:, 0] = True
    rows, day = _grid(c, days, keep)
    minute = 360 + rng.integers(0, 90, len(rows))
    t = np.maximum(day + minute / 1440, 0)
    crp0, decay = c["crp0_mg_dl"][rows], c["crp_decay_days"][rows]
    died_frac = np.where(c["died"][rows], np.clip(t / c["end_day"][rows], 0, 1), 0.0)
    crp = (0.3 + (crp0 - 0.3) * np.exp(-t / decay) + 20 * died_frac ** 2) * rng.lognormal(0, 0.12, len(t))
    mg_l = (rng.random(len(c["s0"])) < 0.3)[rows]
    s = _severity(c, rows, t, rng)
    ddimer = rng.random(len(rows)) < 0.6
    at = _minutes(c, rows, day, minute)
    frame = pd.DataFrame({
        "subject_id": np.concatenate([c["subject_id"][rows], c["subject_id"][rows[ddimer]]]),
        "collected_at": np.concatenate([at, at[ddimer]]),
        "test": np.repeat(["CRP", "D-DIMER"], [len(rows), int(ddimer.sum())]),
        "value": np.concatenate([np.where(mg_l, np.round(crp * 10), np.maximum(np.round(crp, 1), 0.1)),
                                 np.round(300 + 3000 * s[ddimer] * rng.lognormal(0, 0.35, int(ddimer.sum())))]),
        "unit": np.concatenate([np.where(mg_l, "mg/L", "mg/dL"), np.full(int(ddimer.sum()), "ng/mL FEU")]),
    })
    return frame.sort_values(["subject_id", "collected_at", "test"], ignore_index=True)


_FIO2_SETTINGS = np.array([0.21, 0.24, 0.28, 0.32, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 1.0])


def blood_gases(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Arterial gases while on oxygen: baseline and days 1-14; ~5% of FiO2 written as percent."""
    m = int(c["infused"].sum())
    days = np.column_stack([_baseline_day(c, rng)] + [np.full(m, d) for d in (1, 2, 3, 5, 7, 10, 14)])
    rows, day = _grid(c, days, np.ones(days.shape, bool))
    minute = 300 + rng.integers(0, 120, len(rows))
    t = day + minute / 1440
    s = _severity(c, rows, t, rng)
    keep = (day <= c["end_day"][rows]) & (s > 0.3) & (rng.random(len(rows)) < 0.9)
    keep |= np.r_[True, rows[1:] != rows[:-1]]  # the baseline gas of every treated subject
    rows, day, minute, s = rows[keep], day[keep], minute[keep], s[keep]
    target = np.clip(0.21 + 0.9 * (s - 0.2) + rng.normal(0, 0.05, len(s)), 0.21, 1.0)
    fio2 = _FIO2_SETTINGS[np.abs(target[:, None] - _FIO2_SETTINGS).argmin(axis=1)]
    pf = np.clip(430 - 360 * s + rng.normal(0, 20, len(s)), 45, 520)
    percent = rng.random(len(s)) < 0.05
    return pd.DataFrame({
        "subject_id": c["subject_id"][rows],
        "collected_at": _minutes(c, rows, day, minute),
        "pao2_mmhg": np.clip(np.round(pf * fio2), 35, 600),
        "fio2": np.where(percent, np.round(fio2 * 100), fio2),
    })


def pcr(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Swab on day 0 (positive), then every 3-4 days until the first negative and one more
    (negative) to confirm it; ~10% never swabbed again; ~4% of positive follow-up swabs
    inconclusive."""
    i = np.flatnonzero(c["infused"])
    days = np.column_stack([np.zeros(len(i), int), np.cumsum(rng.integers(3, 5, (len(i), 11)), axis=1)])
    negative = days >= (3 + rng.gamma(2.0, 6.0, len(i)))[:, None]
    first_negative = np.where(negative.any(axis=1), negative.argmax(axis=1), days.shape[1])
    keep = (np.arange(days.shape[1]) <= first_negative[:, None] + 1) & (days <= c["alive_day"][i, None])
    keep &= days <= 40
    keep[rng.random(len(i)) < 0.1, 1:] = False
    keep[:, 0] = True
    negative[:, 0] = False
    rows, day = _grid(c, days, keep)
    result = np.where(negative[keep], "negative", "positive").astype(object)
    result[(result == "positive") & (day > 0) & (rng.random(len(day)) < 0.04)] = "inconclusive"
    return pd.DataFrame({"subject_id": c["subject_id"][rows],
                         "collected_on": c["infused_on"][rows] + day, "result": result})


def imaging(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Chest CT at baseline (95%), about day 14 (70%) and day 28 (55%) while known alive;
    0-25 severity score (~3% unscored); impression against the subject's previous scan."""
    m = int(c["infused"].sum())
    days = np.column_stack([_baseline_day(c, rng), 14 + rng.integers(-2, 3, m), 28 + rng.integers(-3, 4, m)])
    i = np.flatnonzero(c["infused"])
    keep = (rng.random(days.shape) < [0.95, 0.7, 0.55]) & (days <= c["alive_day"][i, None])
    rows, day = _grid(c, days, keep)
    latent = np.clip(2 + 22 * _severity(c, rows, day + 0.5, rng) + rng.normal(0, 1.5, len(rows)), 0, 25)
    score = np.where(rng.random(len(rows)) < 0.03, np.nan, np.round(latent))
    change = latent - np.r_[np.nan, latent[:-1]]
    impression = np.select([change <= -2, change >= 2], ["improved", "worsened"], "stable").astype(object)
    impression[np.r_[True, rows[1:] != rows[:-1]]] = None  # first scan: nothing to compare with
    return pd.DataFrame({"subject_id": c["subject_id"][rows], "performed_on": c["infused_on"][rows] + day,
                         "modality": "CT", "severity_score": score, "impression": impression})


def adverse_events(c: dict, rng: np.random.Generator) -> pd.DataFrame:
    """Random CTCAE events (grades 1-4), infusion reactions on day 0 (~7% of treated) and a
    grade-5 event for ~60% of deaths (its end date is the date of death)."""
    i = np.flatnonzero(c["infused"])
    rows = np.repeat(i, rng.poisson(1.0 + 1.5 * c["died"][i]))
    k = len(rows)
    span = np.minimum(c["end_day"][rows], 30)
    onset = np.floor(rng.random(k) * (span + 1)).astype(int)
    onset = np.where((c["delay"][rows] >= 1) & (rng.random(k) < 0.04), -1, onset)
    term = rng.integers(0, len(AE_TERMS), k)
    lo, hi = (np.array([t[j] for t in AE_TERMS]) for j in (1, 2))
    grade = np.clip(rng.choice([1, 2, 3, 4], k, p=[0.45, 0.33, 0.15, 0.07]), lo[term], hi[term])
    end = onset + rng.geometric(1 / 6, k)
    ongoing = (end > c["alive_day"][rows]) | (rng.random(k) < 0.05)
    random_events = dict(rows=rows, term=np.array([t[0] for t in AE_TERMS])[term], onset=onset,
                         end=np.where(ongoing, np.nan, end), grade=grade,
                         serious=(grade == 4) | ((grade == 3) & (rng.random(k) < 0.4)),
                         related=rng.choice(_RELATED[0], k, p=_RELATED[1]), infusion=np.zeros(k, bool))
    r = i[rng.random(len(i)) < 0.07]
    reactions = dict(rows=r, term=rng.choice(["Infusion related reaction", "Fever", "Chills"], len(r)),
                     onset=np.zeros(len(r), int), end=rng.integers(0, 2, len(r)).astype(float),
                     grade=np.where(rng.random(len(r)) < 0.8, 1, 2), serious=np.zeros(len(r), bool),
                     related=rng.choice(["possible", "probable", "definite"], len(r), p=[.5, .35, .15]),
                     infusion=np.ones(len(r), bool))
    f = i[c["died"][i] & (rng.random(len(i)) < 0.6)]
    death = c["death_day"][f].astype(int)
    fatal = dict(rows=f, term=rng.choice(["Respiratory failure", "Sepsis", "Multi-organ failure"], len(f)),
                 onset=np.maximum(death - rng.integers(0, 6, len(f)), 0), end=death.astype(float),
                 grade=np.full(len(f), 5), serious=np.ones(len(f), bool),
                 related=rng.choice(["unrelated", "unlikely"], len(f), p=[0.7, 0.3]),
                 infusion=np.zeros(len(f), bool))
    parts = [random_events, reactions, fatal]
    cat = {key: np.concatenate([p[key] for p in parts]) for key in random_events}
    day0 = c["infused_on"][cat["rows"]]
    end = np.where(np.isnan(cat["end"]), NaT, day0 + np.nan_to_num(cat["end"]).astype(int))
    frame = pd.DataFrame({
        "subject_id": c["subject_id"][cat["rows"]], "term": cat["term"], "onset_on": day0 + cat["onset"],
        "resolved_on": end.astype("datetime64[D]"), "grade": cat["grade"], "serious": cat["serious"],
        "related": cat["related"], "infusion_related": cat["infusion"],
    })
    frame = frame.drop_duplicates(["subject_id", "term", "onset_on"])
    return frame.sort_values(["subject_id", "onset_on", "term"], ignore_index=True)
