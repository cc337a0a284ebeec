"""Figures of the longitudinal endpoints (CRP, PaO2/FiO2, Liao, chest CT).

Numbers come from the endpoint modules; this module only draws (the display tables and notes
are in :mod:`msc_analysis.report.longitudinal_tables`). Figures stay readable at any number of
subjects: the spaghetti plot draws at most ``max_lines`` subject lines (a seeded random sample
when there are more, said in :func:`~msc_analysis.report.longitudinal_tables.spaghetti_note`)
while the median and interquartile band use every subject; bar charts show shares of all
treated subjects.

The statistical figures are drawn with seaborn in the house theme that ``Page`` sets
(``figures.use_house_theme``): trajectories by visit (:func:`spaghetti_figure`), distributions of
the change from baseline (:func:`change_distribution_figure`), shares of categories by visit
(:func:`stacked_share_figure`) and proportions improved with their exact CIs
(:func:`proportion_figure`). Each takes an optional ``title`` (``Page.figure_title``).

Nothing missing is drawn as a number: a figure with nothing to draw says so in words.
The cumulative incidence of the Liao page is drawn by the one competing-risk figure,
:func:`msc_analysis.report.survival_plots.cumulative_incidence_figure`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..derive.checks import isin
from ..stats.estimability import NO_SUBJECT_INFUSED
from ..stats.paired import MEASURED
from .figures import not_estimable_figure, plain_text

__all__ = ["LEVEL_COLOURS", "STATUS_COLOURS", "BERLIN_COLOURS", "MEDIAN_LABEL", "IQR_LABEL", "spaghetti_figure",
           "change_distribution_figure", "stacked_share_figure", "level_bars_figure", "impression_bars_figure",
           "berlin_bars_figure", "proportion_figure"]

#: Colours of the Liao levels and of the reasons a value is missing.
LEVEL_COLOURS = {"green": "#2e9e44", "yellow": "#f2d21b", "orange": "#f08a1c", "red": "#d7261e"}
STATUS_COLOURS = {"died": "#222222", "discharged": "#8fb8de", "lost to follow-up": "#b39ddb",
                  "follow-up not reached": "#d8cfa8", "no value": "#e3e3e3"}
#: Colours of the Berlin oxygenation bands of PaO2/FiO2, best first (the order of ``pao2_fio2.BERLIN_CATEGORIES``).
BERLIN_COLOURS = {"> 300": "#2e9e44", "200-300 (mild)": "#f2d21b", "100-200 (moderate)": "#f08a1c",
                  "<= 100 (severe)": "#d7261e"}
#: Legend words of the median line and band of :func:`spaghetti_figure`: the median moves with who is measured.
MEDIAN_LABEL = "median of the subjects measured\nat that visit (n under the axis)"
#: A visit median of fewer subjects than this is drawn with an open mark and labelled with its n.
FEW_MEASURED = 5
FEW_LABEL = f"median of fewer than {FEW_MEASURED} subjects\n(open mark, n beside it)"
IQR_LABEL = "interquartile range (Q1 to Q3)\nof those subjects"
_LINE, _DEAD, _MEDIAN, _BAND = "#7a9cc6", "#222222", "#c1440e", "#f08a1c"
_IMPRESSION_COLOURS = {"improved": "#2e9e44", "stable": "#8c8c8c", "worsened": "#d7261e",
                       "impression not recorded": "#cdbfe6", "not assessed (no scan)": "#e3e3e3"}


def _sample(ids: np.ndarray, max_lines: int, seed: int) -> np.ndarray:
    if len(ids) <= max_lines:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, size=max_lines, replace=False))


def _nothing(reasons, what: str, title: str | None) -> plt.Figure:
    """The words-only figure of ``figures.not_estimable_figure``, keeping the figure's numbered title."""
    fig = not_estimable_figure(reasons, what)
    if title:
        fig.axes[0].set_title(plain_text(title), loc="left")
    return fig


def _visit_ticks(ax, visits: pd.DataFrame, n: pd.Series, prefix: str = "n") -> None:
    ax.set_xticks(range(len(visits)))
    ax.set_xticklabels([f"{plain_text(v)}\n{prefix} = {int(k)}" for v, k in zip(visits["visit"], n)], fontsize=8.5)
    ax.set_xlim(-0.4, len(visits) - 0.6)


#: Share of the figure's height kept free at the bottom for ``figures.add_footnote`` (two lines).
_FOOTNOTE_ROOM = 0.08
#: Rows of the status table drawn under the x axis of the visit figures: status -> row label.
STATUS_ROWS = {"died": "Died", "discharged": "Discharged", "lost to follow-up": "Lost to follow-up",
               "follow-up not reached": "Not yet reached", "no value": "No value"}


def _status_strip(ax, by_visit: pd.DataFrame, visits: pd.DataFrame) -> None:
    """Under the x axis: at each visit, how many subjects had died, been discharged, been lost to
    follow-up, not yet reached the visit or had no value (the dropout behind the medians)."""
    counts = (by_visit.groupby(["visit", "status"], observed=False).size().unstack(fill_value=0)
              .reindex(index=visits["visit"], columns=list(STATUS_ROWS), fill_value=0))
    for i, (status, label) in enumerate(STATUS_ROWS.items()):
        dy = -50 - 11 * i  # points below the axis, under the tick labels and the axis label
        ax.annotate(label, xy=(0, 0), xycoords="axes fraction", xytext=(-4, dy), textcoords="offset points",
                    ha="right", va="center", fontsize=8, color="#333333", annotation_clip=False)
        for x, k in enumerate(counts[status]):
            ax.annotate(f"{int(k)}", xy=(x, 0), xycoords=("data", "axes fraction"), xytext=(0, dy),
                        textcoords="offset points", ha="center", va="center", fontsize=8, color="#333333",
                        annotation_clip=False)


def _finish(fig: plt.Figure, ax, title: str | None, handles=None) -> plt.Figure:
    if title:
        ax.set_title(plain_text(title), loc="left")
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8.5, frameon=False,
                  labelspacing=0.8)
    fig.tight_layout(rect=(0, _FOOTNOTE_ROOM, 1, 1))
    return fig


def spaghetti_figure(by_visit: pd.DataFrame, value_column: str, *, ylabel: str, max_lines: int = 60,
                     seed: int = 2020, log_y: bool = False, title: str | None = None) -> plt.Figure:
    """Each subject's values by visit, the median line and interquartile band, deaths marked (seaborn).

    Parameters
    ----------
    by_visit : DataFrame
        ``subject_id``, ``visit``, ``target_day``, ``status``, ``death_day`` and
        ``value_column`` (a longitudinal frame of an endpoint module).
    value_column, ylabel : str
        The value plotted and the y-axis label (with its unit: "CRP, mg/dL").
    max_lines : int
        At most this many subject lines (a seeded random sample when there are more).
    seed : int
        Seed of that sample.
    log_y : bool
        Logarithmic y axis (values must be positive).
    title : str, optional
        Title over the plot (``Page.figure_title``).

    Visits are equally spaced on the x axis (labelled with the number measured). The median and
    the interquartile band at a visit are of the subjects measured at that visit (every subject,
    sampled or not: ``seaborn.lineplot`` with ``estimator="median"``, ``errorbar=("pi", 50)``,
    the same linear-interpolation quartiles as the tables), so they move as subjects die or
    leave hospital. Subjects who died are drawn in black with a cross on their last value. Under
    the axis a small table gives, at each visit, the subjects who had died, been discharged, been
    lost to follow-up, not yet reached the visit or had no value. A median of fewer than
    :data:`FEW_MEASURED` subjects is drawn with an open mark labelled with its n.
    """
    visits = by_visit[["visit", "target_day"]].drop_duplicates().sort_values("target_day")
    position = dict(zip(visits["visit"], range(len(visits))))
    measured = by_visit[(by_visit["status"] == MEASURED) & by_visit[value_column].notna()]
    measured = measured.assign(x=measured["visit"].map(position),
                               y=measured[value_column].astype("float64"))
    if measured.empty:
        return _nothing(NO_SUBJECT_INFUSED if by_visit.empty else "no value at baseline or at any visit",
                        "No value to draw", title)
    fig, ax = plt.subplots(figsize=(11, 6.2))
    shown = set(_sample(by_visit["subject_id"].drop_duplicates().to_numpy(), max_lines, seed))
    died = set(by_visit.loc[by_visit["death_day"].notna(), "subject_id"])
    lines = measured[isin(measured["subject_id"], shown)].sort_values(["subject_id", "x"])
    for dead, colour, width, alpha in ((False, _LINE, 0.7, 0.45), (True, _DEAD, 0.9, 0.8)):
        part = lines[isin(lines["subject_id"], died) == dead]
        if len(part):
            sns.lineplot(data=part, x="x", y="y", units="subject_id", estimator=None, color=colour, lw=width,
                         alpha=alpha, zorder=2, legend=False, ax=ax)
            if dead:
                last = part.groupby("subject_id").tail(1)
                ax.plot(last["x"], last["y"], "x", color=_DEAD, ms=7, mew=1.6, zorder=4)
    sns.lineplot(data=measured, x="x", y="y", estimator="median", errorbar=("pi", 50), color=_MEDIAN, lw=2.6,
                 marker="o", markersize=6, err_kws={"facecolor": _BAND, "alpha": 0.2}, zorder=5, legend=False, ax=ax)
    few = measured.groupby("x")["y"].agg(["median", "size"]).query(f"size < {FEW_MEASURED}")
    for x, r in few.iterrows():
        ax.plot(x, r["median"], "o", mfc="white", mec=_MEDIAN, mew=2, ms=10, zorder=6)
        ax.annotate(f"n={int(r['size'])}", (x, r["median"]), xytext=(8, 6), textcoords="offset points",
                    color=_MEDIAN, fontsize=9, zorder=6)
    _visit_ticks(ax, visits, measured.groupby("visit").size().reindex(visits["visit"], fill_value=0))
    if log_y and (measured["y"] > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("Visit (days since infusion); n = subjects measured at the visit")
    ax.set_ylabel(plain_text(ylabel))
    _status_strip(ax, by_visit, visits)
    handles = [Line2D([], [], color=_MEDIAN, lw=2.6, marker="o", label=MEDIAN_LABEL),
               Patch(facecolor=_BAND, alpha=0.3, label=IQR_LABEL),
               Line2D([], [], color=_LINE, lw=1, label="one subject"),
               Line2D([], [], color=_DEAD, lw=1, marker="x", label="subject who died (x: last value)")]
    if len(few):
        handles.append(Line2D([], [], ls="", marker="o", mfc="white", mec=_MEDIAN, mew=2, ms=9, label=FEW_LABEL))
    return _finish(fig, ax, title, handles)


def change_distribution_figure(by_visit: pd.DataFrame, change_column: str, *, ylabel: str,
                               title: str | None = None, max_points: int = 300) -> plt.Figure:
    """Distribution of the change from baseline at each visit: a box and every subject's value (seaborn).

    Parameters
    ----------
    by_visit : DataFrame
        ``visit``, ``target_day``, ``status``, ``has_baseline`` and ``change_column``.
    change_column, ylabel : str
        The change (value - baseline) and the y-axis label with its unit.
    title : str, optional
        Title over the plot.
    max_points : int
        Most subjects of a visit drawn as dots; a visit with more shows its box only (the legend
        says so), as dots would merge into a bar.

    Every visit after day 0 has its place on the x axis, with the number of subjects who have a
    value and a baseline under it (an empty place when none), and the status table of
    :func:`spaghetti_figure` below. Box: median and quartiles; whiskers: the furthest values
    within 1.5 interquartile ranges; dots: each subject; dashed line: no change.
    """
    visits = by_visit.loc[by_visit["target_day"] > 0, ["visit", "target_day"]].drop_duplicates() \
        .sort_values("target_day")
    rows = by_visit[(by_visit["target_day"] > 0) & (by_visit["status"] == MEASURED) & by_visit["has_baseline"]
                    & by_visit[change_column].notna()]
    if rows.empty:
        return _nothing(NO_SUBJECT_INFUSED if by_visit.empty else
                        "no subject with a value and a baseline at any visit", "No change to draw", title)
    data = pd.DataFrame({"visit": pd.Categorical(rows["visit"], categories=list(visits["visit"])),
                         "change": rows[change_column].astype("float64").to_numpy()})
    fig, ax = plt.subplots(figsize=(11, 6))
    ax.axhline(0, color="#666666", lw=1, ls="--", zorder=1)
    sns.boxplot(data=data, x="visit", y="change", order=list(visits["visit"]), color="#dbe4f0", width=0.55,
                showfliers=False, linecolor="#3b4a6b", linewidth=1, ax=ax)
    n_at = data.groupby("visit", observed=False)["change"].transform("size")
    dots = data[n_at <= max_points]
    if len(dots):
        sns.stripplot(data=dots, x="visit", y="change", order=list(visits["visit"]), color="#3b4a6b", size=3.5,
                      alpha=0.75, jitter=0.15, ax=ax)
    _visit_ticks(ax, visits, data.groupby("visit", observed=False).size().reindex(visits["visit"], fill_value=0))
    ax.set_xlabel("Visit (days since infusion); n = subjects with a value and a baseline")
    ax.set_ylabel(plain_text(ylabel))
    _status_strip(ax, by_visit[by_visit["target_day"] > 0], visits)
    handles = [Patch(facecolor="#dbe4f0", edgecolor="#3b4a6b", label="box: median and Q1 to Q3"),
               Line2D([], [], color="#3b4a6b", lw=1, label="whiskers: furthest values\nwithin 1.5 IQR of the box"),
               Line2D([], [], color="#3b4a6b", marker="o", ls="", ms=4,
                      label="one subject" if len(dots) == len(data) else
                      f"one subject (visits of at most\n{max_points} subjects; box only above)"),
               Line2D([], [], color="#666666", ls="--", lw=1, label="no change from baseline")]
    if not len(dots):
        handles[2] = Patch(facecolor="white", edgecolor="white",
                           label=f"no dots: more than {max_points}\nsubjects at every visit")
    return _finish(fig, ax, title, handles)


def stacked_share_figure(counts: pd.DataFrame, category_column: str, colours: dict,
                         *, ylabel: str = "Share of treated subjects", title: str | None = None) -> plt.Figure:
    """Stacked bars: share of subjects in each category at each visit, n on each bar (seaborn ``histplot``
    with ``multiple="fill"``, weighted by the counts).

    Parameters
    ----------
    counts : DataFrame
        ``visit``, ``target_day``, ``category_column`` (categorical: its order is the stacking
        order, bottom first), ``n_subjects``.
    colours : dict
        Category -> colour (missing ones are grey).
    title : str, optional
        Title over the plot.
    """
    if counts.empty or counts["n_subjects"].sum() == 0:
        return _nothing(NO_SUBJECT_INFUSED, "No subject to draw", title)
    wide = counts.pivot_table(index=["target_day", "visit"], columns=category_column, values="n_subjects",
                              aggfunc="sum", observed=False).fillna(0)
    total = wide.sum(axis=1).to_numpy()
    share = wide.div(np.where(total > 0, total, 1), axis=0)
    categories = [c for c in wide.columns]
    tidy = pd.DataFrame({"x": np.repeat(np.arange(len(wide)), len(categories)),
                         "category": np.tile(np.array(categories, dtype=object), len(wide)),
                         "n": wide.to_numpy().ravel()})
    tidy = tidy[tidy["n"] > 0]
    palette = {c: colours.get(c, "#bbbbbb") for c in categories}
    fig, ax = plt.subplots(figsize=(11, 5))
    # seaborn stacks the last hue level at the bottom: hand it the categories top first
    sns.histplot(data=tidy, x="x", hue="category", weights="n", multiple="fill", discrete=True, shrink=0.8,
                 hue_order=categories[::-1], palette=palette, edgecolor="white", linewidth=0.6, alpha=1,
                 legend=False, ax=ax)
    bottom = np.zeros(len(wide))
    for category in categories:
        for xi, s, b, k in zip(range(len(wide)), share[category], bottom, wide[category]):
            if s >= 0.06:
                ax.text(xi, b + s / 2, f"{int(k)}", ha="center", va="center", fontsize=7.5,
                        color="white" if category in ("red", "died", "worsened", "improved", "<= 100 (severe)",
                                                      "> 300") else "#222")
        bottom += share[category].to_numpy()
    _visit_ticks(ax, pd.DataFrame({"visit": [v for _, v in wide.index]}), pd.Series(total), prefix="N")
    ax.set_xlabel("Visit (days since infusion); N = subjects counted")
    ax.set_ylim(0, 1)
    ax.set_ylabel(plain_text(ylabel))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    handles = [Patch(facecolor=palette[c], label=plain_text(c)) for c in categories[::-1]]
    return _finish(fig, ax, title, handles)


def level_bars_figure(distribution: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Liao level of every treated subject at every visit; deaths, discharges and missing
    assessments as their own categories (``liao_improvement.level_distribution``)."""
    return stacked_share_figure(distribution, "category", {**LEVEL_COLOURS, **STATUS_COLOURS}, title=title)


def impression_bars_figure(counts: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Radiologist's impression of every treated subject at every CT visit
    (``radiology.impression_counts``)."""
    return stacked_share_figure(counts, "impression_category", {**_IMPRESSION_COLOURS, **STATUS_COLOURS},
                                title=title)


def berlin_bars_figure(counts: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Berlin oxygenation band of every treated subject at baseline and each visit, or why there is no
    blood gas (``pao2_fio2.berlin_counts``)."""
    return stacked_share_figure(counts, "category", {**BERLIN_COLOURS, **STATUS_COLOURS}, title=title)


def proportion_figure(props: pd.DataFrame, *, ylabel: str = "Improved, % of evaluable subjects",
                      title: str | None = None) -> plt.Figure:
    """Proportion improved at each visit as bars with the exact 95 % CI, ``k/n`` over each bar (seaborn).

    Parameters
    ----------
    props : DataFrame
        ``visit``, ``target_day``, ``n_improved``, ``n_evaluable``, ``improved_prop``,
        ``ci95_lower``, ``ci95_upper`` (e.g. ``radiology.improvement_proportions``); a visit
        without an estimate is written "not estimable" at its place.
    """
    if props.empty or props["improved_prop"].isna().all():
        reasons = props["not_estimable_reason"] if "not_estimable_reason" in props else []
        return _nothing(reasons if len(props) else NO_SUBJECT_INFUSED, "No proportion to draw", title)
    data = props.sort_values("target_day").reset_index(drop=True)
    data = data.assign(pct=100 * data["improved_prop"].astype("float64"), x=np.arange(len(data)))
    fig, ax = plt.subplots(figsize=(10, 4.8))
    sns.barplot(data=data, x="x", y="pct", color="#2e9e44", alpha=0.85, width=0.55, errorbar=None,
                native_scale=True, ax=ax)
    est = data["pct"].to_numpy()
    ok = ~np.isnan(est)
    lower = 100 * data["ci95_lower"].astype("float64").to_numpy()
    upper = 100 * data["ci95_upper"].astype("float64").to_numpy()
    ax.errorbar(data["x"][ok], est[ok], yerr=[est[ok] - lower[ok], upper[ok] - est[ok]], fmt="none",
                ecolor="#222222", elinewidth=1.2, capsize=5, zorder=5)
    for xi, e, hi, k, n in zip(data["x"], est, upper, data["n_improved"], data["n_evaluable"]):
        if np.isnan(e):
            ax.text(xi, 2, "not estimable", ha="center", va="bottom", fontsize=8, color="#444", rotation=90)
        else:
            ax.text(xi, min(hi, 100) + 2, f"{int(k)}/{int(n)}", ha="center", va="bottom", fontsize=8.5)
    _visit_ticks(ax, data, data["n_evaluable"])
    ax.set_xlabel("Visit (days since infusion); n = evaluable subjects")
    ax.set_ylim(0, 112)
    ax.set_ylabel(plain_text(ylabel))
    handles = [Patch(facecolor="#2e9e44", alpha=0.85, label="proportion improved (k/n over the bar)"),
               Line2D([], [], color="#222222", lw=1.2, marker="_", ms=10, label="exact (Clopper-Pearson) 95% CI")]
    return _finish(fig, ax, title, handles)
