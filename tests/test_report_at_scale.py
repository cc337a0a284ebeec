"""Report tables stay right when a cut has many subjects (issue 15: 10,000 and 100,000 subjects)."""
import numpy as np
import pandas as pd

from msc_analysis.report.tables import continuous_summary


def test_a_continuous_variable_with_few_distinct_values_is_summarised_as_continuous_at_any_size():
    # tableone guesses "categorical" for a column with few distinct values among many rows
    # (here 0 to 3 points among 2,000 subjects); the summary must not depend on that guess.
    values = pd.Series(np.tile([0.0, 1.0, 1.0, 3.0], 500))
    s = continuous_summary(values)
    assert s["n"] == 2000 and s["median"] == 1.0 and s["q1"] == 0.75 and s["q3"] == 1.5
    assert s["min"] == 0.0 and s["max"] == 3.0 and s["mean"] == 1.25


def _by_visit(n_subjects: int) -> pd.DataFrame:
    from msc_analysis.report.longitudinal_plots import MEASURED

    rng = np.random.default_rng(1)
    return pd.DataFrame({"subject_id": [f"S{i}" for i in range(n_subjects)], "visit": "Day 7", "target_day": 7,
                         "status": MEASURED, "has_baseline": True, "change": rng.normal(0, 1, n_subjects)})


def _dots(fig) -> int:
    return sum(len(c.get_offsets()) for ax in fig.axes for c in ax.collections if hasattr(c, "get_offsets"))


def test_a_visit_of_more_than_max_points_subjects_shows_its_box_without_a_dot_per_subject():
    import matplotlib.pyplot as plt

    from msc_analysis.report.longitudinal_plots import change_distribution_figure

    small = change_distribution_figure(_by_visit(30), "change", ylabel="Change", max_points=30)
    large = change_distribution_figure(_by_visit(31), "change", ylabel="Change", max_points=30)
    legend = [t.get_text() for t in large.axes[0].get_legend().get_texts()]
    assert _dots(small) >= 30 and _dots(large) < 30
    assert any("no dots: more than 30" in t for t in legend)
    plt.close("all")


def test_a_hospital_status_of_more_than_max_points_subjects_is_labelled_box_only():
    import matplotlib.pyplot as plt

    from msc_analysis.report.hospital_plots import stay_distribution_figure

    course = pd.DataFrame({"hospital_status": ["discharged alive"] * 40 + ["died in hospital"] * 5,
                           "inpatient_days_from_admission": np.arange(45.0)})
    fig = stay_distribution_figure(course, ["discharged alive", "died in hospital"], max_points=30)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["discharged alive (n = 40; box only)", "died in hospital (n = 5)"]
    assert _dots(fig) == 5
    plt.close("all")


def test_a_notebook_shows_every_figure_as_a_palette_png_under_half_the_full_colour_size():
    import base64
    import io

    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    from msc_analysis.report.figures import use_house_theme

    shell = InteractiveShell.instance()
    try:
        use_house_theme()
        fig, ax = plt.subplots(figsize=(9, 4))
        x = np.linspace(0, 60, 300)
        for k in range(3):
            ax.plot(x, np.exp(-x / (30 + 10 * k)))
            ax.fill_between(x, np.exp(-x / (30 + 10 * k)) - 0.08, np.exp(-x / (30 + 10 * k)) + 0.08, alpha=0.2)
        shown = shell.display_formatter.format(fig)[0]["image/png"]
        png = shown if isinstance(shown, bytes) else base64.b64decode(shown)
        full = io.BytesIO()
        fig.savefig(full, format="png", bbox_inches="tight")
        plt.close(fig)
    finally:
        InteractiveShell.clear_instance()
    assert Image.open(io.BytesIO(png)).mode == "P"
    assert len(png) < len(full.getvalue()) / 2


def _figure_with_footnote():
    import matplotlib.pyplot as plt

    from msc_analysis.report.figures import add_footnote

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.step([0, 7, 14, 30], [1.0, 0.9, 0.8, 0.7], where="post", label="All treated")
    ax.set_xlabel("Days since the MSC infusion (day 0)")
    ax.legend(loc="lower left")
    return add_footnote(fig, "Population: treated (n = 31). Data cutoff 2020-12-30.")


def test_a_figure_drawn_once_is_the_picture_savefig_tight_draws_twice():
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from msc_analysis.report.figures import _drawn_tight

    fig = _figure_with_footnote()
    once = _drawn_tight(fig)
    full = io.BytesIO()
    fig.savefig(full, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    twice = Image.open(full).convert("RGB")
    assert once is not None
    assert abs(once.size[0] - twice.size[0]) <= 1 and abs(once.size[1] - twice.size[1]) <= 1
    w, h = min(once.size[0], twice.size[0]), min(once.size[1], twice.size[1])
    a = np.asarray(once.crop((0, 0, w, h))).astype(int)
    b = np.asarray(twice.crop((0, 0, w, h))).astype(int)
    best = min((np.abs(a - np.roll(np.roll(b, dy, 0), dx, 1)).max(axis=2) > 60)[2:-2, 2:-2].mean()
               for dx in (-1, 0, 1) for dy in (-1, 0, 1))
    # the same picture, at most a pixel of rounding apart: here about 1 % of pixels differ (anti-aliased
    # edges drawn half a pixel apart), 2 to 5 % when the cut is off by two pixels or more
    assert best < 0.015


def test_a_figure_with_text_beyond_its_edge_is_left_to_savefig_which_shows_it():
    import matplotlib.pyplot as plt

    from msc_analysis.report.figures import _drawn_tight

    fig = _figure_with_footnote()
    fig.text(1.02, 0.5, "a note right of the figure")
    assert _drawn_tight(fig) is None
    plt.close(fig)
