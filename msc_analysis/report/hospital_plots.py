"""Figures of the hospital-stay page (``03_hospital_stay``), drawn with seaborn in the house theme."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from ..stats.estimability import NO_SUBJECT_INFUSED
from .figures import HOUSE_PALETTE, not_estimable_figure, plain_text

__all__ = ["stay_distribution_figure"]


def stay_distribution_figure(course: pd.DataFrame, statuses, *, column: str = "inpatient_days_from_admission",
                             title: str = "", max_points: int = 300) -> plt.Figure:
    """Inpatient days of every treated subject, one row per hospital status: a box (median and
    quartiles) and one dot per subject (seaborn ``boxplot`` and ``stripplot``); a row of more
    than ``max_points`` subjects shows the box only (its label says so), as dots would merge into a bar.

    Parameters
    ----------
    course : pandas.DataFrame
        ``hospital_status`` and ``column`` (``hospital_stay.hospital_course``).
    statuses : sequence of str
        The hospital statuses in display order (every one gets a row, also when empty).
    column : str
        The days drawn.
    title : str
        Title above the figure (e.g. from ``Page.figure_title``).
    max_points : int
        Most subjects of a row drawn as dots.

    Examples
    --------
    >>> fig = stay_distribution_figure(pd.DataFrame({"hospital_status": [], "inpatient_days_from_admission": []}),
    ...                                ["discharged alive"])
    >>> "no subject infused yet" in fig.axes[0].texts[0].get_text()
    True
    """
    import seaborn as sns

    data = course[["hospital_status", column]].dropna()
    if data.empty:
        reason = NO_SUBJECT_INFUSED if course.empty else "no admission date recorded"
        fig = not_estimable_figure(reason, "No inpatient days to draw")
        if title:
            fig.axes[0].set_title(plain_text(title), loc="left")
        return fig
    order = list(statuses)
    data = data.assign(hospital_status=data["hospital_status"].astype(str))
    counts = data["hospital_status"].value_counts()
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.9 * len(order)))
    palette = dict(zip(order, sns.color_palette(HOUSE_PALETTE, len(order))))
    sns.boxplot(data=data, x=column, y="hospital_status", order=order, hue="hospital_status", hue_order=order,
                palette=palette, width=0.5, showfliers=False, boxprops={"alpha": 0.35}, legend=False, ax=ax)
    dots = data[data["hospital_status"].map(counts) <= max_points]
    if len(dots):
        sns.stripplot(data=dots, x=column, y="hospital_status", order=order, hue="hospital_status", hue_order=order,
                      palette=palette, size=5, jitter=0.15, edgecolor="#333", linewidth=0.5, legend=False, ax=ax)
    ax.set_yticks(range(len(order)), [f"{s} (n = {int(counts.get(s, 0))}"
                                      f"{'; box only' if counts.get(s, 0) > max_points else ''})" for s in order])
    still = "in hospital at the cutoff" in order and counts.get("in hospital at the cutoff", 0)
    ax.set_xlabel(("Days in hospital from admission" if column.endswith("admission") else
                   "Days in hospital from the infusion") + (" (so far, for those still in hospital)" if still else ""))
    ax.set_ylabel("")
    ax.set_xlim(left=0)
    if title:
        ax.set_title(plain_text(title), loc="left")
    fig.tight_layout()
    return fig
