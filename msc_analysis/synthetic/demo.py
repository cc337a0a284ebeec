"""The three committed demo cuts: one SYNTHETIC trial seen at three cutoffs.

The later cuts extend the earlier ones (same subjects, longer follow-up) and each carries
exactly one corrected value relative to the cut before it, named in its description.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from ..io.spec import trial_facts
from .cutoff import Correction, cut_at, with_entry_errors
from .trial import simulate_trial

__all__ = ["demo_cuts", "DEMO_SUBJECTS", "DEMO_SEED", "DEMO_INTERIM_CUTOFF"]

DEMO_SUBJECTS = 40
DEMO_SEED = 32  # chosen so the small demo shows deaths, withdrawals, losses and reactions
#: The interim look; the other two cutoffs are the planned dates in ``trial.yaml``.
DEMO_INTERIM_CUTOFF = dt.date(2020, 9, 15)


def demo_cuts(n_subjects: int = DEMO_SUBJECTS, seed: int = DEMO_SEED) -> list[tuple[str, dt.date, str, dict]]:
    """The demo cuts of one simulated trial, earliest first.

    Returns
    -------
    list of (cut_id, cutoff_date, description, tables)
        ``cut-2020-09-15`` (interim), ``cut-2020-10-30`` (planned primary completion) and
        ``cut-2020-12-30`` (planned study completion). The first cut carries two entry errors
        (a CRP value with the decimal point lost, a screening weight with a mistyped digit);
        the second corrects the CRP value, the third the weight.
    """
    planned = trial_facts()["planned"]
    cutoffs = [DEMO_INTERIM_CUTOFF, _date(planned["primary_completion"]), _date(planned["study_completion"])]
    trial = simulate_trial(n_subjects, seed)
    crp, weight = _crp_error(trial, cutoffs[0]), _weight_error(trial, cutoffs[1])
    errors, fixed = [[crp, weight], [weight], []], [None, crp, weight]
    names = ["interim cut", "cut at the planned primary completion date",
             "final cut at the planned study completion date"]
    cuts = []
    for k, cutoff in enumerate(cutoffs):
        cut_id = f"cut-{cutoff.isoformat()}"
        text = (f"SYNTHETIC data, not real patients: {names[k]} ({cutoff.isoformat()}) of one simulated "
                f"single-arm trial of {n_subjects} screened subjects (seed {seed}) given one IV infusion "
                "of allogeneic MSCs, 1x10^6 cells/kg, for severe COVID-19.")
        if k:
            text += (f" Same subjects as {cuts[-1][0]} with longer follow-up. One corrected value "
                     f"relative to {cuts[-1][0]}: {fixed[k].describe(trial)}.")
        cuts.append((cut_id, cutoff, text, cut_at(with_entry_errors(trial, errors[k]), cutoff)))
    return cuts


def _date(value) -> dt.date:
    return dt.date.fromisoformat(str(value))


def _middle(index: pd.Index, what: str) -> int:
    if len(index) == 0:
        raise ValueError(f"the simulated trial has no {what} to corrupt; use more subjects")
    return index[len(index) // 2]


def _crp_error(trial: dict, before: dt.date) -> Correction:
    """A CRP in mg/dL collected a week or more before ``before``, recorded 10x too high."""
    labs = trial["labs"]
    ok = (labs["test"] == "CRP") & (labs["unit"] == "mg/dL")
    ok &= labs["collected_at"] < pd.Timestamp(before) - pd.Timedelta(days=7)
    row = _middle(labs.index[ok], "CRP value in mg/dL")
    value = float(labs.at[row, "value"])
    return Correction("labs", row, "value", round(value * 10, 1), value,
                      "unit mg/dL; decimal point lost at data entry")


def _weight_error(trial: dict, before: dt.date) -> Correction:
    """The screening weight of an enrolled subject screened before ``before``, first digit +1."""
    s = trial["subjects"]
    ok = s["enrolled"] & s["weight_kg"].notna() & (s["screened_on"] < pd.Timestamp(before))
    ok &= s["weight_kg"].between(20, 89)
    row = _middle(s.index[ok], "screening weight")
    value = float(s.at[row, "weight_kg"])
    return Correction("subjects", row, "weight_kg", round(value + 10, 1), value, "digit mistyped at data entry")
