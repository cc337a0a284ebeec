"""Landmark estimates and the median written on a Kaplan-Meier plot, and tick labels of close days
that do not collide (used by :func:`~msc_analysis.report.survival_plots.km_figure`)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.offsetbox import AnchoredText

from . import formats
from .figures import plain_text
from .survival_tables import estimate_cell, group_label, median_cell

__all__ = ["landmark_lines", "annotate_landmarks", "stagger_tick_labels"]


def landmark_lines(landmarks: pd.DataFrame | None, medians: pd.DataFrame | None, groups) -> list[str]:
    """The text written on the plot: per group, survival at each landmark day and the median.

    Parameters
    ----------
    landmarks : DataFrame or None
        ``group``, ``day``, ``survival_prop``, ``ci95_lower``, ``ci95_upper``, ``n_at_risk``,
        ``not_estimable_reason`` (``overall_survival.survival_at_days``).
    medians : DataFrame or None
        ``group``, ``median_days``, ``ci95_lower``, ``ci95_upper``, ``not_estimable_reason``
        (``overall_survival.median_survival_by_group``).

    Examples
    --------
    >>> lm = pd.DataFrame({"group": "all", "day": [30.0], "survival_prop": [0.7728], "ci95_lower": [0.5816],
    ...                    "ci95_upper": [0.8847], "n_at_risk": [23], "not_estimable_reason": ""})
    >>> md = pd.DataFrame({"group": ["all"], "median_days": [float("inf")], "ci95_lower": [float("inf")],
    ...                    "ci95_upper": [float("inf")], "not_estimable_reason": [""]})
    >>> landmark_lines(lm, md, ["all"])
    ['Day 30: 77.3% (58.2% to 88.5%)', 'Median: NR (both limits NR); NR = not reached']
    """
    lines = []
    for group in groups:
        prefix = "" if len(groups) == 1 else f"{group_label(group)}, "
        if landmarks is not None:
            for r in landmarks[landmarks["group"] == group].itertuples():
                cell = estimate_cell(r.survival_prop, r.ci95_lower, r.ci95_upper,
                                     getattr(r, "not_estimable_reason", ""), r.n_at_risk, "no deaths yet")
                lines.append(f"{prefix}Day {formats.days(r.day)}: {cell}")
        if medians is not None:
            for r in medians[medians["group"] == group].itertuples():
                cell = median_cell(r.median_days, r.ci95_lower, r.ci95_upper, r.not_estimable_reason)
                nr = "; NR = not reached" if "NR" in cell else ""
                lines.append(f"{prefix}Median: {cell}{nr}")
    return lines


def annotate_landmarks(ax, landmarks: pd.DataFrame | None, medians: pd.DataFrame | None, groups, colors,
                       horizon: float) -> None:
    """Mark each landmark estimate on its curve (a dot on a dotted line at the day), the median where
    reached (dashed lines at 50%), and write :func:`landmark_lines` in a box at the lower right."""
    for group, color in zip(groups, colors):
        if landmarks is not None:
            lm = landmarks[(landmarks["group"] == group) & landmarks["survival_prop"].notna()
                           & (landmarks["day"] <= horizon)]
            for r in lm.itertuples():
                ax.plot([r.day, r.day], [0, r.survival_prop], ls=":", color=color, lw=1)
                ax.plot([r.day], [r.survival_prop], "o", color=color, ms=5)
        if medians is not None:
            md = medians[(medians["group"] == group) & np.isfinite(medians["median_days"].astype(float))]
            for r in md.itertuples():
                if r.median_days <= horizon:
                    ax.plot([0, r.median_days, r.median_days], [0.5, 0.5, 0], ls="--", color=color, lw=1)
    lines = landmark_lines(landmarks, medians, groups)
    if lines:
        box = AnchoredText(plain_text("Kaplan-Meier estimate (95% CI)\n" + "\n".join(lines)), loc="lower right",
                           prop={"size": 8.5}, frameon=True)
        box.patch.set(alpha=0.95, edgecolor="#bbb")
        box.set_zorder(10)  # over the dotted landmark lines
        ax.add_artist(box)


def stagger_tick_labels(ax, align: dict) -> None:
    """Align the x tick labels as the risk table numbers (``align``: day -> "left", "center" or
    "right"), so that the labels of two close days (28 and 30) move apart instead of colliding."""
    for tick, label in zip(ax.get_xticks(), ax.get_xticklabels()):
        label.set_horizontalalignment(align.get(tick, "center"))
