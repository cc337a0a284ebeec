"""Figures of the Liao (NEWS-C) page drawn with seaborn in the house theme.

The score trajectories are the shared spaghetti figure of
:mod:`msc_analysis.report.longitudinal_plots`; the cumulative incidence is the one
competing-risk figure of :mod:`msc_analysis.report.survival_plots`. This module draws the level
(colour) of every treated subject at every visit, and gives a figure its numbered title.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..stats.estimability import NO_SUBJECT_INFUSED
from .figures import not_estimable_figure, plain_text

__all__ = ["LEVEL_BAR_COLOURS", "level_bars_figure", "with_title"]

#: Colour of each category of the level bars: the four levels, then why a subject has no level.
LEVEL_BAR_COLOURS = {"green": "#2e9e44", "yellow": "#f2d21b", "orange": "#f08a1c", "red": "#d7261e",
                     "died": "#222222", "discharged": "#8fb8de", "lost to follow-up": "#b39ddb",
                     "follow-up not reached": "#d8cfa8",
                     "no value": "#e3e3e3"}
_DARK = {"red", "died", "green"}


def level_bars_figure(distribution: pd.DataFrame) -> plt.Figure:
    """Stacked bars (seaborn): share of the treated subjects in each level, or why there is none, by visit.

    Parameters
    ----------
    distribution : DataFrame
        ``liao_improvement.level_distribution``: ``visit``, ``target_day``, ``category``
        (categorical: its order is the stacking order, bottom first), ``n_subjects``.

    Returns
    -------
    Figure
        One bar per visit (N under it), the count written in every segment of 6% or more;
        a figure saying why when there is no subject.
    """
    import seaborn as sns

    if distribution.empty or distribution["n_subjects"].sum() == 0:
        return not_estimable_figure(NO_SUBJECT_INFUSED, "No subject to draw")
    categories = [str(c) for c in (distribution["category"].cat.categories
                                   if hasattr(distribution["category"], "cat")
                                   else pd.unique(distribution["category"]))]
    visits = distribution[["target_day", "visit"]].drop_duplicates().sort_values("target_day")
    position = {v: i for i, v in enumerate(visits["visit"])}
    data = distribution.assign(x=distribution["visit"].map(position),
                               category=pd.Categorical(distribution["category"].astype(str), categories=categories))
    total = data.groupby("x")["n_subjects"].transform("sum")
    data["share"] = data["n_subjects"] / total.where(total > 0, 1)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    # seaborn stacks the last hue at the bottom: reverse, so that the first category is the bottom one
    sns.histplot(data, x="x", weights="share", hue="category", hue_order=categories[::-1], multiple="stack",
                 discrete=True, shrink=0.75, palette={c: LEVEL_BAR_COLOURS.get(c, "#bbbbbb") for c in categories},
                 edgecolor="white", linewidth=0.6, alpha=1, ax=ax, legend=True)
    bottom = np.zeros(len(visits))
    for category in categories:
        part = data[data["category"] == category].set_index("x").reindex(range(len(visits)))
        share, count = part["share"].fillna(0).to_numpy(), part["n_subjects"].fillna(0).to_numpy()
        for xi in range(len(visits)):
            if share[xi] >= 0.06:
                ax.text(xi, bottom[xi] + share[xi] / 2, f"{int(count[xi])}", ha="center", va="center", fontsize=7.5,
                        color="white" if category in _DARK else "#222222")
        bottom += share
    n = data.groupby("x")["n_subjects"].sum().reindex(range(len(visits)), fill_value=0)
    ax.set_xticks(range(len(visits)))
    ax.set_xticklabels([f"{plain_text(v)}\nN = {int(k)}" for v, k in zip(visits["visit"], n)], fontsize=8.5)
    ax.set_xlabel("Visit (days since infusion)")
    ax.set_ylim(0, 1)
    ax.set_ylabel("Share of treated subjects")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    legend = ax.get_legend()
    if legend is not None:
        sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), frameon=False, title="Level or status",
                        fontsize=8)
    ax.grid(axis="x", visible=False)
    fig.tight_layout()
    return fig


def with_title(fig: plt.Figure, title: str) -> plt.Figure:
    """``fig`` with ``title`` (e.g. ``page.figure_title(...)``) above it, drawn as plain text."""
    fig.suptitle(plain_text(title), x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    return fig
