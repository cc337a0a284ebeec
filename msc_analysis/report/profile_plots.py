"""The patient-profile figure (page 11): one subject's course on one time axis, days since the infusion."""
from __future__ import annotations

import math
from textwrap import fill

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .figures import plain_text
from .liao_plots import LEVEL_BAR_COLOURS
from .safety_plots import GRADE_COLOURS

__all__ = ["profile_figure"]

_PANELS = (("Liao score", "Liao score"), ("SpO2", "SpO2, %"), ("CRP", "CRP, mg/dL"),
           ("PaO2/FiO2", "PaO2/FiO2, mmHg"))
_PCR_MARKS = {"positive": ("P", "#c0392b"), "negative": ("o", "#2e9e44"), "inconclusive": ("X", "#888888")}
_WIDTH_IN = 11.0  # 1,100 pixels at the page's 100 dpi
_PANEL_IN = 1.05
_FOOTNOTE_LINE_IN = 0.16
_FOOTNOTE_CHARS = 165  # characters of the footnote per line at 8 pt across the figure
_MILESTONES = {"Admission": ("#888888", ":"), "Infusion": ("#1f5fa8", "--"), "Discharge": ("#2e9e44", "-"),
               "Death": ("#111111", "-")}


def _short(text: str, width: int = 34) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _mark_milestones(ax, records: pd.DataFrame) -> None:
    for kind, (colour, style) in _MILESTONES.items():
        for t in records.loc[records["record"] == kind, "time_days"]:
            ax.axvline(t, color=colour, linestyle=style, linewidth=1.3 if kind != "Admission" else 1.0, zorder=1)


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} recorded", transform=ax.transAxes, ha="center", va="center", fontsize=9,
            color="#777")
    ax.set_yticks([])


def _layout(n_track_rows: int, longest_label: int, footnote_lines: int) -> tuple[plt.Figure, list]:
    """The figure and its five axes, every margin fixed in inches (no ``tight_layout``: it measures every
    text of the figure again, and on a page of 40 profiles that doubled the drawing time)."""
    top, gap = 0.8, 0.12
    panels = [_PANEL_IN] * 4 + [0.3 + 0.25 * n_track_rows]
    bottom = 0.95 + _FOOTNOTE_LINE_IN * footnote_lines
    height = top + sum(panels) + gap * 4 + bottom
    left = max(0.35 + 0.062 * longest_label, 0.95)  # the y labels of the event track (8 pt) or of a panel
    fig = plt.figure(figsize=(_WIDTH_IN, height))
    grid = fig.add_gridspec(5, 1, height_ratios=panels, hspace=gap / (sum(panels) / 5), left=left / _WIDTH_IN,
                            right=1 - 1.05 / _WIDTH_IN, top=1 - top / height, bottom=bottom / height)
    axes = [fig.add_subplot(grid[i]) for i in range(5)]  # one x range, set by the caller (sharex costs a third
    for ax in axes[:4]:                                  # of the drawing time: it measures every sibling's ticks)
        ax.tick_params(labelbottom=False)
    return fig, axes


def profile_figure(records: pd.DataFrame, title: str = "", subtitle: str = "", footnote: str = "") -> plt.Figure:
    """One subject's profile: four value panels and an event track, sharing the axis of days since the infusion.

    Parameters
    ----------
    records : DataFrame
        The rows of one subject of :func:`~msc_analysis.endpoints.patient_profile.profile_records`.
    title : str
        The figure's numbered title (``page.figure_title(...)``).
    subtitle : str
        One line under the title (who, outcome).
    footnote : str
        Written under the figure, wrapped to its width (population, n, method, data cutoff).

    Returns
    -------
    Figure
        Panels, top to bottom: Liao score (points coloured by level), SpO2 (filled: on oxygen,
        open: room air), CRP, PaO2/FiO2, and a track with RT-PCR results, CT severity scores and
        each adverse event as a bar from onset to the day resolved (at least half a day wide) coloured by CTCAE grade (an arrow:
        ongoing at the last record). Vertical lines: admission (dotted), infusion (dashed, day 0),
        discharge (green) and death (black).
    """
    aes = records[records["record"] == "Adverse event"].reset_index(drop=True)
    track_rows = ["RT-PCR", "CT score"] + [f"AE {i + 1}: {_short(t)}" for i, t in enumerate(aes["detail"])]
    note = fill(str(footnote), _FOOTNOTE_CHARS) if footnote else ""
    fig, axes = _layout(len(track_rows), max(len(t) for t in track_rows), note.count("\n") + 1 if note else 0)
    height = fig.get_figheight()
    fig.text(0.01, 1 - 0.12 / height, plain_text(title), ha="left", va="top", fontsize=12, fontweight="bold")
    if subtitle:
        fig.text(0.01, 1 - 0.42 / height, plain_text(subtitle), ha="left", va="top", fontsize=9, color="#333")
    if note:  # wrapped here: matplotlib's own wrapping measures the text once per word
        fig.text(0.01, 0.08 / height, plain_text(note), ha="left", va="bottom", fontsize=8, color="#444")
    last = records["time_days"].max() if len(records) else 1.0
    ends = aes["end_days"].dropna()
    right = max(last, ends.max() if len(ends) else last) + 1.0
    left = min(records["time_days"].min() if len(records) else 0.0, 0.0) - 0.5

    for ax, (kind, label) in zip(axes[:4], _PANELS):
        ax.set_ylabel(label, fontsize=9)
        _mark_milestones(ax, records)
        rows = records[records["record"] == kind]
        if not len(rows):
            _empty(ax, label.split(",")[0])
            continue
        ax.plot(rows["time_days"], rows["value"], color="#9aa3b5", linewidth=1.0, zorder=2)
        if kind == "Liao score":
            colours = [LEVEL_BAR_COLOURS.get(str(v), "#bbbbbb") for v in rows["level"]]
            ax.scatter(rows["time_days"], rows["value"], c=colours, s=22, edgecolors="#333", linewidths=0.4, zorder=3)
            present = [lv for lv in ("green", "yellow", "orange", "red") if lv in set(rows["level"].astype(str))]
            ax.legend(handles=[Patch(color=LEVEL_BAR_COLOURS[lv], label=lv) for lv in present], fontsize=7,
                      loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        elif kind == "SpO2":
            on = rows["level"] == "on oxygen"
            ax.scatter(rows.loc[on, "time_days"], rows.loc[on, "value"], s=20, color="#1f5fa8", zorder=3)
            ax.scatter(rows.loc[~on, "time_days"], rows.loc[~on, "value"], s=20, facecolors="white",
                       edgecolors="#1f5fa8", zorder=3)
            ax.legend(handles=[Line2D([], [], marker="o", linestyle="", color="#1f5fa8", label="on oxygen"),
                               Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                                      markeredgecolor="#1f5fa8", label="room air")],
                      fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        else:
            ax.scatter(rows["time_days"], rows["value"], s=20, color="#3b4a6b", zorder=3)

    ax = axes[4]
    _mark_milestones(ax, records)
    y = {name: i for i, name in enumerate(track_rows)}
    pcr = records[records["record"] == "RT-PCR"]
    for result, (marker, colour) in _PCR_MARKS.items():
        hit = pcr[pcr["level"] == result]
        ax.scatter(hit["time_days"], [y["RT-PCR"]] * len(hit), marker=marker, color=colour, s=36, zorder=3,
                   label=f"RT-PCR {result}")
    ct = records[records["record"] == "CT score"]
    ax.scatter(ct["time_days"], [y["CT score"]] * len(ct), marker="s", color="#555", s=18, zorder=3)
    for t, v in zip(ct["time_days"], ct["value"]):
        if not math.isnan(v):
            ax.annotate(f"{v:.0f}", (t, y["CT score"]), xytext=(0, 5), textcoords="offset points", ha="center",
                        fontsize=7)
    for i, r in aes.iterrows():
        row = y[track_rows[2 + i]]
        ongoing = math.isnan(r["end_days"])
        end = right if ongoing else max(r["end_days"], r["time_days"] + 0.5)  # a one-day event still shows
        grade = int(r["value"]) if not math.isnan(r["value"]) else None
        ax.barh(row, end - r["time_days"], left=r["time_days"], height=0.6,
                color=GRADE_COLOURS.get(grade, "#bbbbbb"), edgecolor="#333" if r["level"] == "serious" else "none",
                linewidth=1.2, zorder=3)
        if ongoing:
            ax.annotate("", xy=(right, row), xytext=(right - 0.6, row),
                        arrowprops=dict(arrowstyle="->", color="#333"), zorder=4)
    ax.set_yticks(range(len(track_rows)), [plain_text(t) for t in track_rows], fontsize=8)
    ax.set_ylim(len(track_rows) - 0.5, -0.5)
    grades = sorted({int(g) for g in aes["value"].dropna()})
    handles = [Patch(color=GRADE_COLOURS[g], label=f"grade {g}") for g in grades if g in GRADE_COLOURS]
    if len(aes):
        handles.append(Patch(facecolor="white", edgecolor="#333", label="serious (outlined)"))
    handles += [Line2D([], [], marker=m, linestyle="", color=c, label=f"RT-PCR {k}") for k, (m, c) in
                _PCR_MARKS.items() if k in set(pcr["level"].astype(str))]
    handles += [Line2D([], [], color=c, linestyle=s, label=k.lower()) for k, (c, s) in _MILESTONES.items()
                if k in set(records["record"])]
    for each in axes:
        each.set_xlim(left, right)
    ax.set_xlabel("Days since infusion (day 0)")
    # at most 13 entries (5 grades, serious, 3 RT-PCR results, 4 lines): two rows of 7 in the bottom margin
    fig.legend(handles=handles, fontsize=7, loc="lower center", ncol=min(len(handles), 7) or 1, frameon=False,
               bbox_to_anchor=(0.5, (0.1 + _FOOTNOTE_LINE_IN * (note.count("\n") + 1 if note else 0)) / height))
    return fig
