"""Figures for the time-to-event endpoints: Kaplan-Meier with its risk table, cumulative
incidence with competing risks (the one competing-risk figure of every page, with or without its
table), and the swimmer plot. Each takes tidy frames (computed by the endpoint modules) and
returns a matplotlib Figure; nothing is estimated here.

When there is nothing to draw (no subject, or every curve not estimable) a figure says so in
words, with the reason from the frame's ``not_estimable_reason`` column
(:func:`~msc_analysis.report.figures.not_estimable_figure`), instead of drawing empty axes.
"""
from __future__ import annotations

from textwrap import fill

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..stats.estimability import NO_SUBJECT_INFUSED
from .figures import not_estimable_figure, plain_text
from .km_annotations import annotate_landmarks, stagger_tick_labels

__all__ = ["km_figure", "cumulative_incidence_figure", "swimmer_figure", "select_lanes",
           "KM_RISK_ROWS", "CIF_RISK_ROWS", "competing_risk_rows"]

#: Rows of the risk table of a Kaplan-Meier plot, shown on the page and drawn under the plot:
#: label -> column of :func:`~msc_analysis.endpoints.overall_survival.risk_table_by_group`.
#: At every day the three rows add up to the subjects of the group.
KM_RISK_ROWS = {"At risk on that day": "n_at_risk", "Died before that day": "deaths_before_day",
                "Censored before that day": "censored_before_day"}
#: Columns of the table under a cumulative-incidence plot; the rows are labelled "At risk",
#: "<first outcome> (cumulative)", "<second outcome> (cumulative)", "Censored (cumulative)".
CIF_RISK_ROWS = ("n_at_risk", "cumulative_events", "cumulative_competing", "cumulative_censored")



def competing_risk_rows(event: str, competing: str) -> dict[str, str]:
    """Rows of a competing-risk table whose counts add up (columns of
    :func:`~msc_analysis.endpoints.pcr_negativity.risk_table`): label -> column.

    >>> list(competing_risk_rows("Negativity", "Death before negativity"))
    ['At risk on that day', 'Negativity before that day', 'Death before negativity, before that day', 'Censored before that day']
    """
    return {"At risk on that day": "n_at_risk", f"{event} before that day": "events_before_day",
            f"{competing}, before that day": "competing_before_day", "Censored before that day": "censored_before_day"}


def _title(fig: plt.Figure, title: str | None, room: float = 0.4) -> None:
    """A numbered title at the top left (``Page.figure_title``), wrapped to the figure's width, with
    ``room`` inches (more for a wrapped title) made for it."""
    if not title:
        return
    height = fig.get_figheight()
    text = fill(plain_text(title), max(40, int(fig.get_figwidth() * 10)))
    extra = 0.22 * text.count("\n")
    fig.suptitle(text, x=0.01, y=1 - 0.08 / height, ha="left", va="top", fontsize=12, fontweight="bold")
    if room:
        fig.subplots_adjust(top=fig.subplotpars.top - (room + extra) / height)


_COLORS = ("#2f5d9e", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#7f8c8d")


def _drawable(curve: pd.DataFrame, estimate: str) -> bool:
    """A curve can be drawn: it has rows, no ``not_estimable_reason`` and some estimate."""
    if curve.empty or curve[estimate].isna().all():
        return False
    return "not_estimable_reason" not in curve or not curve["not_estimable_reason"].astype(str).str.len().any()


def _curve_reasons(curves: pd.DataFrame) -> list[str]:
    return list(curves["not_estimable_reason"]) if "not_estimable_reason" in curves else []


def _figure_with_table(n_table_rows: int, width: float = 9.0):
    plot_h, row_h, margins = 3.8, 0.24, 1.6  # inches; margins: title, axis label, footnote
    table_h = row_h * n_table_rows + 0.45
    height = plot_h + table_h + margins
    fig = plt.figure(figsize=(width, height))
    grid = fig.add_gridspec(2, 1, height_ratios=[plot_h, table_h], hspace=1.0 / ((plot_h + table_h) / 2))
    ax = fig.add_subplot(grid[0])
    table_ax = fig.add_subplot(grid[1], sharex=ax)
    fig.subplots_adjust(left=0.24, right=0.97, top=1 - 0.25 / height, bottom=0.75 / height)
    return fig, ax, table_ax


def _step(ax, x, y, lower, upper, color, label, start):
    """A step curve from (0, ``start``) with its CI band (gaps where the CI is missing)."""
    x0 = np.r_[0.0, x]
    ax.step(x0, np.r_[start, y], where="post", color=color, lw=1.8, label=label)
    lo, hi = np.r_[start, lower], np.r_[start, upper]
    ok = ~(np.isnan(lo) | np.isnan(hi))
    ax.fill_between(x0, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan), step="post", color=color,
                    alpha=0.15, lw=0)


def _to_horizon(curve: pd.DataFrame, horizon: float, columns) -> tuple:
    """The curve's times and ``columns`` up to ``horizon``, carried on to ``horizon`` when
    follow-up goes beyond it (so a curve does not seem to stop at its last event)."""
    shown = curve[curve["time_days"] <= horizon]
    x = shown["time_days"].to_numpy(float)
    values = [shown[c].to_numpy(float) for c in columns]
    if len(curve) and curve["time_days"].max() > horizon and len(shown):
        x = np.r_[x, horizon]
        values = [np.r_[v, v[-1]] for v in values]
    return x, values


def _label(group: str) -> str:
    return "All treated" if group == "all" else plain_text(group)  # an arm name is data, not mathtext


def _alignments(table_ax, risk: pd.DataFrame, columns, days, fontsize: float) -> dict:
    """Centre each column of numbers on its day; where two days are too close for their numbers
    (e.g. days 28 and 30 with four-digit counts), right-align the first and left-align the next."""
    digits = max([len(str(int(v))) for c in columns for v in risk[c]] + [len(f"{d:g}") for d in days] or [1])
    x0, x1 = table_ax.get_xlim()
    width_in = table_ax.get_position().width * table_ax.figure.get_figwidth()
    needed = (digits + 1.5) * 0.6 * fontsize / 72 * (x1 - x0) / width_in  # text width and a gap, data units
    ordered = sorted(days)
    align = {d: "center" for d in ordered}
    for a, b in zip(ordered, ordered[1:]):
        if b - a < needed:
            align[a] = "right" if align[a] == "center" else align[a]
            align[b] = "left"
    return align


def _draw_table(table_ax, risk: pd.DataFrame, rows: dict[str, str], days, groups, fontsize: float = 8.5):
    labels, y = [], 0
    align = _alignments(table_ax, risk, list(rows.values()), days, fontsize)
    for group in groups:
        g = risk[risk["group"] == group] if "group" in risk else risk
        for label, column in rows.items():
            for day, value in zip(g["day"], g[column]):
                if day in days:
                    table_ax.text(day, -y, f"{int(value)}", ha=align[day], va="center", fontsize=fontsize)
            labels.append(label if len(groups) == 1 else f"{_label(group)}: {label}")
            y += 1
    table_ax.grid(False)
    table_ax.set_ylim(-y + 0.5, 0.5)
    table_ax.set_yticks([-i for i in range(len(labels))], labels, fontsize=8.5)
    table_ax.tick_params(axis="y", length=0)
    table_ax.tick_params(axis="x", labelbottom=False, length=0)
    for side in ("top", "right", "bottom", "left"):
        table_ax.spines[side].set_visible(False)
    table_ax.set_title("Numbers at each day (same days as the axis above); at every day the rows add up to N",
                       fontsize=9, loc="left")
    longest = max(len(label) for label in labels)
    table_ax.figure.subplots_adjust(left=min(0.5, 0.04 + 0.0075 * longest * 9 / table_ax.figure.get_figwidth()))
    return align


def _figure_without_table(width: float = 9.0):
    height = 3.8 + 1.6  # inches: the plot as above, room for the axis label and a footnote
    fig, ax = plt.subplots(figsize=(width, height))
    fig.subplots_adjust(left=0.1, right=0.97, top=1 - 0.25 / height, bottom=1.1 / height)
    return fig, ax


def _axis(ax, days, horizon, ylabel):
    ax.set_xlim(-0.04 * horizon, horizon * 1.03)
    if days is not None:
        ax.set_xticks(list(days))
    ax.set_ylim(-0.02, 1.02)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Days since the MSC infusion (day 0)")
    ax.grid(alpha=0.3)


def km_figure(curves: pd.DataFrame, risk: pd.DataFrame, *, horizon_days: float = 60,
              ylabel: str = "Overall survival", rows: dict[str, str] | None = None,
              title: str | None = None, landmarks: pd.DataFrame | None = None,
              medians: pd.DataFrame | None = None) -> plt.Figure:
    """Kaplan-Meier curves with 95 % CI bands and, under them, the risk table on the same x axis.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``group``, ``time_days``, ``survival_prop``, ``ci95_lower``, ``ci95_upper``,
        ``n_censored`` (e.g. :func:`~msc_analysis.endpoints.overall_survival.km_curves`).
        Censorings are marked with ticks.
    risk : pandas.DataFrame
        ``group``, ``day`` and the columns of ``rows`` (e.g.
        :func:`~msc_analysis.endpoints.overall_survival.risk_table_by_group`); its days are
        the x ticks.
    horizon_days : float
        Right end of the x axis.
    rows : dict, optional
        Table rows, label -> column; default :data:`KM_RISK_ROWS`.
    title : str, optional
        Numbered title drawn at the top (e.g. from ``Page.figure_title``).
    landmarks, medians : pandas.DataFrame, optional
        Survival at the landmark days (``overall_survival.survival_at_days``) and the median
        (``overall_survival.median_survival_by_group``): marked on the curves and written in a box
        at the lower right (:func:`~msc_analysis.report.km_annotations.annotate_landmarks`).
        Tick labels of days too close for their numbers (28 and 30) are aligned apart, as the
        numbers of the risk table.
    """
    rows = rows or KM_RISK_ROWS
    groups = list(dict.fromkeys(risk["group"]))
    drawn = [g for g in groups if _drawable(curves[curves["group"] == g], "survival_prop")]
    if not drawn:
        fig = not_estimable_figure(_curve_reasons(curves) or ["no subject"], "No survival curve to draw")
        _title(fig, title)
        return fig
    fig, ax, table_ax = _figure_with_table(len(rows) * len(groups))
    for i, group in enumerate(groups):
        full = curves[curves["group"] == group]
        color = _COLORS[i % len(_COLORS)]
        if group not in drawn:
            continue
        x, (y, lo, hi) = _to_horizon(full, horizon_days, ("survival_prop", "ci95_lower", "ci95_upper"))
        _step(ax, x, y, lo, hi, color, _label(group), 1.0)
        cens = full[(full["n_censored"] > 0) & (full["time_days"] <= horizon_days)]
        ax.plot(cens["time_days"], cens["survival_prop"], "|", color=color, ms=9, mew=1.5)
    days = [d for d in risk["day"].unique() if d <= horizon_days]
    _axis(ax, days, horizon_days, ylabel)
    handles = [Line2D([], [], color=_COLORS[i % len(_COLORS)], lw=1.8, label=_label(g)) for i, g in enumerate(groups)]
    handles += [Patch(color="#888", alpha=0.3, label="95% CI"), Line2D([], [], color="#333", marker="|", ls="",
                                                                        ms=9, label="censored")]
    ax.legend(handles=handles, loc="lower left", fontsize=8.5, frameon=False)
    annotate_landmarks(ax, landmarks, medians, drawn, [_COLORS[groups.index(g) % len(_COLORS)] for g in drawn],
                       horizon_days)
    stagger_tick_labels(ax, _draw_table(table_ax, risk, rows, days, groups))
    _title(fig, title)
    return fig


def cumulative_incidence_figure(curves: pd.DataFrame | dict[str, pd.DataFrame], risk: pd.DataFrame | None = None,
                                *, horizon_days: float = 60, ylabel: str = "Cumulative incidence",
                                rows: dict[str, str] | None = None, title: str | None = None) -> plt.Figure:
    """Cumulative incidence of each outcome (competing risks) with 95 % CI bands, and a table.

    Parameters
    ----------
    curves : pandas.DataFrame or dict
        ``outcome``, ``time_days``, ``cumulative_incidence_prop``, ``ci95_lower``,
        ``ci95_upper``: one curve per outcome (the first is the event of interest); or a dict
        outcome label -> frame of one curve with those columns but ``outcome`` (e.g.
        :func:`~msc_analysis.stats.competing_risks.cumulative_incidence` without ``times``,
        once per cause). With ``not_estimable_reason``, a curve holding a reason is not drawn,
        and when no curve is left the figure says why instead
        (:func:`~msc_analysis.report.figures.not_estimable_figure`).
    risk : pandas.DataFrame, optional
        ``day`` and the columns :data:`CIF_RISK_ROWS` (e.g. from
        :func:`~msc_analysis.stats.competing_risks.competing_risk_table`), drawn under the plot;
        its days are the x ticks. Without it, the plot alone.
    horizon_days : float
        Right end of the x axis.
    ylabel : str
        Label of the y axis.
    rows : dict, optional
        Table rows, label -> column of ``risk`` (e.g. :func:`competing_risk_rows`); default: "At
        risk", "<outcome> (cumulative)" for each outcome and "Censored (cumulative)" on the
        columns :data:`CIF_RISK_ROWS`.
    title : str, optional
        Numbered title drawn at the top (e.g. from ``Page.figure_title``).
    """
    if isinstance(curves, dict):
        curves = pd.concat([c.assign(outcome=label) for label, c in curves.items()], ignore_index=True)
    outcomes = list(dict.fromkeys(curves["outcome"]))
    if not any(_drawable(curves[curves["outcome"] == o], "cumulative_incidence_prop") for o in outcomes):
        fig = not_estimable_figure(_curve_reasons(curves) or ["no subject"], "No cumulative incidence to draw")
        _title(fig, title)
        return fig
    names = [*(f"{o[:1].upper()}{o[1:]} (cumulative)" for o in (outcomes + ["Events", "Competing events"])[:2])]
    rows = rows or dict(zip(["At risk", *names, "Censored (cumulative)"], CIF_RISK_ROWS))
    fig, ax, table_ax = _figure_with_table(len(rows)) if risk is not None else (*_figure_without_table(), None)
    for i, outcome in enumerate(outcomes):
        x, (y, lo, hi) = _to_horizon(curves[curves["outcome"] == outcome], horizon_days,
                                     ("cumulative_incidence_prop", "ci95_lower", "ci95_upper"))
        _step(ax, x, y, lo, hi, _COLORS[i % len(_COLORS)], outcome, 0.0)
    days = None if risk is None else [d for d in risk["day"].unique() if d <= horizon_days]
    _axis(ax, days, horizon_days, ylabel)
    if outcomes:
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=[*handles, Patch(color="#888", alpha=0.3, label="95% CI")], loc="upper left",
                  fontsize=8.5, frameon=False)
    if risk is not None:
        _draw_table(table_ax, risk.assign(group="all"), rows, days, ["all"])
    _title(fig, title)
    return fig


def select_lanes(lanes: pd.DataFrame, max_subjects: int = 60) -> pd.DataFrame:
    """Order lanes by follow-up (longest first) and, above ``max_subjects``, keep an evenly
    spaced (systematic) sample of that order, so every part of the distribution is shown.

    Returns
    -------
    pandas.DataFrame
        The selected lanes in display order (top to bottom).

    Examples
    --------
    >>> lanes = pd.DataFrame({"subject_id": list("ABCDE"), "end_day": [5, 1, 4, 2, 3]})
    >>> select_lanes(lanes, max_subjects=3)["subject_id"].tolist()
    ['A', 'E', 'B']
    """
    if max_subjects < 1:
        raise ValueError("max_subjects must be at least 1")
    ordered = lanes.sort_values(["end_day", "subject_id"], ascending=[False, True], kind="stable")
    if len(ordered) <= max_subjects:
        return ordered.reset_index(drop=True)
    keep = np.unique(np.round(np.linspace(0, len(ordered) - 1, max_subjects)).astype(int))
    return ordered.iloc[keep].reset_index(drop=True)


def swimmer_figure(lanes: pd.DataFrame, *, max_subjects: int = 60, horizon_days: float | None = None,
                   title: str | None = None) -> plt.Figure:
    """One bar per subject from the infusion to death or censoring; darker while in hospital.

    Markers: discharge alive, RT-PCR negativity, death; an arrow marks follow-up continuing
    (alive at censoring). Above ``max_subjects`` subjects a systematic sample is drawn (see
    :func:`select_lanes`) and the title says how many of how many are shown.

    Parameters
    ----------
    lanes : pandas.DataFrame
        ``subject_id``, ``end_day``, ``died`` (bool), ``discharge_day``, ``negativity_day``,
        ``death_day`` (e.g. :func:`~msc_analysis.endpoints.overall_survival.swimmer_lanes`).
    max_subjects : int
        Most lanes drawn.
    horizon_days : float, optional
        A dashed line at this day (e.g. 60, the registered time frame).
    title : str, optional
        Numbered title drawn at the top (e.g. from ``Page.figure_title``).
    """
    if lanes.empty:
        fig = not_estimable_figure(NO_SUBJECT_INFUSED, "No subject course to draw")
        _title(fig, title)
        return fig
    shown = select_lanes(lanes, max_subjects)
    n = len(shown)
    fig, ax = plt.subplots(figsize=(9, min(2.6 + 0.2 * max(n, 1), 16)))
    y = np.arange(n)
    end = shown["end_day"].to_numpy(float)
    hospital_end = shown["discharge_day"].fillna(shown["end_day"]).to_numpy(float)
    ax.barh(y, hospital_end, height=0.6, color="#5b7db1", label="in hospital")
    ax.barh(y, end - hospital_end, left=hospital_end, height=0.6, color="#c9d6ea", label="out of hospital")
    ax.plot(shown["discharge_day"], y, ls="", marker="^", color="#2e8b57", ms=6, label="discharged alive")
    ax.plot(shown["negativity_day"], y, ls="", marker="o", mfc="white", mec="#8e44ad", mew=1.6, ms=6,
            label="RT-PCR negativity")
    ax.plot(shown["death_day"], y, ls="", marker="X", color="#c0392b", ms=7, label="death")
    alive = ~shown["died"].astype(bool).to_numpy()
    ax.plot(end[alive] + 0.6, y[alive], ls="", marker=">", color="#555", ms=4, label="alive at last follow-up")
    if horizon_days is not None:
        ax.axvline(horizon_days, color="#888", ls="--", lw=1)
    ax.set_yticks(y, shown["subject_id"] if n <= 60 else [""] * n, fontsize=7 if n > 30 else 8)
    ax.set_ylim(max(n, 1) - 0.5, -0.5)
    ax.set_xlim(left=0)
    ax.set_xlabel("Days since the MSC infusion (day 0)")
    total = len(lanes)
    ax.set_title(f"All {total} treated subjects, longest follow-up first" if n == total else
                 f"{n} of {total} treated subjects: an evenly spaced sample after sorting by follow-up",
                 fontsize=10, loc="left")
    ax.grid(axis="y", visible=False)
    height = fig.get_figheight()
    room = 0.4 + 0.22 * fill(plain_text(title), max(40, int(fig.get_figwidth() * 10))).count("\n") if title else 0.0
    fig.legend(*ax.get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 1 - (0.05 + room) / height),
               ncol=4, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.15, right=0.97, top=1 - (0.95 + room) / height, bottom=1.3 / height)
    if title:
        _title(fig, title, room=0.0)
    return fig
