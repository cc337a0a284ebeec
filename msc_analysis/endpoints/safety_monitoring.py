"""Phase 1 safety monitoring: posterior probability that serious treatment-related toxicity is too common.

At every data cut the kit computes, for the evaluable subjects,

    Pr(true toxicity rate > threshold | data) under a Beta(a, b) prior,

i.e. the upper tail of the Beta(a + x, b + n - x) posterior (x subjects with a toxicity among
n evaluable), and flags the **monitoring boundary as crossed** when that probability reaches
the cut-off. The rule, its defaults (Beta(1, 1), threshold 0.20, cut-off 0.90, window day 28)
and how a safety board changes them are in ``msc_analysis/definitions/safety.yaml`` and
``docs/safety-monitoring.md``; a keyword argument left at ``None`` takes its value from the file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import beta

from ..definitions import safety_definitions
from ..derive.checks import isin, require_columns
from ..derive.follow_up import follow_up, state_at_day
from .adverse_events import LISTING_COLUMNS

__all__ = ["toxicity_events", "evaluable_subjects", "posterior_from_counts", "posterior_toxicity",
           "monitoring_boundary", "crossing_probability", "headline_measures", "EVALUABLE_REASONS"]

#: ``evaluable_reason`` of :func:`evaluable_subjects`, in order of precedence; the first three
#: are evaluable, the last two left out.
EVALUABLE_REASONS = ("toxicity", "followed to the end of the window", "died within the window",
                     "not yet evaluable", "lost to follow-up before the end of the window")


_FROM_FILE = object()  # default of arguments for which None is a meaningful value


def _setting(name: str, value):
    return safety_definitions()["monitoring"][name] if value is None else value


def _check_rule(prior_a, prior_b, threshold_prop, boundary_prob) -> None:
    if not (prior_a > 0 and prior_b > 0):
        raise ValueError(f"prior_a and prior_b must be positive, got {prior_a}, {prior_b}")
    if not 0 < threshold_prop < 1:
        raise ValueError(f"threshold_prop must be between 0 and 1, got {threshold_prop}")
    if not 0 < boundary_prob < 1:
        raise ValueError(f"boundary_posterior_prob must be between 0 and 1, got {boundary_prob}")


def toxicity_events(flagged: pd.DataFrame, treated: pd.DataFrame, *, window_last_day: int | None = None,
                    requires_related: bool | None = None, if_serious: bool | None = None,
                    min_grade=_FROM_FILE) -> pd.DataFrame:
    """Serious treatment-related toxicities: the events the monitoring rule counts.

    A qualifying event is treatment-emergent with onset from day 0 to ``window_last_day``,
    related to the MSC infusion (``related_to_msc``, when ``requires_related``) and either
    serious (when ``if_serious``) or of CTCAE grade ``min_grade`` or higher.

    Parameters
    ----------
    flagged : DataFrame
        Output of :func:`~msc_analysis.endpoints.adverse_events.classify_adverse_events`.
    treated : DataFrame
        Treated population (``subject_id``).
    window_last_day, requires_related, if_serious
        The definition (defaults from safety.yaml: 28, yes, yes).
    min_grade : int or None, optional
        Grade from which a related event qualifies even if not serious; ``None`` (here or
        in the file) means grade alone never qualifies (default from safety.yaml: 3).

    Returns
    -------
    DataFrame
        The qualifying events with the listing columns ``subject_id``, ``term``, ``period``,
        ``days_since_infusion``, ``resolved_days_since_infusion``, ``grade``, ``serious``,
        ``related``, ``related_to_msc``, ``infusion_related``, in subject and day order.
    """
    window_last_day = int(_setting("window_last_day", window_last_day))
    requires_related = bool(_setting("toxicity_requires_related", requires_related))
    if_serious = bool(_setting("toxicity_if_serious", if_serious))
    min_grade = safety_definitions()["monitoring"]["toxicity_min_grade"] if min_grade is _FROM_FILE else min_grade
    if window_last_day < 0:
        raise ValueError(f"window_last_day must be 0 or more, got {window_last_day}")
    if not if_serious and min_grade is None:
        raise ValueError("the toxicity definition needs serious events, a minimum grade, or both")
    ids = set(treated["subject_id"].astype(str))
    ae = flagged[flagged["treatment_emergent"] & isin(flagged["subject_id"].astype(str), ids)]
    day = ae["days_since_infusion"].astype("Int64")
    grade = pd.to_numeric(ae["grade"])
    severe = pd.Series(False, index=ae.index)
    if if_serious:
        severe = severe | ae["serious"].fillna(False).astype(bool)
    if min_grade is not None:
        severe = severe | (grade >= int(min_grade)).fillna(False).astype(bool)
    keep = severe & (day <= window_last_day).fillna(False).astype(bool)
    if requires_related:
        keep = keep & ae["related_to_msc"]
    out = ae.loc[keep, list(LISTING_COLUMNS)].copy()
    out["subject_id"] = out["subject_id"].astype(str)
    return out.sort_values(["subject_id", "days_since_infusion"]).reset_index(drop=True)


def evaluable_subjects(treated: pd.DataFrame, toxicities: pd.DataFrame, *, cutoff_date,
                       window_last_day: int | None = None, evaluable_if_died: bool | None = None) -> pd.DataFrame:
    """Which treated subjects count in the monitoring rule, and whether each had a toxicity.

    A treated subject is evaluable once the outcome of the window is known: they had a
    qualifying toxicity (counted **at once**, whenever in the window), or were followed to
    ``window_last_day`` (alive and known alive on or after it, or a death after it), or died
    on or before it (when ``evaluable_if_died``). The follow-up is that of
    :func:`~msc_analysis.derive.follow_up.follow_up` and its state at ``window_last_day``
    (:func:`~msc_analysis.derive.follow_up.state_at_day`). Others are left out: "not yet
    evaluable" while the end of the window is still to come at the cutoff, "lost to follow-up
    before the end of the window" once it has passed by the calendar. So a subject infused a few
    days before the cutoff does not count as toxicity-free.

    This rule is **not** calendar evaluability: a toxicity counts at once, a subject without one
    only after the window. At an interim look it counts the subjects with a toxicity more fully
    than those without, which pushes the posterior probability up: it errs on the safe side
    (an early alarm, never a missed one). See ``docs/safety-monitoring.md``.

    Parameters
    ----------
    treated : DataFrame
        ``subject_id``, ``infused_on``, ``discharged_on``, ``died_on``, ``last_known_alive_on``
        (dates).
    toxicities : DataFrame
        Output of :func:`toxicity_events` (``subject_id``).
    cutoff_date : date-like
        The data cutoff.
    window_last_day : int, optional
        Last day of the observation window (default 28).
    evaluable_if_died : bool, optional
        Whether a death inside the window without toxicity makes the subject evaluable
        (default yes: follow-up is complete).

    Returns
    -------
    DataFrame
        One row per treated subject: ``subject_id``, ``follow_up_days`` (float: infusion to
        death, else to the day last known alive, see ``derive.follow_up``), ``toxicity``
        (bool), ``evaluable`` (bool), ``evaluable_reason`` (one of :data:`EVALUABLE_REASONS`).

    Examples
    --------
    >>> d = pd.to_datetime
    >>> t = pd.DataFrame({"subject_id": ["A", "B", "C", "D"],
    ...     "infused_on": d(["2020-08-01", "2020-08-10", "2020-08-01", "2020-07-01"]),
    ...     "discharged_on": pd.NaT, "died_on": d([None, None, "2020-08-05", None]),
    ...     "last_known_alive_on": d(["2020-08-29", "2020-08-20", "2020-08-04", "2020-07-10"])})
    >>> evaluable_subjects(t, pd.DataFrame({"subject_id": []}), cutoff_date="2020-08-29")["evaluable_reason"].tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    ['followed to the end of the window', 'not yet evaluable', 'died within the window',
     'lost to follow-up before the end of the window']
    """
    window_last_day = int(_setting("window_last_day", window_last_day))
    evaluable_if_died = bool(_setting("evaluable_if_died", evaluable_if_died))
    require_columns(treated, ("subject_id", "infused_on", "discharged_on", "died_on", "last_known_alive_on"),
                    "treated")
    follow = follow_up(treated.drop(columns=["treated"], errors="ignore"), cutoff_date,
                       horizon_days=window_last_day)
    state = pd.Series(np.asarray(state_at_day(follow, window_last_day), dtype=object))
    ids = follow["subject_id"].astype(str)
    toxic = isin(ids, toxicities["subject_id"].astype(str))
    reason = state.map({"followed": "followed to the end of the window", "not yet reached": "not yet evaluable",
                        "lost to follow-up": "lost to follow-up before the end of the window",
                        "died": "died within the window" if evaluable_if_died else "not yet evaluable"})
    reason[toxic] = "toxicity"
    return pd.DataFrame({"subject_id": ids.to_numpy(), "follow_up_days": follow["follow_up_days"].to_numpy(float),
                         "toxicity": toxic.to_numpy(dtype=bool),
                         "evaluable": reason.isin(EVALUABLE_REASONS[:3]).to_numpy(dtype=bool),
                         "evaluable_reason": pd.Categorical(reason, categories=EVALUABLE_REASONS)})


def posterior_from_counts(n_toxicity: int, n_evaluable: int, *, prior_a: float | None = None,
                          prior_b: float | None = None, threshold_prop: float | None = None,
                          boundary_prob: float | None = None) -> pd.DataFrame:
    """Beta-binomial posterior of the toxicity rate and the monitoring decision.

    Parameters
    ----------
    n_toxicity, n_evaluable : int
        Evaluable subjects with a qualifying toxicity, and evaluable subjects (0 <= x <= n).
    prior_a, prior_b : float, optional
        Beta prior (default Beta(1, 1), uniform).
    threshold_prop : float, optional
        Unacceptable toxicity rate (default 0.20).
    boundary_prob : float, optional
        The boundary is crossed when Pr(rate > threshold) >= this (default 0.90).

    Returns
    -------
    DataFrame
        One row: ``n_evaluable``, ``n_toxicity``, ``prior_a``, ``prior_b``, ``posterior_a``,
        ``posterior_b``, ``posterior_mean_prop``, ``cri95_lower``, ``cri95_upper`` (equal-tailed
        95 % credible interval), ``threshold_prop``, ``prob_exceeds_threshold``,
        ``boundary_prob``, ``boundary_crossed`` (bool). With no evaluable subject the
        posterior is the prior.

    Examples
    --------
    2 toxicities among 9: Beta(3, 8); Pr(p > 0.2) = Pr(Binomial(10, 0.2) <= 2) = 0.6778

    >>> r = posterior_from_counts(2, 9, prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.9)
    >>> round(float(r.loc[0, "prob_exceeds_threshold"]), 4), bool(r.loc[0, "boundary_crossed"])
    (0.6778, False)
    """
    prior_a = float(_setting("prior_a", prior_a))
    prior_b = float(_setting("prior_b", prior_b))
    threshold_prop = float(_setting("threshold_prop", threshold_prop))
    boundary_prob = float(_setting("boundary_posterior_prob", boundary_prob))
    _check_rule(prior_a, prior_b, threshold_prop, boundary_prob)
    x, n = int(n_toxicity), int(n_evaluable)
    if x != n_toxicity or n != n_evaluable or not 0 <= x <= n:
        raise ValueError(f"need whole numbers 0 <= n_toxicity <= n_evaluable, got {n_toxicity}, {n_evaluable}")
    a, b = prior_a + x, prior_b + n - x
    post = beta(a, b)
    prob = float(post.sf(threshold_prop))
    return pd.DataFrame([dict(
        n_evaluable=n, n_toxicity=x, prior_a=prior_a, prior_b=prior_b, posterior_a=a, posterior_b=b,
        posterior_mean_prop=float(post.mean()), cri95_lower=float(post.ppf(0.025)),
        cri95_upper=float(post.ppf(0.975)), threshold_prop=threshold_prop,
        prob_exceeds_threshold=prob, boundary_prob=boundary_prob, boundary_crossed=prob >= boundary_prob)])


def posterior_toxicity(evaluable: pd.DataFrame, **rule) -> pd.DataFrame:
    """:func:`posterior_from_counts` for the output of :func:`evaluable_subjects`.

    Only evaluable subjects count; ``rule`` passes ``prior_a``, ``prior_b``, ``threshold_prop``,
    ``boundary_prob``. Returns the same single row.
    """
    ev = evaluable[evaluable["evaluable"].astype(bool)]
    return posterior_from_counts(int(ev["toxicity"].astype(bool).sum()), len(ev), **rule)


def monitoring_boundary(n_max: int, **rule) -> pd.DataFrame:
    """Smallest number of subjects with toxicity that crosses the boundary, for 1..n_max evaluable.

    Returns
    -------
    DataFrame
        ``n_evaluable`` (1..n_max), ``min_toxicity_to_cross`` (Int64; missing if even n out of
        n would not cross), ``prob_exceeds_threshold_at_min`` (the posterior probability at that
        count).

    Examples
    --------
    >>> monitoring_boundary(4, prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.9)[
    ...     "min_toxicity_to_cross"].tolist()
    [1, 2, 2, 2]
    """
    if int(n_max) < 1:
        raise ValueError(f"n_max must be at least 1, got {n_max}")
    a, b, p0, cut = _rule(**rule)
    n = np.arange(1, int(n_max) + 1)
    crossable = beta.sf(p0, a + n, b) >= cut
    # The smallest crossing count (n when none) never decreases with n: find it on every 64th n
    # first, then on every 16th, every 4th and every n, each between the counts found on either side.
    grid, at_grid = None, None
    for step in (64, 16, 4, 1):
        points = np.unique(np.r_[n[::step], n[-1]])
        if grid is None:
            lo, hi = np.zeros_like(points), points.copy()
        else:
            k = np.searchsorted(grid, points, side="right") - 1
            lo, hi = at_grid[k], np.minimum(at_grid[np.minimum(k + 1, len(grid) - 1)], points)
        grid, at_grid = points, _smallest_crossing(points, lo, hi, a, b, p0, cut)
    lo = at_grid
    prob = beta.sf(p0, a + lo, b + n - lo)
    return pd.DataFrame({"n_evaluable": n,
                         "min_toxicity_to_cross": pd.Series(lo, dtype="Int64").where(crossable),
                         "prob_exceeds_threshold_at_min": np.where(crossable, prob, np.nan)})


def _smallest_crossing(n, lo, hi, a, b, p0, cut) -> np.ndarray:
    """For each ``n``, the smallest count x in ``[lo, hi]`` whose posterior Pr(rate > p0 | x of n)
    reaches ``cut`` (it increases with x), else ``hi``: bisection, all ``n`` at once."""
    lo, hi = lo.copy(), hi.copy()
    active = np.flatnonzero(lo < hi)
    while active.size:
        mid = (lo[active] + hi[active]) // 2
        ok = beta.sf(p0, a + mid, b + n[active] - mid) >= cut
        hi[active] = np.where(ok, mid, hi[active])
        lo[active] = np.where(ok, lo[active], mid + 1)
        active = active[lo[active] < hi[active]]
    return lo


def _rule(*, prior_a=None, prior_b=None, threshold_prop=None, boundary_prob=None) -> tuple[float, ...]:
    a = float(_setting("prior_a", prior_a))
    b = float(_setting("prior_b", prior_b))
    p0 = float(_setting("threshold_prop", threshold_prop))
    cut = float(_setting("boundary_posterior_prob", boundary_prob))
    _check_rule(a, b, p0, cut)
    return a, b, p0, cut


def crossing_probability(true_rate_prop, n_max: int, **rule) -> pd.DataFrame:
    """Chance the boundary is ever crossed if the rule is applied after every evaluable subject.

    Exact calculation (no simulation): the distribution of the toxicity count is carried
    forward one subject at a time, removing the paths that have crossed. Looking at every
    subject is the most frequent monitoring possible, so for looks only at data cuts the
    chance is at most this.

    Parameters
    ----------
    true_rate_prop : float or sequence of float
        True toxicity rate(s), 0-1.
    n_max : int
        Evaluable subjects at the last look.
    **rule
        ``prior_a``, ``prior_b``, ``threshold_prop``, ``boundary_prob`` (defaults: safety.yaml).

    Returns
    -------
    DataFrame
        ``true_rate_prop``, ``n_max``, ``crossing_prob``.

    Examples
    --------
    One subject, true rate 0.3: crosses only if that subject has a toxicity (1 of 1 crosses).

    >>> crossing_probability(0.3, 1, prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.9)[
    ...     "crossing_prob"].round(6).tolist()
    [0.3]
    """
    bounds = monitoring_boundary(n_max, **rule)["min_toxicity_to_cross"]
    rates = np.atleast_1d(np.asarray(true_rate_prop, dtype=float))
    if np.any((rates < 0) | (rates > 1)):
        raise ValueError(f"true_rate_prop must be within 0-1, got {rates.tolist()}")
    out = []
    for p in rates:
        alive = np.array([1.0])  # probability of each toxicity count among paths not yet crossed
        crossed = 0.0
        for n, bound in enumerate(bounds, start=1):
            step = np.zeros(n + 1)
            step[:-1] += alive * (1 - p)
            step[1:] += alive * p
            if not pd.isna(bound):
                crossed += step[int(bound):].sum()
                step[int(bound):] = 0.0
            alive = step
        out.append((p, int(n_max), crossed))
    return pd.DataFrame(out, columns=["true_rate_prop", "n_max", "crossing_prob"])


def headline_measures(posterior: pd.DataFrame, window_last_day: int | None = None) -> pd.DataFrame:
    """Monitoring results, ready for :func:`~msc_analysis.report.results.result_rows`.

    Parameters
    ----------
    posterior : DataFrame
        Output of :func:`posterior_toxicity` (one row).
    window_last_day : int, optional
        For the ``method`` text (default from safety.yaml).

    Returns
    -------
    DataFrame
        ``measure``, ``group``, ``estimate``, ``ci95_lower``, ``ci95_upper``, ``n``, ``unit``,
        ``method`` (``n`` is the number of evaluable subjects): ``toxicity_rate_exceeds_threshold_prob``
        (posterior probability), ``monitoring_boundary_crossed`` (1 crossed, 0 not),
        ``toxicity_rate_posterior_mean_prop`` (the CI columns hold the 95 % credible interval),
        ``toxicity_subjects`` (evaluable subjects with a toxicity).
    """
    r = posterior.iloc[0]
    window = int(_setting("window_last_day", window_last_day))
    rule = (f"Beta({r['prior_a']:g}, {r['prior_b']:g}) prior; threshold {r['threshold_prop']:g}; "
            f"boundary crossed when Pr(rate > threshold) >= {r['boundary_prob']:g}; serious treatment-related "
            f"toxicity with onset day 0-{window}")
    n = int(r["n_evaluable"])
    return pd.DataFrame([
        dict(measure="toxicity_rate_exceeds_threshold_prob", group="evaluable", estimate=r["prob_exceeds_threshold"],
             n=n, unit="probability",
             method=f"posterior probability; {rule}; evaluable: a toxicity counts at once, a subject without one only "
                    f"once followed to day {window} or dead (at an interim look this pushes the probability up: it "
                    "errs on the safe side)"),
        dict(measure="monitoring_boundary_crossed", group="evaluable", estimate=int(bool(r["boundary_crossed"])),
             n=n, unit="1 = crossed, 0 = not crossed", method=rule),
        dict(measure="toxicity_rate_posterior_mean_prop", group="evaluable", estimate=r["posterior_mean_prop"],
             ci95_lower=r["cri95_lower"], ci95_upper=r["cri95_upper"], n=n, unit="proportion",
             method=f"posterior mean; lower and upper hold the equal-tailed 95% credible interval, not a CI; {rule}"),
        dict(measure="toxicity_subjects", group="evaluable", estimate=int(r["n_toxicity"]), n=n,
             unit="subjects", method=f"count; {rule}"),
    ])
