"""Tables of the safety page (08): AE summaries and listings, deaths, the monitoring rule.

Each function takes the tidy frames of :mod:`msc_analysis.endpoints.adverse_events` and
:mod:`~msc_analysis.endpoints.safety_monitoring` and returns the cells of one table as text,
written with :mod:`.formats` (counts ``19 (61.3%)``, percentages with one decimal, days as whole
numbers, a dash where a value does not apply). The page shows them with
:meth:`~msc_analysis.report.page.Page.table`, which numbers, titles and footnotes them.
Listings show the pseudonymous ``subject_id`` and days since the infusion, never calendar dates.
"""
from __future__ import annotations

import html

import pandas as pd

from ..definitions import safety_definitions
from . import formats
from .rule_texts import relatedness_rule, toxicity_rule

__all__ = ["rules_table", "format_subject_summary", "format_listing", "format_deaths",
           "format_posterior", "format_boundary", "monitoring_banner", "Banner", "summary_footnotes",
           "yes_no"]

_INDENT = "\u2003"  # an em space: kept by HTML, unlike leading spaces

_SUMMARY_LABELS = {
    "any_teae": "Any treatment-emergent AE",
    "worst_grade_1": _INDENT + "worst grade 1 (mild)", "worst_grade_2": _INDENT + "worst grade 2 (moderate)",
    "worst_grade_3": _INDENT + "worst grade 3 (severe)", "worst_grade_4": _INDENT + "worst grade 4 (life-threatening)",
    "worst_grade_5": _INDENT + "worst grade 5 (death)", "grade_3_plus": "Grade 3 or higher",
    "serious_ae": "Serious AE (SAE)", "related_ae": "Related to the MSC infusion ({related})",
    "related_ae_not_assessed": _INDENT + "of which relationship not assessed ({missing})",
    "infusion_reaction": "Infusion reaction (investigator: infusion-related; onset day {first} to {last})",
    "fatal_ae": "Fatal AE (grade 5)",
}


def yes_no(value) -> str:
    """``yes`` / ``no`` for a flag; a dash when it is missing.

    >>> yes_no(True), yes_no(0), yes_no(None)
    ('yes', 'no', '–')
    """
    return formats.DASH if formats.is_missing(value) else ("yes" if bool(value) else "no")


def _ci(lower, upper) -> str:
    """An interval of proportions as ``58.2% to 88.5%`` (NE when not estimable)."""
    if formats.is_missing(lower) and formats.is_missing(upper):
        return formats.NE
    return f"{formats.pct(lower)} to {formats.pct(upper)}"


def _day(value, missing: str = formats.DASH) -> str:
    return missing if formats.is_missing(value) else formats.days(value)


def _resolved_day(value) -> str:
    return _day(value, "ongoing or not recorded")


def rules_table(rules: dict | None = None, target_cells_per_kg: float | None = None) -> pd.DataFrame:
    """The rules in force (``definitions/safety.yaml``), as a two-column table for the page.

    >>> rules_table().iloc[0].tolist()
    ['CTCAE version', 'v5.0']
    """
    r = rules or safety_definitions()
    a, m, d = r["adverse_events"], r["monitoring"], r["dose"]
    rows = [
        ("CTCAE version", f"v{r['ctcae_version']}"),
        ("Treatment-emergent AE", "onset on or after the infusion day (day 0)"),
        ("Related to MSC", "investigator: " + relatedness_rule(r)),
        ("Infusion reaction (within 24 h)",
         f"infusion-related = yes and onset on day {a['infusion_reaction_first_day']}"
         f" to day {a['infusion_reaction_last_day']} (onset is a date only)"),
        ("Serious treatment-related toxicity", toxicity_rule(r)),
        ("Evaluable for monitoring", f"toxicity, or followed to day {m['window_last_day']}"
         + (", or died before it" if m["evaluable_if_died"] else "")),
        ("Monitoring prior", f"Beta({m['prior_a']:g}, {m['prior_b']:g})"),
        ("Unacceptable toxicity rate", f"{100 * m['threshold_prop']:g}%"),
        ("Boundary crossed when", f"Pr(rate > {100 * m['threshold_prop']:g}%) >= {m['boundary_posterior_prob']:g}"),
        ("Dose tolerance", f"+/-{d['tolerance_pct']:g}% of the target"
         + (f" ({target_cells_per_kg / 1e6:g} x 10^6 cells/kg)" if target_cells_per_kg else "")),
    ]
    if "mortality_watch" in r:
        w = r["mortality_watch"]
        rows.append(("Mortality watch (beside the toxicity rule)",
                     f"Pr(all-cause mortality by day {w['day']} > {100 * w['reference_rate_prop']:g}%) >= "
                     f"{w['boundary_posterior_prob']:g}; prior Beta({w['prior_a']:g}, {w['prior_b']:g}); reference "
                     "set by the board (shipped default: see the mortality-watch table)"))
    if "infusion_window_days" in d:
        rows.append(("Enrolled, not yet infused", f"'may still be infused' up to {d['infusion_window_days']} days "
                                                  "after enrollment; 'not infused' after that"))
    return pd.DataFrame(rows, columns=["Rule", "In force"])


def summary_footnotes(rules: dict | None = None) -> list[str]:
    """Footnotes of the AE summary: the worst-grade rows, the relatedness rule, the CI method."""
    r = rules or safety_definitions()
    return [f"Treatment-emergent AEs (onset on or after day 0), graded by CTCAE v{r['ctcae_version']}. Each subject "
            "counts once per row; the five worst-grade rows split the subjects with any AE and add up to the first "
            "row. Events count AEs (a subject may have several); a dash where a row counts subjects only.",
            f"Related to MSC: investigator's assessment {relatedness_rule(r)}.",
            "Percentages of the treated population; 95% CI: exact (Clopper-Pearson) confidence interval."]


def format_subject_summary(summary: pd.DataFrame, rules: dict | None = None) -> pd.DataFrame:
    """Subjects with >= 1 treatment-emergent AE per category: n (%), exact 95% CI, events.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~msc_analysis.endpoints.adverse_events.subjects_with_adverse_events`.

    Returns
    -------
    DataFrame
        ``Subjects with at least one``, ``n (% of treated)``, ``Exact 95% CI``, ``Events``.
    """
    a = (rules or safety_definitions())["adverse_events"]
    related = relatedness_rule(rules)
    missing = "counted as related" if a["missing_relatedness_counts_as_related"] else "not counted as related"
    labels = {k: v.format(related=related, missing=missing, first=a["infusion_reaction_first_day"],
                          last=a["infusion_reaction_last_day"]) for k, v in _SUMMARY_LABELS.items()}
    return pd.DataFrame({
        "Subjects with at least one": summary["category"].map(labels).to_numpy(),
        "n (% of treated)": [formats.count_pct(k, n) for k, n in zip(summary["n_subjects"], summary["n_treated"])],
        "Exact 95% CI": [_ci(lo, hi) for lo, hi in zip(summary["ci95_lower"], summary["ci95_upper"])],
        "Events": [formats.count(e) for e in summary["n_events"]],
    })


def format_listing(listing: pd.DataFrame) -> pd.DataFrame:
    """AE listing: subject, term, period, onset and resolution day, grade, seriousness, relationship.

    Parameters
    ----------
    listing : DataFrame
        The columns of :data:`~msc_analysis.endpoints.adverse_events.LISTING_COLUMNS`.
    """
    related = listing["related"].astype("string").fillna("not assessed")
    return pd.DataFrame({
        "Subject": listing["subject_id"].astype(str).to_numpy(),
        "AE term": listing["term"].astype(str).to_numpy(),
        "Period": listing["period"].astype(str).to_numpy(),
        "Onset day": formats.each(listing["days_since_infusion"], _day),
        "Resolved day": [formats.DASH if no_onset else day for day, no_onset in zip(
            formats.each(listing["resolved_days_since_infusion"], _resolved_day),
            listing["days_since_infusion"].isna().to_numpy())],
        "Grade": formats.each(listing["grade"], formats.count),
        "Serious": formats.each(listing["serious"], yes_no),
        "Relationship (investigator)": related.astype(str).to_numpy(),
        "Counted as related": formats.each(listing["related_to_msc"], yes_no),
        "Infusion-related": formats.each(listing["infusion_related"], yes_no),
    })


def format_deaths(deaths: pd.DataFrame) -> pd.DataFrame:
    """Deaths of treated subjects with the grade-5 AE cross-check (the grade-5 terms give the cause).

    Parameters
    ----------
    deaths : DataFrame
        Output of :func:`~msc_analysis.endpoints.adverse_events.death_listing`.
    """
    terms = deaths["grade_5_terms"].astype(str)
    return pd.DataFrame({
        "Subject": deaths["subject_id"].astype(str).to_numpy(),
        "Day of death": [_day(v, "no death recorded") for v in deaths["days_since_infusion"]],
        "Cause of death (site)": [c if c else formats.DASH for c in deaths["death_cause"].astype(str)]
        if "death_cause" in deaths else formats.DASH,
        "Grade-5 AE(s)": terms.replace("", formats.DASH).to_numpy(),
        "Grade-5 AE onset day": [_day(v) for v in deaths["grade_5_onset_days_since_infusion"]],
        "Grade-5 AE related": [yes_no(r) if t else formats.DASH for r, t in zip(deaths["grade_5_related"], terms)],
        "Cross-check": deaths["cross_check"].astype(str).to_numpy(),
    })


def format_posterior(posterior: pd.DataFrame, evaluable: pd.DataFrame) -> pd.DataFrame:
    """Monitoring numbers as a two-column table (the interval is a 95% credible interval).

    Parameters
    ----------
    posterior : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.posterior_toxicity` (one row).
    evaluable : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.evaluable_subjects`.
    """
    r = posterior.iloc[0]
    reasons = evaluable["evaluable_reason"].value_counts(sort=False)
    rows = [("Treated subjects", formats.count(len(evaluable)))]
    rows += [(f"{_INDENT}{reason}", formats.count(n)) for reason, n in reasons.items()]
    rows += [("Evaluable subjects (treated, less those not yet evaluable or lost to follow-up)",
              formats.count(r["n_evaluable"])),
             ("Evaluable subjects with a serious treatment-related toxicity",
              formats.count_pct(r["n_toxicity"], r["n_evaluable"], of=True)),
             ("Posterior distribution of the toxicity rate", f"Beta({r['posterior_a']:g}, {r['posterior_b']:g})"),
             ("Posterior mean toxicity rate (95% credible interval)",
              formats.pct_interval(r["posterior_mean_prop"], r["cri95_lower"], r["cri95_upper"])),
             (f"Posterior probability that the true rate exceeds {100 * r['threshold_prop']:g}%",
              formats.number(r["prob_exceeds_threshold"], 3)),
             ("Monitoring boundary", f"crossed when that probability is {r['boundary_prob']:g} or more: "
                                     + ("CROSSED" if r["boundary_crossed"] else "not crossed"))]
    return pd.DataFrame(rows, columns=["Quantity", "Value"])


def format_boundary(boundary: pd.DataFrame, posterior: pd.DataFrame, looks_ahead: int = 10) -> pd.DataFrame:
    """The boundary at the current number of evaluable subjects and the next ``looks_ahead``.

    Parameters
    ----------
    boundary : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.monitoring_boundary`.
    posterior : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.posterior_toxicity`.
    """
    n = int(posterior["n_evaluable"].iloc[0])
    b = boundary[(boundary["n_evaluable"] >= max(n, 1)) & (boundary["n_evaluable"] <= n + looks_ahead)]
    return pd.DataFrame({
        "Evaluable subjects": [formats.count(k) for k in b["n_evaluable"]],
        "Fewest subjects with a toxicity that cross the boundary": [
            "cannot cross" if formats.is_missing(k) else formats.count(k) for k in b["min_toxicity_to_cross"]],
        "Posterior probability at that count": [
            formats.DASH if formats.is_missing(p) else formats.number(p, 3) for p in b["prob_exceeds_threshold_at_min"]],
    })


class Banner(str):
    """The monitoring banner: HTML text that Jupyter shows as HTML (every word in it escaped)."""

    def _repr_html_(self) -> str:
        return str(self)


def monitoring_banner(posterior: pd.DataFrame) -> Banner:
    """A box stating plainly whether the monitoring boundary is crossed (HTML; all text escaped).

    >>> import pandas as pd
    >>> b = monitoring_banner(pd.DataFrame([dict(threshold_prop=0.2, prob_exceeds_threshold=0.901,
    ...     n_toxicity=2, n_evaluable=5, boundary_crossed=True, boundary_prob=0.9)]))
    >>> "MONITORING BOUNDARY CROSSED" in b and "2 of 5 evaluable" in b
    True
    """
    r = posterior.iloc[0]
    prob = (f"Pr(true rate of serious treatment-related toxicity > {100 * r['threshold_prop']:g}%) = "
            f"{formats.number(r['prob_exceeds_threshold'], 3)}")
    counts = f"{int(r['n_toxicity'])} of {int(r['n_evaluable'])} evaluable subjects had such a toxicity"
    if r["boundary_crossed"]:
        colour, head = "#b30000", "MONITORING BOUNDARY CROSSED: refer to the safety board"
    else:
        colour, head = "#2f6b3a", "Monitoring boundary not crossed"
    tail = f"boundary: probability >= {r['boundary_prob']:g}"
    if int(r["n_evaluable"]) == 0:
        tail += "; no evaluable subject yet, so the probability is the prior's"
    e = html.escape
    return Banner(f"<div class='msc-banner' style='border:3px solid {colour};padding:10px 14px;margin:8px 0;"
                  f"font-size:15px'><b style='color:{colour};font-size:17px'>{e(head)}</b><br>"
                  f"{e(prob)} ({e(tail)}).<br>{e(counts)}.</div>")
