"""Safety and feasibility pages: display tables, listings, figures and the monitoring banner.

Numbers come from :mod:`msc_analysis.endpoints.adverse_events`,
:mod:`~msc_analysis.endpoints.dose_feasibility` and
:mod:`~msc_analysis.endpoints.safety_monitoring`; this module only formats and draws.
Listings show the pseudonymous ``subject_id`` and days since the infusion, never calendar dates.
"""
from __future__ import annotations

import html

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..definitions import safety_definitions
from .rule_texts import relatedness_rule, toxicity_rule

__all__ = ["GRADE_COLOURS", "rules_table", "show", "format_subject_summary", "format_term_table",
           "format_listing", "format_deaths", "format_feasibility", "format_posterior", "format_boundary",
           "monitoring_banner", "format_dose_listing", "format_not_infused", "ae_onset_figure", "dose_figure",
           "delay_figure", "monitoring_boundary_figure"]

# Figures leave the bottom 10 % free for the footnote written by figures.add_footnote.
_ROOM_FOR_FOOTNOTE = (0, 0.1, 1, 1)
_INDENT = "\u2003"  # an em space: kept by HTML, unlike leading spaces

#: Colour of each CTCAE grade (light = mild, dark = fatal).
GRADE_COLOURS = {1: "#fdd49e", 2: "#fc8d59", 3: "#d7301f", 4: "#7f0000", 5: "#252525"}

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


def _pct(k, n) -> str:
    return f"{k} ({100 * k / n:.1f}%)" if n else f"{k} (-)"


def _ci(lo, hi) -> str:
    return "-" if pd.isna(lo) else f"{100 * lo:.1f}% to {100 * hi:.1f}%"


def _yes(x) -> str:
    return "yes" if bool(x) else "no"


def rules_table(rules: dict | None = None, target_cells_per_kg: float | None = None) -> pd.DataFrame:
    """The rules in force (``definitions/safety.yaml``), as a two-column table for the page."""
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
        ("Monitoring prior", f"Beta({m['prior_a']}, {m['prior_b']})"),
        ("Unacceptable toxicity rate", f"{100 * m['threshold_prop']:g}%"),
        ("Boundary crossed when", f"Pr(rate > {100 * m['threshold_prop']:g}%) >= {m['boundary_posterior_prob']:g}"),
        ("Dose tolerance", f"+/-{d['tolerance_pct']:g}% of the target"
         + (f" ({target_cells_per_kg:g} cells/kg)" if target_cells_per_kg else "")),
    ]
    return pd.DataFrame(rows, columns=["Rule", "In force"])


#: Most rows a table shows on a page; longer tables (large cuts) are cut with a caption that
#: says so, so that a page stays small enough to open and share.
MAX_PAGE_ROWS = 300


def show(frame: pd.DataFrame, empty_text: str = "None in this cut.", max_rows: int = MAX_PAGE_ROWS):
    """A table for the page: no index, text left-aligned and not broken, every text escaped.

    Text from a cut is data, never markup. The rules:

    - every cell that holds text is HTML-escaped (``<``, ``>``, ``&``, ``"`` and ``'``
      become entities), so ``<script>`` or ``<img onerror=...>`` in an AE term reads as
      plain text;
    - every column header and index label is escaped the same way;
    - the caption (``empty_text`` or the "showing the first rows" note) is escaped;
    - numbers are shown as they are; CSS comes only from this function, never from data.

    ``empty_text`` becomes the caption when ``frame`` has no rows. Beyond ``max_rows`` rows
    only the first ``max_rows`` are shown and the caption gives the full count.

    Examples
    --------
    >>> "&lt;b&gt;" in show(pd.DataFrame({"AE term": ["<b>"]})).to_html()
    True
    """
    total = len(frame)
    frame = frame.head(max_rows)
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    styler = (frame.style.hide(axis="index")
              .format(escape="html")
              .format_index(escape="html", axis="index")
              .format_index(escape="html", axis="columns")
              .set_table_styles([{"selector": "th", "props": [("text-align", "left")]},
                                 {"selector": "caption", "props": [("text-align", "left"), ("font-style", "italic"),
                                                                   ("caption-side", "bottom")]}]))
    if text:
        styler = styler.set_properties(subset=text, **{"text-align": "left"})
    nowrap = [c for c in ("Subject", "Period", "Onset day", "Resolved day") if c in frame.columns]
    if nowrap:
        styler = styler.set_properties(subset=nowrap, **{"white-space": "nowrap"})
    if frame.empty:
        styler = styler.set_caption(html.escape(empty_text))
    elif total > max_rows:
        styler = styler.set_caption(f"Showing the first {max_rows} of {total} rows; the rest are "
                                    "left off to keep the page small (run the notebook to see all).")
    return styler


def format_subject_summary(summary: pd.DataFrame, rules: dict | None = None) -> pd.DataFrame:
    """Subjects with >= 1 treatment-emergent AE per category: n (%), exact 95% CI, events."""
    a = (rules or safety_definitions())["adverse_events"]
    related = relatedness_rule(rules)
    missing = "counted as related" if a["missing_relatedness_counts_as_related"] else "not counted as related"
    labels = {k: v.format(related=related, missing=missing, first=a["infusion_reaction_first_day"],
                          last=a["infusion_reaction_last_day"]) for k, v in _SUMMARY_LABELS.items()}
    return pd.DataFrame({
        "Subjects with at least one": summary["category"].map(labels),
        "n (% of treated)": [_pct(k, n) for k, n in zip(summary["n_subjects"], summary["n_treated"])],
        "95% CI": [_ci(lo, hi) for lo, hi in zip(summary["ci95_lower"], summary["ci95_upper"])],
        "Events": summary["n_events"].astype("string").fillna(""),
    })


def format_term_table(by_term: pd.DataFrame) -> pd.DataFrame:
    """AE terms with subjects by worst grade for the term, any grade n (%), and events."""
    out = pd.DataFrame({"AE term": by_term["term"]})
    for g in range(1, 6):
        out[f"Grade {g}"] = by_term[f"n_subjects_grade_{g}"].astype(int)
    out["Any grade, n (%)"] = [_pct(int(k), int(n))
                               for k, n in zip(by_term["n_subjects_any_grade"], by_term["n_treated"])]
    out["Grade >= 3"] = by_term["n_subjects_grade_3_plus"].astype(int)
    out["Events"] = by_term["n_events"].astype(int)
    return out


def format_listing(listing: pd.DataFrame) -> pd.DataFrame:
    """AE listing for the page: subject, term, onset and resolution day, grade, seriousness, relationship."""
    related = listing["related"].astype("string").fillna("not assessed")
    return pd.DataFrame({
        "Subject": listing["subject_id"],
        "AE term": listing["term"],
        "Period": listing["period"].astype(str),
        "Onset day": listing["days_since_infusion"].astype("string").fillna("-"),
        "Resolved day": listing["resolved_days_since_infusion"].astype("string").fillna("ongoing / unknown"),
        "Grade": listing["grade"].astype(int),
        "Serious": listing["serious"].map(_yes),
        "Relationship (investigator)": related,
        "Counted as related": listing["related_to_msc"].map(_yes),
        "Infusion-related": listing["infusion_related"].map(_yes),
    })


def format_deaths(deaths: pd.DataFrame) -> pd.DataFrame:
    """Deaths of treated subjects with the grade-5 AE cross-check."""
    return pd.DataFrame({
        "Subject": deaths["subject_id"],
        "Day of death": deaths["days_since_infusion"].astype("string").fillna("no death recorded"),
        "Grade-5 AE(s)": deaths["grade_5_terms"].replace("", "-"),
        "Grade-5 AE onset day": deaths["grade_5_onset_days_since_infusion"].astype("string").fillna("-"),
        "Grade-5 AE related": [_yes(r) if t else "-"
                               for r, t in zip(deaths["grade_5_related"], deaths["grade_5_terms"])],
        "Cross-check": deaths["cross_check"],
    })


def format_feasibility(proportions: pd.DataFrame, delay: pd.DataFrame, dose: pd.DataFrame) -> pd.DataFrame:
    """Feasibility table: infused, dose within tolerance, delivered dose, days enrollment to infusion."""
    p = proportions.set_index("measure")
    s, dl = dose.iloc[0], delay.iloc[0]
    rows = [("Enrolled subjects infused", _pct(int(p.loc["infused", "successes"]), int(p.loc["infused", "n"])),
             _ci(p.loc["infused", "ci95_lower"], p.loc["infused", "ci95_upper"])),
            ("Infusions within the dose tolerance",
             _pct(int(p.loc["within_tolerance", "successes"]), int(p.loc["within_tolerance", "n"])),
             _ci(p.loc["within_tolerance", "ci95_lower"], p.loc["within_tolerance", "ci95_upper"]))]
    if s["n_infused"]:
        rows.append(("Dose delivered, x10^6 cells/kg: median [Q1, Q3] (min to max)",
                     f"{s['dose_cells_per_kg_median'] / 1e6:.3f} [{s['dose_cells_per_kg_q1'] / 1e6:.3f}, "
                     f"{s['dose_cells_per_kg_q3'] / 1e6:.3f}] ({s['dose_cells_per_kg_min'] / 1e6:.3f} to "
                     f"{s['dose_cells_per_kg_max'] / 1e6:.3f})", f"n = {int(s['n_infused'])}"))
    else:
        rows.append(("Dose delivered, x10^6 cells/kg", "no infusion yet", "-"))
    stem = "enrollment_to_infusion_days"
    if dl["computable"]:
        rows.append(("Days from enrollment to infusion: median [Q1, Q3] (min to max)",
                     f"{dl[stem + '_median']:g} [{dl[stem + '_q1']:g}, {dl[stem + '_q3']:g}] "
                     f"({dl[stem + '_min']:g} to {dl[stem + '_max']:g})",
                     f"n = {int(dl['n_with_enrollment_date'])} of {int(dl['n_treated'])} with an enrollment date"))
    else:
        rows.append(("Days from enrollment to infusion",
                     "cannot be computed: enrollment dates are not recorded in this cut", "-"))
    return pd.DataFrame(rows, columns=["Measure", "Result", "95% CI / basis"])


def format_posterior(posterior: pd.DataFrame, evaluable: pd.DataFrame) -> pd.DataFrame:
    """Monitoring numbers as a two-column table."""
    r = posterior.iloc[0]
    reasons = evaluable["evaluable_reason"].value_counts(sort=False)
    rows = [("Treated subjects", str(len(evaluable)))]
    rows += [(f"{_INDENT}{reason}", str(int(n))) for reason, n in reasons.items()]
    rows += [("Evaluable subjects (treated, less those not yet evaluable)", str(int(r["n_evaluable"]))),
             ("Evaluable subjects with a serious treatment-related toxicity", str(int(r["n_toxicity"]))),
             ("Posterior distribution of the toxicity rate", f"Beta({r['posterior_a']:g}, {r['posterior_b']:g})"),
             ("Posterior mean (95% credible interval)",
              f"{100 * r['posterior_mean_prop']:.1f}% "
              f"({100 * r['cri95_lower']:.1f}% to {100 * r['cri95_upper']:.1f}%)"),
             (f"Pr(true rate > {100 * r['threshold_prop']:g}%)", f"{r['prob_exceeds_threshold']:.3f}"),
             ("Monitoring boundary", f"crossed when that probability is >= {r['boundary_prob']:g}: "
                                     + ("CROSSED" if r["boundary_crossed"] else "not crossed"))]
    return pd.DataFrame(rows, columns=["Quantity", "Value"])


def format_boundary(boundary: pd.DataFrame, posterior: pd.DataFrame, looks_ahead: int = 10) -> pd.DataFrame:
    """The boundary at the current number of evaluable subjects and the next ``looks_ahead``."""
    n = int(posterior["n_evaluable"].iloc[0])
    b = boundary[(boundary["n_evaluable"] >= max(n, 1)) & (boundary["n_evaluable"] <= n + looks_ahead)]
    return pd.DataFrame({
        "Evaluable subjects": b["n_evaluable"],
        "Toxicities that cross the boundary": b["min_toxicity_to_cross"].astype("string").fillna("cannot cross"),
        "Pr(rate > threshold) at that count": b["prob_exceeds_threshold_at_min"].map(
            lambda p: "-" if pd.isna(p) else f"{p:.3f}"),
    })


def monitoring_banner(posterior: pd.DataFrame) -> str:
    """An HTML box stating plainly whether the monitoring boundary is crossed."""
    r = posterior.iloc[0]
    prob = f"Pr(true rate of serious treatment-related toxicity &gt; {100 * r['threshold_prop']:g}%) = " \
           f"{r['prob_exceeds_threshold']:.3f}"
    counts = f"{int(r['n_toxicity'])} of {int(r['n_evaluable'])} evaluable subjects had such a toxicity"
    if r["boundary_crossed"]:
        colour, head = "#b30000", "MONITORING BOUNDARY CROSSED: refer to the safety board"
    else:
        colour, head = "#2f6b3a", "Monitoring boundary not crossed"
    tail = f"boundary: probability &gt;= {r['boundary_prob']:g}"
    if int(r["n_evaluable"]) == 0:
        tail += "; no evaluable subject yet, so the probability is the prior's"
    return (f"<div style='border:3px solid {colour};padding:10px 14px;margin:8px 0;font-size:15px'>"
            f"<b style='color:{colour};font-size:17px'>{html.escape(head)}</b><br>"
            f"{prob} ({tail}).<br>{counts}.</div>")


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#444", wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def ae_onset_figure(counts: pd.DataFrame, ctcae_version: str) -> plt.Figure:
    """Stacked bars: AEs by day of onset since the infusion, coloured by CTCAE grade.

    Parameters
    ----------
    counts : DataFrame
        ``days_since_infusion``, ``grade``, ``n_events`` (from
        :func:`~msc_analysis.endpoints.adverse_events.onset_counts`); counts, so the figure
        stays readable for any number of subjects.
    """
    fig, ax = plt.subplots(figsize=(10, 4.2))
    if counts.empty:
        _no_data(ax, "No adverse events recorded for treated subjects in this cut.")
        return fig
    wide = counts.pivot_table(index="days_since_infusion", columns="grade", values="n_events",
                              aggfunc="sum", fill_value=0)
    days = np.arange(min(wide.index.min(), 0), wide.index.max() + 1)
    wide = wide.reindex(index=days, columns=range(1, 6), fill_value=0)
    bottom = np.zeros(len(days))
    for g in range(1, 6):
        ax.bar(days, wide[g].to_numpy(), bottom=bottom, width=0.85, color=GRADE_COLOURS[g], label=f"Grade {g}")
        bottom += wide[g].to_numpy()
    if days.min() < 0:
        ax.axvspan(days.min() - 0.5, -0.5, color="#eeeeee", zorder=0)
        ax.text((days.min() - 1) / 2, bottom.max() * 1.14, "before infusion", ha="center", va="top",
                rotation=90, fontsize=8, color="#555")
    ax.axvline(0, color="#3b4a6b", ls="--", lw=1)
    ax.text(0, bottom.max() * 1.02, " day 0: infusion", ha="left", va="bottom", fontsize=8, color="#3b4a6b")
    ax.set_ylim(0, bottom.max() * 1.15)
    ax.set_xlabel("Day of AE onset since the infusion (day 0 = infusion day)")
    ax.set_ylabel("Adverse events (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(title=f"CTCAE v{ctcae_version} grade", ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.2),
              frameon=False, fontsize=8, title_fontsize=8)
    fig.tight_layout(rect=_ROOM_FOR_FOOTNOTE)
    return fig


def dose_figure(doses: pd.DataFrame) -> plt.Figure:
    """Histogram of the delivered dose with the target and the tolerance band.

    Parameters
    ----------
    doses : DataFrame
        Output of :func:`~msc_analysis.endpoints.dose_feasibility.dose_delivered`.
    """
    fig, ax = plt.subplots(figsize=(9, 4))
    if doses.empty:
        _no_data(ax, "No infusion in this cut.")
        return fig
    target = float(doses["target_cells_per_kg"].iloc[0]) / 1e6
    tol = float(doses["tolerance_pct"].iloc[0]) / 100
    dose = doses["dose_cells_per_kg"] / 1e6
    lo, hi = target * (1 - tol), target * (1 + tol)
    width = target * 0.025
    start = np.floor(min(dose.min(), lo - width) / width) * width
    stop = np.ceil(max(dose.max(), hi + width) / width) * width
    bins = np.arange(start, stop + width / 2, width)
    ax.axvspan(lo, hi, color="#d9ead3", zorder=0, label=f"tolerance +/-{100 * tol:g}%")
    inside = doses["within_tolerance"].astype(bool)
    ax.hist([dose[inside], dose[~inside]], bins=bins, stacked=True, color=["#5b7db1", "#d7301f"],
            label=["within tolerance", "outside tolerance"])
    ax.axvline(target, color="#222", lw=1.5, label=f"target {target:g} x10^6 cells/kg")
    ax.set_xlabel("Dose delivered (x10^6 cells/kg of dosing weight)")
    ax.set_ylabel("Infusions (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout(rect=_ROOM_FOR_FOOTNOTE)
    return fig


def delay_figure(delays: pd.DataFrame) -> plt.Figure:
    """Bars: treated subjects by days from enrollment to infusion (or a note if not computable)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    d = delays["enrollment_to_infusion_days"].dropna().astype(int)
    if d.empty:
        _no_data(ax, "Enrollment dates are not recorded in this cut:\n"
                     "days from enrollment to infusion cannot be computed.")
        return fig
    counts = d.value_counts().reindex(range(d.min(), d.max() + 1), fill_value=0)
    ax.bar(counts.index, counts.to_numpy(), color="#5b7db1", width=0.8)
    ax.set_xticks(counts.index if len(counts) <= 30 else ax.get_xticks())
    ax.set_xlabel("Days from enrollment to infusion (0 = same day)")
    ax.set_ylabel("Treated subjects (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout(rect=_ROOM_FOR_FOOTNOTE)
    return fig


def monitoring_boundary_figure(boundary: pd.DataFrame, posterior: pd.DataFrame) -> plt.Figure:
    """The monitoring boundary (toxicities that cross it, by evaluable subjects) and where the trial is.

    Parameters
    ----------
    boundary : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.monitoring_boundary`.
    posterior : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.posterior_toxicity`.
    """
    r = posterior.iloc[0]
    fig, ax = plt.subplots(figsize=(9, 4))
    n = boundary["n_evaluable"].to_numpy()
    b = boundary["min_toxicity_to_cross"].astype("float64").to_numpy()
    top = np.nanmax(np.append(b, r["n_toxicity"])) + 1
    ax.fill_between(n, np.where(np.isnan(b), top + 1, b), top + 1, step="mid", color="#f4cccc",
                    label="boundary crossed")
    ax.step(n, b, where="mid", color="#b30000", lw=1.5, label="fewest toxicities that cross")
    colour = "#b30000" if r["boundary_crossed"] else "#2f6b3a"
    ax.plot([r["n_evaluable"]], [r["n_toxicity"]], "o", ms=9, color=colour,
            label=f"this cut: {int(r['n_toxicity'])} of {int(r['n_evaluable'])}")
    ax.set_xlim(0.5, n.max() + 0.5)
    ax.set_ylim(-0.3, top)
    ax.set_xlabel("Evaluable subjects")
    ax.set_ylabel("Subjects with a serious\ntreatment-related toxicity")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout(rect=_ROOM_FOR_FOOTNOTE)
    return fig


def format_dose_listing(doses: pd.DataFrame) -> pd.DataFrame:
    """Per-infusion dose listing: subject, cells infused, dosing weight, dose, deviation."""
    return pd.DataFrame({
        "Subject": doses["subject_id"],
        "Cells infused (x10^6)": (doses["cells_infused"] / 1e6).map("{:.1f}".format),
        "Dosing weight (kg)": doses["weight_kg"].map("{:g}".format),
        "Dose (x10^6 cells/kg)": (doses["dose_cells_per_kg"] / 1e6).map("{:.3f}".format),
        "Deviation from target": doses["deviation_pct"].map("{:+.1f}%".format),
    })


def format_not_infused(listing: pd.DataFrame) -> pd.DataFrame:
    """Enrolled subjects not infused by the cutoff."""
    return pd.DataFrame({
        "Subject": listing["subject_id"],
        "Days from enrollment to the cutoff": listing["days_enrolled_before_cutoff"].astype("string")
        .fillna("enrollment date not recorded"),
        "Died": listing["died"].map(_yes),
    })
