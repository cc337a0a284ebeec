"""All-cause mortality watch: posterior probability that day-30 mortality exceeds a reference rate.

A second monitoring rule **beside** the toxicity rule of :mod:`.safety_monitoring`, never merged
with it: the toxicity rule counts only related events, while in COVID-19 a board also watches
all-cause deaths. At every look

    Pr(true day-D mortality > reference rate | data) under a Beta(a, b) prior,

the upper tail of Beta(a + deaths, b + n - deaths), with its own boundary. The rule and its
shipped default (with the source of the reference rate) are in the ``mortality_watch`` section
of ``msc_analysis/definitions/safety.yaml`` and in ``docs/safety-monitoring.md``; a keyword
argument left at ``None`` takes its value from the file. The posterior and the operating
characteristics reuse :func:`.safety_monitoring.posterior_from_counts` and
:func:`.safety_monitoring.crossing_probability`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..definitions import safety_definitions
from ..derive.checks import require_columns
from ..derive.follow_up import evaluable_by_calendar
from .safety_monitoring import crossing_probability, posterior_from_counts

__all__ = ["mortality_rule", "mortality_evaluable", "mortality_posterior", "mortality_crossing_probability",
           "mortality_headline_measures", "MORTALITY_REASONS"]

#: ``evaluable_reason`` of :func:`mortality_evaluable`; the first two are evaluable.
MORTALITY_REASONS = ("died by the day", "alive at the day", "lost to follow-up before the day",
                     "not yet evaluable")


def mortality_rule(*, prior_a=None, prior_b=None, reference_rate_prop=None, boundary_prob=None,
                   day=None) -> dict:
    """The rule in force: arguments left at ``None`` come from ``safety.yaml`` ``mortality_watch``.

    Returns
    -------
    dict
        ``prior_a``, ``prior_b``, ``reference_rate_prop``, ``boundary_prob``, ``day``,
        ``reference_source``.

    >>> mortality_rule()["reference_rate_prop"], mortality_rule(day=28)["day"]
    (0.257, 28)
    """
    w = safety_definitions()["mortality_watch"]
    pick = lambda value, key: w[key] if value is None else value  # noqa: E731
    return dict(prior_a=float(pick(prior_a, "prior_a")), prior_b=float(pick(prior_b, "prior_b")),
                reference_rate_prop=float(pick(reference_rate_prop, "reference_rate_prop")),
                boundary_prob=float(pick(boundary_prob, "boundary_posterior_prob")), day=int(pick(day, "day")),
                reference_source=str(w["reference_source"]))


def mortality_evaluable(follow: pd.DataFrame, *, day: int | None = None) -> pd.DataFrame:
    """Which treated subjects count in the mortality watch, and whether each died by ``day``.

    Evaluable: infused at least ``day`` days before the cutoff (calendar evaluability,
    :func:`~msc_analysis.derive.follow_up.evaluable_by_calendar`), plus any subject who died on
    or before day ``day`` (counted with the death even if day ``day`` is still to come). Among
    the calendar-evaluable, a subject neither dead by the day nor known alive on or after it is
    "lost to follow-up before the day": outcome unknown, left out and shown.

    Parameters
    ----------
    follow : DataFrame
        Output of :func:`~msc_analysis.derive.follow_up.follow_up`: ``subject_id``,
        ``death_day``, ``follow_up_days``, ``days_to_cutoff``.
    day : int, optional
        Day since the infusion (default from safety.yaml: 30; deaths on days 0-30 count).

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``, ``died_by_day`` (bool), ``evaluable`` (bool),
        ``evaluable_reason`` (one of :data:`MORTALITY_REASONS`).

    Examples
    --------
    >>> f = pd.DataFrame({"subject_id": list("ABCDE"), "death_day": [5.0, None, None, None, 40.0],
    ...     "follow_up_days": [5.0, 31.0, 12.0, 8.0, 40.0], "days_to_cutoff": [10, 60, 60, 8, 60]})
    >>> mortality_evaluable(f, day=30)["evaluable_reason"].tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['died by the day', 'alive at the day', 'lost to follow-up before the day', 'not yet evaluable',
     'alive at the day']
    """
    day = mortality_rule(day=day)["day"]
    require_columns(follow, ("subject_id", "death_day", "follow_up_days", "days_to_cutoff"), "follow")
    death = follow["death_day"].to_numpy(float)
    died = death <= day  # NaN (alive) compares False
    alive = ~died & (follow["follow_up_days"].to_numpy(float) >= day)
    calendar = evaluable_by_calendar(follow, day)
    reason = np.select([died, alive, calendar], MORTALITY_REASONS[:3], default=MORTALITY_REASONS[3])
    return pd.DataFrame({"subject_id": follow["subject_id"].astype(str).to_numpy(), "died_by_day": died,
                         "evaluable": died | alive,
                         "evaluable_reason": pd.Categorical(reason, categories=MORTALITY_REASONS)})


def mortality_posterior(evaluable: pd.DataFrame, **rule) -> pd.DataFrame:
    """Beta-binomial posterior of day-D mortality among the evaluable, and the watch decision.

    ``rule``: ``prior_a``, ``prior_b``, ``reference_rate_prop``, ``boundary_prob`` (``None`` or
    absent: safety.yaml ``mortality_watch``).

    Returns
    -------
    DataFrame
        One row: ``n_evaluable``, ``n_deaths``, ``n_lost_to_follow_up``, ``n_not_yet_evaluable``,
        ``prior_a``, ``prior_b``, ``posterior_a``, ``posterior_b``, ``posterior_mean_prop``,
        ``cri95_lower``, ``cri95_upper``, ``reference_rate_prop``, ``prob_exceeds_reference``,
        ``boundary_prob``, ``boundary_crossed`` (bool).

    Examples
    --------
    8 deaths among 30: Beta(9, 23); Pr(p > 0.257) = Pr(Binomial(31, 0.257) <= 8) = 0.5989

    >>> ev = pd.DataFrame({"died_by_day": [True] * 8 + [False] * 22, "evaluable": True,
    ...                    "evaluable_reason": ["died by the day"] * 8 + ["alive at the day"] * 22})
    >>> round(float(mortality_posterior(ev, prior_a=1, prior_b=1)["prob_exceeds_reference"].iloc[0]), 4)
    0.5989
    """
    r = mortality_rule(**{k: rule.get(k) for k in ("prior_a", "prior_b", "reference_rate_prop", "boundary_prob")})
    ev = evaluable[evaluable["evaluable"].astype(bool)]
    reasons = evaluable["evaluable_reason"].astype(str)
    post = posterior_from_counts(int(ev["died_by_day"].astype(bool).sum()), len(ev), prior_a=r["prior_a"],
                                 prior_b=r["prior_b"], threshold_prop=r["reference_rate_prop"],
                                 boundary_prob=r["boundary_prob"])
    post = post.rename(columns={"n_toxicity": "n_deaths", "threshold_prop": "reference_rate_prop",
                                "prob_exceeds_threshold": "prob_exceeds_reference"})
    post.insert(2, "n_lost_to_follow_up", int((reasons == MORTALITY_REASONS[2]).sum()))
    post.insert(3, "n_not_yet_evaluable", int((reasons == MORTALITY_REASONS[3]).sum()))
    return post


def mortality_crossing_probability(true_rate_prop, n_max: int, **rule) -> pd.DataFrame:
    """Operating characteristics of the watch: chance the boundary is ever crossed at a true
    mortality, looking after every evaluable subject up to ``n_max`` (exact; see
    :func:`.safety_monitoring.crossing_probability`).

    Returns
    -------
    DataFrame
        ``true_rate_prop``, ``n_max``, ``crossing_prob``.

    >>> mortality_crossing_probability(0.5, 1, prior_a=1, prior_b=1, reference_rate_prop=0.257,
    ...     boundary_prob=0.9)["crossing_prob"].round(6).tolist()
    [0.5]
    """
    r = mortality_rule(**{k: rule.get(k) for k in ("prior_a", "prior_b", "reference_rate_prop", "boundary_prob")})
    return crossing_probability(true_rate_prop, n_max, prior_a=r["prior_a"], prior_b=r["prior_b"],
                                threshold_prop=r["reference_rate_prop"], boundary_prob=r["boundary_prob"])


def mortality_headline_measures(posterior: pd.DataFrame, day: int | None = None) -> pd.DataFrame:
    """Mortality-watch results, ready for :func:`~msc_analysis.report.results.result_rows`.

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``,
        ``method`` (``n``: evaluable subjects): ``mortality_30d_exceeds_reference_prob``,
        ``mortality_watch_boundary_crossed`` (1 crossed, 0 not), ``mortality_30d_posterior_mean_prop``
        (CI columns: equal-tailed 95 % credible interval), ``mortality_30d_deaths``.
    """
    r = posterior.iloc[0]
    day = mortality_rule(day=day)["day"]
    rule = (f"all-cause deaths on days 0-{day}; Beta({r['prior_a']:g}, {r['prior_b']:g}) prior; reference rate "
            f"{r['reference_rate_prop']:g}; boundary crossed when Pr(mortality > reference) >= "
            f"{r['boundary_prob']:g}; evaluable: infused at least {day} days before the cutoff or died by day "
            f"{day}; {int(r['n_lost_to_follow_up'])} lost to follow-up left out")
    n = int(r["n_evaluable"])
    return pd.DataFrame([
        dict(measure="mortality_30d_exceeds_reference_prob", group="all", estimate=r["prob_exceeds_reference"], n=n,
             unit="probability", method=f"posterior probability; {rule}"),
        dict(measure="mortality_watch_boundary_crossed", group="all", estimate=int(bool(r["boundary_crossed"])), n=n,
             unit="1 = crossed, 0 = not crossed", method=rule),
        dict(measure="mortality_30d_posterior_mean_prop", group="all", estimate=r["posterior_mean_prop"],
             ci95_lower=r["cri95_lower"], ci95_upper=r["cri95_upper"], n=n, unit="proportion",
             method=f"posterior mean; lower and upper hold the equal-tailed 95% credible interval; {rule}"),
        dict(measure="mortality_30d_deaths", group="all", estimate=int(r["n_deaths"]), n=n, unit="subjects",
             method=f"count; {rule}"),
    ])
