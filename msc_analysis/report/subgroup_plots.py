"""Forest plot of the subgroup estimates (:mod:`msc_analysis.endpoints.subgroups`), house theme."""
from __future__ import annotations

from textwrap import fill

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.transforms import blended_transform_factory

from ..derive.checks import require_columns
from . import formats
from .figures import HOUSE_PALETTE, not_estimable_figure, plain_text
from .subgroup_tables import ESTIMATE_COLUMNS, OVERALL_VARIABLE, measure_title

__all__ = ["forest_rows", "forest_figure"]


def forest_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """The rows of the forest plot, top to bottom: one per subgroup (the whole population first),
    with a gap of half a row between subgroup variables.

    Returns
    -------
    DataFrame
        ``subgroup_variable``, ``subgroup_variable_label``, ``subgroup``, ``subgroup_order``,
        ``y`` (float, 0 at the top, increasing downwards).

    Examples
    --------
    >>> e = pd.DataFrame({"subgroup_variable": ["overall", "sex", "sex"],
    ...                   "subgroup_variable_label": ["Overall", "Sex", "Sex"],
    ...                   "subgroup": ["All treated subjects", "Female", "Male"], "subgroup_order": [-1, 8, 9]})
    >>> forest_rows(e)["y"].tolist()
    [0.0, 1.5, 2.5]
    """
    rows = (estimates[["subgroup_variable", "subgroup_variable_label", "subgroup", "subgroup_order"]]
            .drop_duplicates(["subgroup_variable", "subgroup"]).sort_values("subgroup_order", kind="stable")
            .reset_index(drop=True))
    new_variable = rows["subgroup_variable"].ne(rows["subgroup_variable"].shift()).to_numpy(bool, copy=True)
    step = np.ones(len(rows)) + 0.5 * new_variable
    step[:1] = 0.0  # the first row is at the top
    return rows.assign(y=np.cumsum(step))


def _short(reason: str) -> str:
    return f"not estimable ({reason})" if reason else "not estimable"


def forest_figure(estimates: pd.DataFrame, *, title: str = "") -> plt.Figure:
    """One panel per measure: the estimate of each subgroup as a point with its 95% CI, in percent.

    The whole population's estimate is the dashed vertical reference line. Each row is labelled
    with the subjects in the estimate (n: the evaluable ones for a proportion); a subgroup without an
    estimate is drawn as text with the subjects in it ("n = 2, not estimable (...)"), never left out.

    Parameters
    ----------
    estimates : DataFrame
        Rows of ``subgroups.survival_by_subgroup`` / ``subgroups.proportion_by_subgroup``
        (concatenated; columns ``subgroups.ESTIMATE_COLUMNS``).
    title : str
        Title above the figure (e.g. from ``Page.figure_title``).

    Examples
    --------
    >>> e = pd.DataFrame({"endpoint": "liao_score", "measure": "improved_prop", "subgroup_variable": ["overall", "sex"],
    ...     "subgroup_variable_label": ["Overall", "Sex"], "subgroup": ["All treated subjects", "Male"],
    ...     "subgroup_order": [-1, 9], "day": 28.0, "n": [3, 2], "n_evaluable": [2, 0], "n_at_risk": pd.NA,
    ...     "n_events": pd.NA, "n_success": [1, 0], "estimate_prop": [0.5, None], "ci95_lower": [0.0126, None],
    ...     "ci95_upper": [0.9874, None], "not_estimable_reason": ["", "no subject evaluable at day 28"], "method": ""})
    >>> fig = forest_figure(e)
    >>> [t.get_text() for t in fig.axes[0].texts if "not estimable" in t.get_text()]
    ['n = 2, not estimable (no subject evaluable at day 28)']
    """
    import seaborn as sns

    require_columns(estimates, ESTIMATE_COLUMNS, "estimates")
    if estimates.empty:
        return not_estimable_figure("no subgroup estimate", "No subgroup to draw")
    rows = forest_rows(estimates)
    y_of = dict(zip(zip(rows["subgroup_variable"], rows["subgroup"]), rows["y"]))
    panels = list(estimates[["endpoint", "measure", "day"]].drop_duplicates().itertuples(index=False))
    height = 1.6 + 0.42 * (rows["y"].max() + 1)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.8 + 3.8 * len(panels), height), sharey=True, squeeze=False)
    colour = sns.color_palette(HOUSE_PALETTE, 1)[0]
    for ax, k in zip(axes[0], panels):
        same_day = (estimates["day"] == k.day) | (estimates["day"].isna() & formats.is_missing(k.day))
        g = estimates[(estimates["endpoint"] == k.endpoint) & (estimates["measure"] == k.measure) & same_day]
        to_y = blended_transform_factory(ax.transAxes, ax.transData)
        overall = g[g["subgroup_variable"] == OVERALL_VARIABLE]
        if len(overall) and not formats.is_missing(overall["estimate_prop"].iloc[0]):
            ref = 100 * float(overall["estimate_prop"].iloc[0])
            ax.axvline(ref, color="#777", ls="--", lw=1, zorder=1)
            ax.text(ref, -0.85, f" all: {formats.pct(ref / 100)}", fontsize=8, color="#555", va="center")
        for r in g.itertuples(index=False):
            y = y_of[(r.subgroup_variable, r.subgroup)]
            if formats.is_missing(r.estimate_prop):
                ax.text(50, y, plain_text(f"n = {int(r.n)}, {_short(r.not_estimable_reason)}"), ha="center",
                        va="center", fontsize=8, color="#444", style="italic")
                continue
            est = 100 * float(r.estimate_prop)
            overall_row = r.subgroup_variable == OVERALL_VARIABLE
            if not (formats.is_missing(r.ci95_lower) or formats.is_missing(r.ci95_upper)):
                ax.plot([100 * float(r.ci95_lower), 100 * float(r.ci95_upper)], [y, y], color=colour, lw=2,
                        solid_capstyle="butt", zorder=2)
            ax.plot([est], [y], marker="D" if overall_row else "s", color="black" if overall_row else colour,
                    markersize=7 if overall_row else 6, zorder=3, ls="none")
            ax.text(1.03, y, f"n = {int(r.n_evaluable)}", transform=to_y, fontsize=8, va="center", color="#333",
                    clip_on=False)
        ax.set_xlim(-2, 102)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("Percent (95% CI)")
        ax.set_title(plain_text(fill(measure_title(k.endpoint, k.measure, k.day), 44)), fontsize=10, loc="left")
        ax.grid(axis="y", visible=False)
    first = axes[0][0]
    first.set_yticks(rows["y"].to_numpy(), [plain_text(s) for s in rows["subgroup"]])
    for tick, variable in zip(first.get_yticklabels(), rows["subgroup_variable"]):
        if variable == OVERALL_VARIABLE:
            tick.set_fontweight("bold")
    first.set_ylim(rows["y"].max() + 0.7, -1.3)
    if title:
        fig.suptitle(plain_text(title), x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    fig.subplots_adjust(wspace=0.22)
    return fig
