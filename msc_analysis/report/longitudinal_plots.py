"""Figures and display tables of the longitudinal endpoints (CRP, PaO2/FiO2, Liao, chest CT).

Numbers come from the endpoint modules; this module only formats and draws. Figures stay
readable at any number of subjects: the spaghetti plot draws at most ``max_lines`` subject lines
(a seeded random sample when there are more, said in :func:`spaghetti_note`) while the median and
interquartile band use every subject; bar charts show shares of all treated subjects.

Nothing missing is shown as a number: a median over nobody is "NE" in the visit tables
(explained by :data:`NE_NOTE`), a proportion or cumulative incidence that cannot be estimated
reads "not estimable: <reason>", and a figure with nothing to draw says so in words.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..derive.baseline import baseline_rule
from ..derive.visits import visit_windows
from ..stats.estimability import NO_SUBJECT_INFUSED
from .figures import not_estimable_figure, plain_text

__all__ = ["LEVEL_COLOURS", "STATUS_COLOURS", "spaghetti_figure", "spaghetti_note",
           "stacked_share_figure", "level_bars_figure", "impression_bars_figure",
           "cumulative_incidence_figure",
           "visit_summary_display", "shift_table_display", "proportion_display", "baseline_note",
           "windows_note", "windows_display", "incidence_display", "sustained_outcomes_display", "fmt",
           "NE_NOTE", "bands_display"]

#: Colours of the Liao levels and of the reasons a value is missing.
LEVEL_COLOURS = {"green": "#2e9e44", "yellow": "#f2d21b", "orange": "#f08a1c", "red": "#d7261e"}
STATUS_COLOURS = {"died": "#222222", "discharged": "#8fb8de", "follow-up not reached": "#d8cfa8",
                  "no value": "#e3e3e3"}
_IMPRESSION_COLOURS = {"improved": "#2e9e44", "stable": "#8c8c8c", "worsened": "#d7261e",
                       "impression not recorded": "#cdbfe6", "not assessed (no scan)": "#e3e3e3"}
_MEASURED = "measured"
_DASH = "\u2013"
_NE = "NE"
#: Footnote of the visit tables: what "NE" means there.
NE_NOTE = ("NE = not estimable: nobody measured at that visit (for the change: nobody measured who also had a "
           "baseline; for a test or ratio: no such pair); with nobody infused yet every visit is NE")


def fmt(x, decimals: int = 1) -> str:
    """A number for display; a dash for a missing one.

    Examples
    --------
    >>> fmt(3.14159, 2), fmt(float("nan"))
    ('3.14', '–')
    """
    return _DASH if x is None or pd.isna(x) else f"{x:.{decimals}f}"


_DAY0_TEXT = {"earliest": "on day 0 only the earliest value of the day counts",
              "all": "every value of day 0 counts (the last one wins)",
              "none": "values of day 0 do not count"}


def baseline_note(family: str, summary: pd.DataFrame) -> str:
    """The baseline rule of ``family`` and how many subjects lacked a baseline, as a sentence.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visits.summarise_visits``: ``n_subjects``, ``n_no_baseline``.
    """
    rule = baseline_rule(family)
    n = int(summary["n_subjects"].iloc[0]) if len(summary) else 0
    lacking = int(summary["n_no_baseline"].iloc[0]) if len(summary) else 0
    return (f"Baseline: last value on or before the infusion day (day 0), at most "
            f"{rule['window_days_before']} days before it; {_DAY0_TEXT[rule['day0_values']]}. "
            f"{lacking} of {n} subjects had no baseline.")


def windows_note(family: str) -> str:
    """The visit windows of ``family`` as a sentence.

    Examples
    --------
    >>> windows_note("ct")[:60]
    'Visit windows (days since the infusion): Day 14 (7-21), Day '
    """
    w = visit_windows(family)
    spans = [f"{r.visit} ({r.lower_day}-{r.upper_day})" if r.lower_day != r.upper_day
             else f"{r.visit} ({r.lower_day})" for r in w.itertuples()]
    return ("Visit windows (days since the infusion): " + ", ".join(spans)
            + "; within a window the value nearest the target day is used, the earlier one on a tie.")


def bands_display(bands: pd.DataFrame, unit: str = "mmHg") -> pd.DataFrame:
    """Value bands (``category``, ``lower_<unit>``, ``upper_<unit>``; ``lower < value <= upper``,
    open ends as infinities) as words, e.g. the Berlin bands of PaO2/FiO2.

    Examples
    --------
    >>> b = pd.DataFrame({"category": ["high", "low"], "lower_mmhg": [300.0, -np.inf],
    ...                   "upper_mmhg": [np.inf, 300.0]})
    >>> bands_display(b)["Values (mmHg)"].tolist()
    ['above 300', 'up to 300']
    """
    lower, upper = bands[f"lower_{unit.lower()}"], bands[f"upper_{unit.lower()}"]
    words = [f"above {lo:g}" if np.isinf(hi) else f"up to {hi:g}" if np.isinf(lo) else f"above {lo:g}, up to {hi:g}"
             for lo, hi in zip(lower, upper)]
    return pd.DataFrame({f"Values ({unit})": words}, index=pd.Index(bands["category"].to_numpy(), name="Category"))


def windows_display(family: str) -> pd.DataFrame:
    """The visit windows of ``family`` for display: target day and window, by visit."""
    w = visit_windows(family)
    return pd.DataFrame({"Target day": w["target_day"].to_numpy(),
                         "Window (days since infusion)": [f"{a} to {b}" if a != b else f"{a}"
                                                          for a, b in zip(w["lower_day"], w["upper_day"])]},
                        index=pd.Index(w["visit"].to_numpy(), name="Visit"))


def _sample(ids: np.ndarray, max_lines: int, seed: int) -> np.ndarray:
    if len(ids) <= max_lines:
        return ids
    return np.sort(np.random.default_rng(seed).choice(ids, size=max_lines, replace=False))


def spaghetti_note(by_visit: pd.DataFrame, max_lines: int = 60) -> str:
    """What the thin lines of :func:`spaghetti_figure` show (for the footnote)."""
    n = by_visit["subject_id"].nunique()
    if n <= max_lines:
        return f"thin lines: each of the {n} subjects"
    return (f"thin lines: a random sample of {max_lines} of the {n} subjects (fixed seed); "
            "median and interquartile band from all subjects")


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
    measured = by_visit[by_visit["status"] == _MEASURED].assign(x=lambda f: f["visit"].map(position))
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


def cumulative_incidence_figure(curves: dict[str, pd.DataFrame], *, horizon_days: float = 60,
                                ylabel: str = "Cumulative incidence") -> plt.Figure:
    """Step curves of cumulative incidence with their 95 % bands.

    Parameters
    ----------
    curves : dict
        Label -> frame with ``time_days``, ``cumulative_incidence_prop``, ``ci95_lower``,
        ``ci95_upper`` (``stats.competing_risks.cumulative_incidence`` without ``times``) and
        optionally ``not_estimable_reason``: when no curve has an estimate the figure says why.
    """
    if all(c["cumulative_incidence_prop"].isna().all() for c in curves.values()):
        reasons = [r for c in curves.values() for r in c.get("not_estimable_reason", pd.Series(dtype=object))]
        return not_estimable_figure(reasons or ["no subject"], "No cumulative incidence to draw")
    fig, ax = plt.subplots(figsize=(9, 4.4))
    for (label, c), colour in zip(curves.items(), ("#2e9e44", "#222222", "#7a9cc6")):
        t = np.r_[0.0, c["time_days"].to_numpy(float)]
        y = np.r_[0.0, c["cumulative_incidence_prop"].to_numpy(float)]
        lo = np.r_[0.0, c["ci95_lower"].to_numpy(float)]
        hi = np.r_[0.0, c["ci95_upper"].to_numpy(float)]
        keep = t <= horizon_days
        ax.step(t[keep], y[keep], where="post", color=colour, lw=2, label=label)
        ax.fill_between(t[keep], lo[keep], hi[keep], step="post", color=colour, alpha=0.12)
    ax.set_xlim(0, horizon_days)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Days since the infusion (day 0)")
    fig.subplots_adjust(bottom=0.22)
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
    ax.grid(color="#eeeeee")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _median_iqr(row, column: str, decimals: int) -> str:
    m = row[f"{column}_median"]
    if pd.isna(m):
        return _NE
    return f"{fmt(m, decimals)} ({fmt(row[f'{column}_q1'], decimals)} to {fmt(row[f'{column}_q3'], decimals)})"


def visit_summary_display(summary: pd.DataFrame, *, value_column: str, change_column: str,
                          tests: pd.DataFrame | None = None, ratio: pd.DataFrame | None = None,
                          decimals: int = 1) -> pd.DataFrame:
    """One display row per visit: who is behind it, value and change as median (IQR), tests.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visits.summarise_visits`` (via an endpoint module).
    value_column, change_column : str
        Column stems of the value and of the change in ``summary``.
    tests, ratio : DataFrame, optional
        Wilcoxon results (``stats.paired.signed_rank_by_visit``) and geometric-mean ratios
        (``stats.paired.geometric_mean_ratio_by_visit``) to add.

    Returns
    -------
    DataFrame
        Text cells indexed by visit.
    """
    out = pd.DataFrame({
        "Measured": summary["n_measured"].to_numpy(),
        "Died": summary["n_died"].to_numpy(), "Discharged": summary["n_discharged"].to_numpy(),
        "Not yet reached": summary["n_not_reached"].to_numpy(), "No value": summary["n_no_value"].to_numpy(),
        "Value, median (IQR)": [_median_iqr(r, value_column, decimals) for _, r in summary.iterrows()],
        "n with change": np.where(summary["target_day"] > 0, summary["n_change"].astype(str), ""),
        "Change, median (IQR)": [_median_iqr(r, change_column, decimals) if r["target_day"] > 0 else ""
                                 for _, r in summary.iterrows()],
    }, index=pd.Index(summary["visit"].to_numpy(), name="Visit"))
    if tests is not None:
        p = tests.set_index("visit")
        out["Wilcoxon p"] = [_p(p.loc[v, "p_value"]) if v in p.index else "" for v in out.index]
    if ratio is not None:
        r = ratio.set_index("visit")
        out["Ratio to baseline, GM (95% CI)"] = [
            _ratio(r.loc[v]) if v in r.index else "" for v in out.index]
    return out


def _ratio(r) -> str:
    if pd.isna(r["geometric_mean_ratio"]):
        return _NE
    if pd.isna(r["ci95_lower"]) or pd.isna(r["ci95_upper"]):
        return f"{fmt(r['geometric_mean_ratio'], 2)} (CI {_NE}: one pair)"
    return f"{fmt(r['geometric_mean_ratio'], 2)} ({fmt(r['ci95_lower'], 2)} to {fmt(r['ci95_upper'], 2)})"


def _p(p) -> str:
    if pd.isna(p):
        return _NE
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def shift_table_display(shift: pd.DataFrame, *, row: str, column: str, by: str | None = "visit",
                        row_label: str = "At baseline") -> pd.DataFrame:
    """Counts of a shift table as a wide table with row totals.

    Parameters
    ----------
    shift : DataFrame
        Tidy counts: ``row``, ``column`` (categoricals: their order is kept), ``n_subjects``
        and, if ``by`` is given, that column (e.g. ``visit``) as the outer row level.
    """
    index = [by, row] if by else [row]
    order = shift[by].drop_duplicates().tolist() if by else None
    wide = shift.pivot_table(index=index, columns=column, values="n_subjects", aggfunc="sum",
                             observed=False, sort=False).fillna(0).astype(int)
    if by:
        wide = wide.reindex(order, level=0)
    wide["Total"] = wide.sum(axis=1)
    wide.columns.name = None
    wide.index = wide.index.set_names([*(["Visit"] if by else []), row_label])
    return wide


def proportion_display(props: pd.DataFrame, *, day_column: str, label: str = "Improved") -> pd.DataFrame:
    """Proportions with exact CIs as text: "k / n = p% (lower% to upper%)".

    Parameters
    ----------
    props : DataFrame
        ``day_column``, ``n_improved``, ``n_evaluable``, ``improved_prop``, ``ci95_lower``,
        ``ci95_upper`` and any further ``n_*`` count columns (shown as they are); with
        ``not_estimable_reason``, a missing proportion reads "not estimable: <reason>".
    """
    out = pd.DataFrame(index=pd.Index(props[day_column].to_numpy(), name="Day"))
    for c in props.columns:
        if c.startswith("n_") and c not in ("n_improved",):
            out[c[2:].replace("_", " ").capitalize()] = props[c].to_numpy()
    out[f"{label}, % (95% CI)"] = [
        _not_estimable(getattr(r, "not_estimable_reason", "")) if pd.isna(r.improved_prop) else
        f"{r.n_improved} / {r.n_evaluable} = {100 * r.improved_prop:.1f}% "
        f"({100 * r.ci95_lower:.1f} to {100 * r.ci95_upper:.1f})" for r in props.itertuples()]
    return out


def _not_estimable(reason) -> str:
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else "not estimable"


def incidence_display(incidence: pd.DataFrame) -> pd.DataFrame:
    """Cumulative incidence at given days as text: at risk, events so far, "p% (lower% to upper%)".

    Parameters
    ----------
    incidence : DataFrame
        ``time_days``, ``n_at_risk``, ``cumulative_incidence_prop``, ``ci95_lower``,
        ``ci95_upper`` (``stats.competing_risks.cumulative_incidence`` with ``times``) and
        optionally ``not_estimable_reason`` (shown as "not estimable: <reason>"). A 0 with a
        zero-width interval reads "0.0 (no events yet)"; a missing limit "NE".
    """
    def pct(x):
        return _NE if pd.isna(x) else f"{100 * x:.1f}"

    def cell(r) -> str:
        if pd.isna(r.cumulative_incidence_prop):
            return _not_estimable(getattr(r, "not_estimable_reason", ""))
        if r.cumulative_incidence_prop == 0 and r.ci95_lower == r.ci95_upper == 0:
            return "0.0 (no events yet)" if r.n_at_risk > 0 else "0.0 (no events; nobody left at risk)"
        return f"{pct(r.cumulative_incidence_prop)} ({pct(r.ci95_lower)} to {pct(r.ci95_upper)})"

    return pd.DataFrame({
        "At risk": incidence["n_at_risk"].to_numpy(),
        "Cumulative incidence, % (95% CI)": [cell(r) for r in incidence.itertuples()]},
        index=pd.Index(incidence["time_days"].astype(int).to_numpy(), name="Day"))


def sustained_outcomes_display(sustained: pd.DataFrame) -> pd.DataFrame:
    """Subjects by outcome of the sustained-low-score endpoint, with the two caveats counted.

    Parameters
    ----------
    sustained : DataFrame
        From ``liao_improvement.sustained_low_score``: ``outcome``, ``low_score_possible``,
        ``discharged_before_event``.
    """
    order = ["sustained low score", "died first", "censored"]
    frame = pd.DataFrame({"outcome": sustained["outcome"].to_numpy(),
                          "impossible": ~sustained["low_score_possible"].astype(bool).to_numpy(),
                          "discharged": sustained["discharged_before_event"].astype(bool).to_numpy()})
    counts = frame.groupby("outcome").agg(n=("outcome", "size"), impossible=("impossible", "sum"),
                                          discharged=("discharged", "sum"))
    counts = counts.reindex(order, fill_value=0).astype(int)
    counts.columns = ["Subjects", "of whom a low score was impossible (age points)",
                      "of whom censored at discharge alive"]
    return counts.rename_axis("Outcome")
