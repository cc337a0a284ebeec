"""Figures of the longitudinal endpoints (CRP, PaO2/FiO2, Liao, chest CT).

Numbers come from the endpoint modules; this module only draws (the display tables and notes
are in :mod:`msc_analysis.report.longitudinal_tables`). Figures stay readable at any number of
subjects: the spaghetti plot draws at most ``max_lines`` subject lines (a seeded random sample
when there are more, said in :func:`~msc_analysis.report.longitudinal_tables.spaghetti_note`)
while the median and interquartile band use every subject; bar charts show shares of all
treated subjects.

Nothing missing is drawn as a number: a figure with nothing to draw says so in words.
The cumulative incidence of the Liao page is drawn by the one competing-risk figure,
:func:`msc_analysis.report.survival_plots.cumulative_incidence_figure`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..stats.estimability import NO_SUBJECT_INFUSED
from ..stats.paired import MEASURED
from .figures import not_estimable_figure, plain_text

__all__ = ["LEVEL_COLOURS", "STATUS_COLOURS", "spaghetti_figure", "stacked_share_figure", "level_bars_figure",
           "impression_bars_figure"]

#: Colours of the Liao levels and of the reasons a value is missing.
LEVEL_COLOURS = {"green": "#2e9e44", "yellow": "#f2d21b", "orange": "#f08a1c", "red": "#d7261e"}
STATUS_COLOURS = {"died": "#222222", "discharged": "#8fb8de", "follow-up not reached": "#d8cfa8",
                  "no value": "#e3e3e3"}
_IMPRESSION_COLOURS = {"improved": "#2e9e44", "stable": "#8c8c8c", "worsened": "#d7261e",
                       "impression not recorded": "#cdbfe6", "not assessed (no scan)": "#e3e3e3"}


def _sample(ids: np.ndarray, max_lines: int, seed: int) -> np.ndarray:
    if len(ids) <= max_lines:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, size=max_lines, replace=False))


def spaghetti_figure(by_visit: pd.DataFrame, value_column: str, *, ylabel: str, max_lines: int = 60,
                     seed: int = 2020, log_y: bool = False) -> plt.Figure:
    """Each subject's values by visit, the median line and interquartile band, deaths marked.

    Parameters
    ----------
    by_visit : DataFrame
        ``subject_id``, ``visit``, ``target_day``, ``status``, ``death_day`` and
        ``value_column`` (a longitudinal frame of an endpoint module).
    value_column, ylabel : str
        The value plotted and the y-axis label (with its unit).
    max_lines : int
        At most this many subject lines (a seeded random sample when there are more).
    seed : int
        Seed of that sample.
    log_y : bool
        Logarithmic y axis (values must be positive).

    Visits are equally spaced on the x axis (labelled with their day and the number measured);
    subjects who died are drawn in black with a cross on their last value before death.
    """
    visits = by_visit[["visit", "target_day"]].drop_duplicates().sort_values("target_day")
    position = dict(zip(visits["visit"], range(len(visits))))
    measured = by_visit[by_visit["status"] == MEASURED].assign(x=lambda f: f["visit"].map(position))
    if measured[value_column].notna().sum() == 0:
        return not_estimable_figure(NO_SUBJECT_INFUSED if by_visit.empty else
                                    "no value at baseline or at any visit", "No value to draw")
    fig, ax = plt.subplots(figsize=(9, 4.8))
    shown = _sample(by_visit["subject_id"].drop_duplicates().to_numpy(), max_lines, seed)
    died = set(by_visit.loc[by_visit["death_day"].notna(), "subject_id"])
    lines = measured[measured["subject_id"].isin(set(shown))].sort_values(["subject_id", "x"])
    for sid, g in lines.groupby("subject_id", sort=False):
        dead = sid in died
        ax.plot(g["x"], g[value_column], color="#222222" if dead else "#7a9cc6",
                lw=0.9 if dead else 0.7, alpha=0.8 if dead else 0.45, zorder=2)
        if dead:
            ax.plot(g["x"].iloc[-1], g[value_column].iloc[-1], "x", color="#222222", ms=7, mew=1.6, zorder=4)
    stats = measured.groupby("x")[value_column].quantile([0.25, 0.5, 0.75]).unstack()
    if len(stats):
        ax.fill_between(stats.index, stats[0.25], stats[0.75], color="#f08a1c", alpha=0.18, zorder=1,
                        label="interquartile range (all subjects)")
        ax.plot(stats.index, stats[0.5], color="#c1440e", lw=2.6, marker="o", zorder=5,
                label="median (all subjects)")
    ax.plot([], [], color="#7a9cc6", lw=1, label="one subject")
    ax.plot([], [], color="#222222", lw=1, marker="x", label="subject who died (x: last value)")
    n = measured.groupby("visit").size().reindex(visits["visit"], fill_value=0)
    ax.set_xticks(range(len(visits)))
    ax.set_xticklabels([f"{v}\nn = {k}" for v, k in zip(visits["visit"], n)], fontsize=8.5)
    ax.set_xlim(-0.3, len(visits) - 0.7)
    if log_y and (measured[value_column] > 0).all() and len(measured):
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#e5e5e5")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def stacked_share_figure(counts: pd.DataFrame, category_column: str, colours: dict,
                         *, ylabel: str = "Share of treated subjects") -> plt.Figure:
    """Stacked bars: share of subjects in each category at each visit, n on each bar.

    Parameters
    ----------
    counts : DataFrame
        ``visit``, ``target_day``, ``category_column`` (categorical: its order is the stacking
        order, bottom first), ``n_subjects``.
    colours : dict
        Category -> colour (missing ones are grey).
    """
    if counts.empty or counts["n_subjects"].sum() == 0:
        return not_estimable_figure(NO_SUBJECT_INFUSED, "No subject to draw")
    wide = counts.pivot_table(index=["target_day", "visit"], columns=category_column, values="n_subjects",
                              aggfunc="sum", observed=False).fillna(0)
    total = wide.sum(axis=1).to_numpy()
    share = wide.div(np.where(total > 0, total, 1), axis=0)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for category in wide.columns:
        ax.bar(x, share[category], bottom=bottom, color=colours.get(category, "#bbbbbb"),
               edgecolor="white", lw=0.6, label=plain_text(category))
        for xi, s, b, k in zip(x, share[category], bottom, wide[category]):
            if s >= 0.06:
                ax.text(xi, b + s / 2, f"{int(k)}", ha="center", va="center", fontsize=7.5,
                        color="white" if category in ("red", "died", "worsened", "improved") else "#222")
        bottom += share[category].to_numpy()
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v}\nN = {int(t)}" for (_, v), t in zip(wide.index, total)], fontsize=8.5)
    ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False, reverse=True)
    fig.tight_layout()
    return fig


def level_bars_figure(distribution: pd.DataFrame) -> plt.Figure:
    """Liao level of every treated subject at every visit; deaths, discharges and missing
    assessments as their own categories (``liao_improvement.level_distribution``)."""
    return stacked_share_figure(distribution, "category", {**LEVEL_COLOURS, **STATUS_COLOURS})


def impression_bars_figure(counts: pd.DataFrame) -> plt.Figure:
    """Radiologist's impression of every treated subject at every CT visit
    (``radiology.impression_counts``)."""
    return stacked_share_figure(counts, "impression_category", {**_IMPRESSION_COLOURS, **STATUS_COLOURS})
