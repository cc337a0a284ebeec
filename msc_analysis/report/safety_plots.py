"""Figures of the safety page (08): AE onset by CTCAE grade and the monitoring boundary.

Numbers come from :mod:`msc_analysis.endpoints.adverse_events` and
:mod:`~msc_analysis.endpoints.safety_monitoring`; this module only draws. The tables of the page
are in :mod:`.safety_tables`, the figures and tables of the dose page in :mod:`.dose_plots` and
:mod:`.dose_tables`. Bars are drawn with seaborn in the house theme
(:func:`~msc_analysis.report.figures.use_house_theme`); the grade colours stay the same on every
figure. :func:`show` is the former table display, kept for callers not yet on the table layer.
"""
from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .figures import plain_text

__all__ = ["GRADE_COLOURS", "ae_onset_figure", "monitoring_boundary_figure", "monitoring_history_figure", "no_data"]

# Figures leave the bottom 10 % free for the footnote written by figures.add_footnote.
ROOM_FOR_FOOTNOTE = (0, 0.1, 1, 1)

#: Colour of each CTCAE grade (light = mild, dark = fatal).
GRADE_COLOURS = {1: "#fdd49e", 2: "#fc8d59", 3: "#d7301f", 4: "#7f0000", 5: "#252525"}

def no_data(ax, text: str) -> None:
    """Write ``text`` in the middle of empty axes (nothing to draw)."""
    ax.set_axis_off()
    ax.figure.set_size_inches(ax.figure.get_figwidth(), 2.6)
    ax.text(0.5, 0.5, plain_text(text), ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#444",
            wrap=True, bbox=dict(boxstyle="round,pad=0.8", facecolor="#f4f6fa", edgecolor="#bbbbbb"))


def ae_onset_figure(counts: pd.DataFrame, ctcae_version: str, title: str = "") -> plt.Figure:
    """Stacked bars (seaborn): AEs by day of onset since the infusion, coloured by CTCAE grade.

    Parameters
    ----------
    counts : DataFrame
        ``days_since_infusion``, ``grade``, ``n_events`` (from
        :func:`~msc_analysis.endpoints.adverse_events.onset_counts`); counts, so the figure
        stays readable for any number of subjects.
    ctcae_version : str
        For the legend title.
    title : str, optional
        The figure's numbered title (``page.figure_title(...)``), drawn at the top left.
    """
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.set_title(plain_text(title), loc="left")
    if counts.empty:
        no_data(ax, "No adverse events recorded for treated subjects in this cut.")
        return fig
    data = counts.assign(grade=counts["grade"].astype(int), days_since_infusion=counts["days_since_infusion"].astype(int))
    grades = sorted(data["grade"].unique())
    sns.histplot(data=data, x="days_since_infusion", hue="grade", weights="n_events", discrete=True,
                 multiple="stack", hue_order=grades, palette={g: GRADE_COLOURS[g] for g in grades},
                 shrink=0.85, alpha=1, linewidth=0.3, edgecolor="white", ax=ax, legend=True)
    first = min(int(data["days_since_infusion"].min()), 0)
    top = float(data.groupby("days_since_infusion")["n_events"].sum().max())
    if first < 0:
        ax.axvspan(first - 0.5, -0.5, color="#eeeeee", zorder=0)
        ax.text((first - 1) / 2, top * 1.14, "before infusion", ha="center", va="top",
                rotation=90, fontsize=8, color="#555")
    ax.axvline(0, color="#3b4a6b", ls="--", lw=1)
    ax.text(0, top * 1.02, " day 0: infusion", ha="left", va="bottom", fontsize=8, color="#3b4a6b")
    ax.set_xlim(first - 1, int(data["days_since_infusion"].max()) + 1)
    ax.set_ylim(0, top * 1.15)
    ax.set_xlabel("Day of AE onset since the infusion (day 0 = infusion day)")
    ax.set_ylabel("Adverse events (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    legend = ax.get_legend()
    if legend is not None:
        handles = legend.legend_handles
        labels = [f"Grade {g}" for g in grades]
        legend.remove()
        ax.legend(handles, labels, title=f"CTCAE v{ctcae_version} grade", ncols=5, loc="upper center",
                  bbox_to_anchor=(0.5, -0.2), frameon=False, fontsize=8, title_fontsize=8)
    fig.tight_layout(rect=ROOM_FOR_FOOTNOTE)
    return fig


def monitoring_boundary_figure(boundary: pd.DataFrame, posterior: pd.DataFrame, title: str = "") -> plt.Figure:
    """The monitoring boundary (toxicities that cross it, by evaluable subjects) and where the trial is.

    Parameters
    ----------
    boundary : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.monitoring_boundary`.
    posterior : DataFrame
        Output of :func:`~msc_analysis.endpoints.safety_monitoring.posterior_toxicity`.
    title : str, optional
        The figure's numbered title (``page.figure_title(...)``), drawn at the top left.
    """
    r = posterior.iloc[0]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.set_title(plain_text(title), loc="left")
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
    fig.tight_layout(rect=ROOM_FOR_FOOTNOTE)
    return fig


def monitoring_history_figure(history: pd.DataFrame, boundary_prob: float, mortality_boundary_prob: float,
                              title: str = "") -> plt.Figure:
    """Posterior probability of each rule at every look, against its boundary.

    Parameters
    ----------
    history : DataFrame
        Output of :func:`~msc_analysis.endpoints.monitoring_history.monitoring_history`; looks
        that could not be read are not drawn.
    boundary_prob, mortality_boundary_prob : float
        The boundaries of the toxicity rule and of the mortality watch.
    title : str, optional
        The figure's numbered title, drawn at the top left.
    """
    h = history[history["status"] == "read"]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.set_title(plain_text(title), loc="left")
    if h.empty:
        no_data(ax, "No look could be read.")
        return fig
    x = np.arange(len(h))
    for col, crossed, bound, colour, label in (
            ("prob_exceeds_threshold", "boundary_crossed", boundary_prob, "#b30000", "toxicity rule"),
            ("mortality_prob_exceeds_reference", "mortality_boundary_crossed", mortality_boundary_prob, "#1f4e99",
             "mortality watch")):
        y = h[col].to_numpy(float)
        ax.plot(x, y, "-o", color=colour, label=f"{label}: Pr at each look")
        ax.axhline(bound, color=colour, ls="--", lw=1, label=f"{label} boundary ({bound:g})")
        hit = h[crossed].fillna(False).astype(bool).to_numpy()
        if hit.any():
            first = int(np.argmax(hit))
            ax.annotate(f"first crossed: {h['cut_id'].iloc[first]}", (x[first], y[first]),
                        xytext=(8, 8), textcoords="offset points", fontsize=8, color=colour)
    ax.set_xticks(x, [f"{c}\n(n = {int(n)})" for c, n in zip(h["cut_id"], h["n_evaluable"])], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("Look (data cut; n = evaluable for the toxicity rule)")
    ax.set_ylabel("Posterior probability")
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout(rect=ROOM_FOR_FOOTNOTE)
    return fig
