"""Figures of the dose and feasibility page (09), drawn with seaborn in the house theme.

Numbers come from :mod:`msc_analysis.endpoints.dose_feasibility`; this module only draws.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .figures import plain_text

from .safety_plots import ROOM_FOR_FOOTNOTE, no_data

__all__ = ["dose_figure", "delay_figure", "TOLERANCE_COLOURS"]

#: Bars of infusions within and outside the dose tolerance.
TOLERANCE_COLOURS = {"within tolerance": "#5b7db1", "outside tolerance": "#d7301f"}


def dose_figure(doses: pd.DataFrame, title: str = "") -> plt.Figure:
    """Histogram (seaborn) of the delivered dose with the target and the tolerance band.

    Parameters
    ----------
    doses : DataFrame
        Output of :func:`~msc_analysis.endpoints.dose_feasibility.dose_delivered`.
    title : str, optional
        The figure's numbered title (``page.figure_title(...)``), drawn at the top left.
    """
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.set_title(plain_text(title), loc="left")
    if doses.empty:
        no_data(ax, "No infusion in this cut.")
        return fig
    target = float(doses["target_cells_per_kg"].iloc[0]) / 1e6
    tol = float(doses["tolerance_pct"].iloc[0]) / 100
    data = pd.DataFrame({
        "dose": doses["dose_cells_per_kg"].to_numpy(dtype=float) / 1e6,
        "tolerance": np.where(doses["within_tolerance"].astype(bool), "within tolerance", "outside tolerance")})
    lo, hi = target * (1 - tol), target * (1 + tol)
    width = target * 0.025
    start = np.floor(min(data["dose"].min(), lo - width) / width) * width
    stop = np.ceil(max(data["dose"].max(), hi + width) / width) * width
    bins = np.arange(start, stop + width / 2, width)
    ax.axvspan(lo, hi, color="#d9ead3", zorder=0)
    levels = [k for k in TOLERANCE_COLOURS if (data["tolerance"] == k).any()]
    sns.histplot(data=data, x="dose", hue="tolerance", hue_order=levels, palette=TOLERANCE_COLOURS, bins=bins,
                 multiple="stack", alpha=1, edgecolor="white", linewidth=0.5, ax=ax, legend=False)
    ax.axvline(target, color="#222", lw=1.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color="#d9ead3"),
               *[plt.Rectangle((0, 0), 1, 1, color=TOLERANCE_COLOURS[k]) for k in levels],
               plt.Line2D([0], [0], color="#222", lw=1.5)]
    labels = [f"tolerance +/-{100 * tol:g}%", *levels, f"target {target:g} x 10^6 cells/kg"]
    ax.legend(handles, labels, fontsize=8, loc="upper left")
    ax.set_xlabel("Dose delivered (10^6 cells per kg of dosing weight)")
    ax.set_ylabel("Infusions (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout(rect=ROOM_FOR_FOOTNOTE)
    return fig


def delay_figure(delays: pd.DataFrame, title: str = "") -> plt.Figure:
    """Bars (seaborn): treated subjects by days from enrollment to infusion, or why there are none.

    Parameters
    ----------
    delays : DataFrame
        Output of :func:`~msc_analysis.endpoints.dose_feasibility.enrollment_to_infusion`.
    title : str, optional
        The figure's numbered title (``page.figure_title(...)``), drawn at the top left.
    """
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.set_title(plain_text(title), loc="left")
    d = delays["enrollment_to_infusion_days"].dropna().astype(int)
    if d.empty:
        why = ("No subject infused yet" if delays.empty else "Enrollment dates are not recorded in this cut")
        no_data(ax, f"{why}:\ndays from enrollment to infusion cannot be computed.")
        return fig
    sns.histplot(x=d.to_numpy(), discrete=True, shrink=0.8, color="#5b7db1", alpha=1, edgecolor="white", ax=ax)
    ax.set_xlim(d.min() - 0.7, d.max() + 0.7)
    if d.max() - d.min() <= 30:
        ax.set_xticks(range(int(d.min()), int(d.max()) + 1))
    ax.set_xlabel("Days from enrollment to infusion (0 = same day)")
    ax.set_ylabel("Treated subjects (n)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout(rect=ROOM_FOR_FOOTNOTE)
    return fig
