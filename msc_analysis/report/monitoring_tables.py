"""Tables of the monitoring history across looks and of the mortality watch (safety page 08).

Numbers come from :mod:`msc_analysis.endpoints.monitoring_history` and
:mod:`msc_analysis.endpoints.mortality_watch`; this module only formats cells (through
:mod:`.formats`) for ``page.table``.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["format_history", "format_mortality", "format_mortality_oc", "history_sentence"]

_INDENT = "\u2003"
_DASH = "\u2013"


def _status(crossed) -> str:
    return "crossed" if bool(crossed) else "not crossed"


def format_history(history: pd.DataFrame) -> pd.DataFrame:
    """One row per look: cut, cutoff, the toxicity rule and the mortality watch, side by side.

    Parameters
    ----------
    history : DataFrame
        Output of :func:`~msc_analysis.endpoints.monitoring_history.monitoring_history`.
    """
    rows = []
    for _, r in history.iterrows():
        if r["status"] != "read":
            rows.append([str(r["folder"]), _DASH, r["status"], _DASH, _DASH, _DASH, _DASH, _DASH])
            continue
        rows.append([str(r["cut_id"]) + (" (this cut)" if r["current"] else ""),
                     pd.Timestamp(r["cutoff_date"]).strftime("%Y-%m-%d"),
                     formats.count(r["n_evaluable"]), formats.count(r["n_toxicity"]),
                     formats.number(r["prob_exceeds_threshold"], 3), _status(r["boundary_crossed"]),
                     f"{formats.count(r['mortality_n_deaths'])} of {formats.count(r['mortality_n_evaluable'])}",
                     formats.number(r["mortality_prob_exceeds_reference"], 3) + ", "
                     + _status(r["mortality_boundary_crossed"])])
    return pd.DataFrame(rows, columns=["Look (cut)", "Cutoff", "Toxicity rule: evaluable",
                                       "Subjects with toxicity", "Pr(toxicity rate > threshold)",
                                       "Toxicity boundary", "Mortality watch: deaths by day 30 of evaluable",
                                       "Pr(mortality > reference), boundary"])


def history_sentence(first_toxicity: str | None, first_mortality: str | None) -> str:
    """Plain words naming the first crossing of each rule (``None``: never crossed)."""
    tox = (f"The toxicity boundary was first crossed at {first_toxicity}." if first_toxicity
           else "The toxicity boundary has not been crossed at any look.")
    mort = (f"The mortality-watch boundary was first crossed at {first_mortality}." if first_mortality
            else "The mortality-watch boundary has not been crossed at any look.")
    return f"{tox} {mort}"


def format_mortality(posterior: pd.DataFrame, evaluable: pd.DataFrame, day: int) -> pd.DataFrame:
    """The mortality watch at this cut as a two-column table.

    Parameters
    ----------
    posterior : DataFrame
        Output of :func:`~msc_analysis.endpoints.mortality_watch.mortality_posterior`.
    evaluable : DataFrame
        Output of :func:`~msc_analysis.endpoints.mortality_watch.mortality_evaluable`.
    day : int
        The day of the rule.
    """
    r = posterior.iloc[0]
    reasons = evaluable["evaluable_reason"].value_counts(sort=False)
    rows = [("Treated subjects", formats.count(len(evaluable)))]
    rows += [(f"{_INDENT}{reason}", formats.count(n)) for reason, n in reasons.items()]
    rows += [(f"Evaluable subjects (infused at least {day} days before the cutoff, or died by day {day}; "
              "less those lost to follow-up)", formats.count(r["n_evaluable"])),
             (f"Evaluable subjects who died (any cause) on days 0{_DASH}{day}",
              formats.count_pct(r["n_deaths"], r["n_evaluable"], of=True)),
             ("Posterior distribution of the mortality", f"Beta({r['posterior_a']:g}, {r['posterior_b']:g})"),
             ("Posterior mean mortality (95% credible interval)",
              formats.pct_interval(r["posterior_mean_prop"], r["cri95_lower"], r["cri95_upper"])),
             (f"Posterior probability that the true day-{day} mortality exceeds the reference "
              f"{100 * r['reference_rate_prop']:g}%", formats.number(r["prob_exceeds_reference"], 3)),
             ("Mortality-watch boundary", f"crossed when that probability is {r['boundary_prob']:g} or more: "
                                          + ("CROSSED" if r["boundary_crossed"] else "not crossed"))]
    return pd.DataFrame(rows, columns=["Quantity", "Value"])


def format_mortality_oc(oc: pd.DataFrame) -> pd.DataFrame:
    """Operating characteristics of the mortality watch (output of
    :func:`~msc_analysis.endpoints.mortality_watch.mortality_crossing_probability`)."""
    return pd.DataFrame({"True day-30 mortality": [formats.pct(p) for p in oc["true_rate_prop"]],
                         "Evaluable subjects at the last look": [formats.count(n) for n in oc["n_max"]],
                         "Chance the boundary is ever crossed": [formats.pct(p) for p in oc["crossing_prob"]]})
