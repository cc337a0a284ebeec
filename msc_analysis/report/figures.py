"""Figures for the rendered reports. Each takes tidy frames and returns a matplotlib Figure."""
from __future__ import annotations

import io
import math
from textwrap import fill

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["consort_figure", "enrollment_figure", "follow_up_figure", "add_footnote", "plain_text",
           "not_estimable_figure", "use_house_theme", "HOUSE_PALETTE", "compact_png"]

#: Colours of the house theme, in order (seaborn's colour-blind-safe palette).
HOUSE_PALETTE = "colorblind"


def use_house_theme() -> None:
    """The one look of every figure of the kit: seaborn's white grid, colour-blind-safe colours,
    text sized for a page read on screen and on paper. Every page calls it once (``Page``)."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette=HOUSE_PALETTE, font_scale=0.95,
                  rc={"figure.dpi": 100, "savefig.dpi": 100, "axes.titlesize": 12, "axes.titleweight": "bold",
                      "axes.spines.top": False, "axes.spines.right": False, "grid.color": "#e6e6e6"})
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the kernel
        return
    shell = get_ipython()
    if shell is not None:  # in a notebook: every figure is shown as a compact PNG
        from matplotlib.figure import Figure

        # The inline backend registers its own PNG of a figure when pyplot first needs a backend;
        # make that happen now, so that it does not replace this one later.
        plt.close(plt.figure())
        shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def compact_png(fig: plt.Figure) -> bytes:
    """The PNG a page shows for ``fig``: cropped to its content like Jupyter's own (``bbox_inches="tight"``),
    with an adaptive palette of at most 256 colours (Pillow's fast octree).

    Plots hold a few dozen colours and their anti-aliased edges, so the palette is not seen and
    the file is a quarter to a third of the full-colour PNG: a page of 40 patient profiles stays a few
    megabytes. :func:`use_house_theme` makes it the PNG of every figure a notebook displays.

    Examples
    --------
    >>> fig, ax = plt.subplots(figsize=(3, 2)); _ = ax.plot([0, 1], [0, 1])
    >>> png = compact_png(fig); plt.close(fig)
    >>> from PIL import Image
    >>> image = Image.open(io.BytesIO(png)); image.format, image.mode
    ('PNG', 'P')
    """
    from PIL import Image

    image = _drawn_tight(fig)
    if image is None:
        full = io.BytesIO()
        fig.savefig(full, format="png", bbox_inches="tight", facecolor="white")
        image = Image.open(io.BytesIO(full.getvalue()))
    out = io.BytesIO()
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, format="PNG")
    return out.getvalue()


def _drawn_tight(fig: plt.Figure):
    """``fig`` drawn once on its own Agg canvas, white behind it, cut to what ``bbox_inches="tight"``
    keeps (its tight box, padded by ``savefig.pad_inches``); None when that shortcut does not apply.

    ``savefig(bbox_inches="tight")`` draws the figure twice (once to measure, once to paint); here it
    is drawn once and the measured box is cut out of the painted canvas (padding beyond the canvas's
    edge is white, as ``savefig`` paints it). Not when something is drawn beyond the figure's edge
    (``savefig`` would show it), when the canvas is not Agg, or when ``savefig.dpi`` differs from the
    figure's.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    dpi = fig.dpi
    pad = plt.rcParams["savefig.pad_inches"]
    if (not isinstance(fig.canvas, FigureCanvasAgg) or plt.rcParams["savefig.dpi"] not in ("figure", dpi)
            or not isinstance(pad, (int, float))):
        return None
    face = fig.patch.get_facecolor()
    fig.patch.set_facecolor("white")
    try:
        fig.canvas.draw()
        tight = fig.get_tightbbox(fig.canvas.get_renderer())
        width, height = fig.get_size_inches()
        if tight.x0 < 0 or tight.y0 < 0 or tight.x1 > width or tight.y1 > height:
            return None
        drawn = Image.frombuffer("RGBA", fig.canvas.get_width_height(physical=True), fig.canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1)
        box = tight.padded(pad)
        image = Image.new("RGB", (int(box.width * dpi), int(box.height * dpi)), "white")
        image.paste(Image.alpha_composite(Image.new("RGBA", drawn.size, "white"), drawn).convert("RGB"),
                    (-round(box.x0 * dpi), -round((height - box.y1) * dpi)))
        return image
    finally:
        fig.patch.set_facecolor(face)


_BOX = dict(boxstyle="round,pad=0.5", facecolor="#f4f6fa", edgecolor="#3b4a6b")


def plain_text(text: str) -> str:
    """``text`` for a matplotlib label: every ``$`` escaped, so that text from a cut never becomes mathtext.

    Examples
    --------
    >>> plain_text("costs $5 or $6")
    'costs \\\\$5 or \\\\$6'
    """
    return str(text).replace("$", "\\$")


def not_estimable_figure(reasons, what: str = "Nothing to plot") -> plt.Figure:
    """A small figure that says in words why there is nothing to draw.

    Parameters
    ----------
    reasons : str or iterable of str
        Why (e.g. the ``not_estimable_reason`` values of the frame); empty ones are ignored,
        repeated ones said once.
    what : str
        The opening words.

    Examples
    --------
    >>> fig = not_estimable_figure(["no subject infused yet", "no subject infused yet"])
    >>> fig.axes[0].texts[0].get_text()
    'Nothing to plot: not estimable (no subject infused yet).'
    """
    reasons = [reasons] if isinstance(reasons, str) else list(reasons)
    unique = list(dict.fromkeys(str(r) for r in reasons if isinstance(r, str) and r))
    text = f"{what}: not estimable ({'; '.join(unique)})." if unique else f"{what}: no data."
    fig, ax = plt.subplots(figsize=(9, 2.2))
    ax.set_axis_off()
    ax.text(0.5, 0.5, plain_text(fill(text, 90)), ha="center", va="center", fontsize=11, color="#444",
            transform=ax.transAxes, bbox=dict(boxstyle="round,pad=0.8", facecolor="#f4f6fa", edgecolor="#bbbbbb"))
    return fig


def add_footnote(fig: plt.Figure, text: str) -> plt.Figure:
    """Write ``text`` under the figure (population, n, method, data cutoff).

    ``text`` is drawn as it is: a ``$`` in it is a dollar sign, never the start of mathtext (escaped
    as ``\\$``; ``parse_math=False`` is not enough, since matplotlib's line wrapping ignores it).
    """
    fig.text(0.01, 0.005, plain_text(text), ha="left", va="bottom", fontsize=8, color="#444", wrap=True)
    # Room for the x tick labels and axis label (about 0.6 inch) above every line the footnote wraps
    # to (8 pt text: about 15 characters per inch of width, 0.14 inch per line), so a long footnote
    # never runs into the axis label.
    width_in, height_in = fig.get_size_inches()
    lines = max(1, math.ceil(len(text) / (15 * width_in)))
    fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.16, min(0.45, (0.6 + 0.14 * lines) / height_in)))
    return fig


def consort_figure(flow: pd.DataFrame, failures: pd.DataFrame, deviations: pd.DataFrame,
                   title: str = "") -> plt.Figure:
    """CONSORT-style flow: screened -> eligible -> enrolled -> treated, with exclusions.

    Parameters
    ----------
    flow : DataFrame
        ``population``, ``n_subjects`` (from :func:`~msc_analysis.endpoints.overview.trial_flow`).
    failures : DataFrame
        ``label``, ``n_failing`` (from :func:`~msc_analysis.endpoints.overview.screen_failures`).
    deviations : DataFrame
        ``step``, ``n_subjects`` (from :func:`~msc_analysis.endpoints.overview.flow_deviations`).
    title : str
        Title above the figure (e.g. from ``Page.figure_title``).
    """
    n = dict(zip(flow["population"], flow["n_subjects"]))
    d = dict(zip(deviations["step"], deviations["n_subjects"]))
    fig, ax = plt.subplots(figsize=(9, 6.5))
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    main = [("Screened", n["screened"], 9.2), ("Eligible", n["eligible"], 6.4),
            ("Enrolled", n["enrolled"], 3.8), ("Treated (received the MSC infusion)", n["treated"], 1.2)]
    for label, count, y in main:
        ax.text(3, y, f"{label}\nn = {count}", ha="center", va="center", fontsize=11, bbox=_BOX)
    for y0, y1 in ((9.2, 6.4), (6.4, 3.8), (3.8, 1.2)):
        ax.annotate("", xy=(3, y1 + 0.55), xytext=(3, y0 - 0.55),
                    arrowprops=dict(arrowstyle="->", color="#3b4a6b"))
    lines = [f"Not eligible: n = {n['screened'] - n['eligible']}"]
    lines += [plain_text(f"  {r.label}: {r.n_failing}") for r in failures.itertuples()]
    lines.append("  (a subject may fail more than one criterion)")
    ax.text(5.2, 7.8, "\n".join(lines), ha="left", va="center", fontsize=8.5, bbox=_BOX)
    ax.text(5.2, 5.1, f"Eligible, not enrolled: n = {d['eligible, not enrolled']}\n"
            f"Enrolled although not eligible: n = {d['enrolled, not eligible']}",
            ha="left", va="center", fontsize=8.5, bbox=_BOX)
    ax.text(5.2, 2.5, f"Enrolled, not infused: n = {d['enrolled, not infused']}", ha="left", va="center",
            fontsize=8.5, bbox=_BOX)
    if title:
        ax.set_title(plain_text(title), loc="left")
    fig.tight_layout()
    return fig


def enrollment_figure(enrollment: pd.DataFrame, planned: dict, title: str = "") -> plt.Figure:
    """Cumulative screened, enrolled and treated by date (seaborn steps), with the registered planned dates.

    Parameters
    ----------
    enrollment : DataFrame
        ``date``, ``population``, ``n_subjects_cumulative``.
    planned : dict
        Label -> date (e.g. study start, primary completion, study completion).
    title : str
        Title above the figure.
    """
    import seaborn as sns

    if enrollment.empty:
        return not_estimable_figure("no subject screened yet", "No enrollment to draw")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    sns.lineplot(data=enrollment, x="date", y="n_subjects_cumulative", hue="population", drawstyle="steps-post",
                 estimator=None, linewidth=2, ax=ax)
    top = float(enrollment["n_subjects_cumulative"].max())
    ax.set_ylim(0, top * 1.25 + 1)
    for label, day in planned.items():
        ax.axvline(pd.Timestamp(day), color="#888", ls="--", lw=1)
        ax.text(pd.Timestamp(day), ax.get_ylim()[1], plain_text(f" {label}\n {day}"), fontsize=8, va="top",
                color="#555")
    ax.set_ylabel("Subjects (cumulative)")
    ax.set_xlabel("Date")
    ax.legend(title=None, loc="upper left", bbox_to_anchor=(0, 0.8))
    if title:
        ax.set_title(plain_text(title), loc="left", pad=28)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def follow_up_figure(status: pd.DataFrame, statuses=None, hospital_statuses=None, title: str = "") -> plt.Figure:
    """Horizontal bars: treated subjects by follow-up status at the cutoff, stacked by hospital status.

    Parameters
    ----------
    status : DataFrame
        ``status`` and ``hospital_status`` (``overview.status_at_cutoff``); words instead of bars
        when it is empty.
    statuses, hospital_statuses : sequence of str, optional
        Order of the bars and of the stacks (by default the categories of the columns).
    title : str
        Title above the figure.
    """
    import seaborn as sns

    if status.empty:
        return not_estimable_figure("no subject infused yet", "No follow-up to draw")
    order = list(statuses or status["status"].cat.categories)
    stacks = list(hospital_statuses or status["hospital_status"].cat.categories)
    counts = pd.crosstab(status["status"].astype(str), status["hospital_status"].astype(str))
    counts = counts.reindex(index=order, columns=stacks, fill_value=0)
    fig, ax = plt.subplots(figsize=(9, 3.2))
    left = pd.Series(0, index=order)
    colours = sns.color_palette(HOUSE_PALETTE, len(stacks))
    for colour, stack in zip(colours, stacks):
        ax.barh(order, counts[stack].to_numpy(), left=left.to_numpy(), color=colour, label=stack, height=0.6)
        left = left + counts[stack]
    for y, v in enumerate(left.to_numpy()):
        ax.text(v, y, f" {int(v)}", va="center", fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel("Treated subjects")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlim(0, max(1, left.max()) * 1.15)
    ax.legend(title="Hospital status", fontsize=8, title_fontsize=8, loc="lower right")
    sns.despine(ax=ax)
    if title:
        ax.set_title(plain_text(title), loc="left")
    fig.tight_layout()
    return fig
