"""Tables of the Liao (NEWS-C) page: the scoring switches in words and the three improvement measures.

Each function takes the tidy frames of :mod:`msc_analysis.endpoints.liao_improvement` (passed
in: this layer knows no endpoint) and returns the cells of one table, written with
:mod:`msc_analysis.report.formats`; the page gives them a number, a title and footnotes with
:meth:`msc_analysis.report.page.Page.table`. The visit summary and the visit windows are drawn by
:mod:`msc_analysis.report.longitudinal_tables`, shared with the other longitudinal pages.

The documented defaults of the five scoring switches are those of
:func:`msc_analysis.derive.liao_score.liao_score` (the reading of Liao et al. 2020 written in
``docs/reference/liao-2020-score.md``): :func:`switch_note` names every switch of a run that
differs from them, so that a result made with ``age_points = 0`` says so in its ``method``.
"""
from __future__ import annotations

import inspect

import pandas as pd

from .. import definitions
from ..derive.liao_score import LIAO_LEVELS, liao_score
from . import formats
from .longitudinal_tables import visit_summary_display

__all__ = ["REFERENCE_DOCUMENT", "REFERENCE_CITATION", "SWITCH_MEANINGS", "documented_switch_defaults",
           "switch_note", "switches_table", "switches_footnotes", "incomplete_note", "completeness_table",
           "visit_table", "level_table", "improvement_table", "sustained_outcomes_table", "incidence_table"]

#: Where the page's reference lives in the repository (cited by path: a report folder has no docs/).
REFERENCE_DOCUMENT = "docs/reference/liao-2020-score.md"
#: The paper the score is named after.
REFERENCE_CITATION = ("Liao X, Wang B, Kang Y. Novel coronavirus infection during the 2019-2020 epidemic: "
                      "preparing intensive care units - the experience in Sichuan Province, China. "
                      "Intensive Care Med 2020;46:357-360. doi:10.1007/s00134-020-05954-2")

#: What each scoring switch means, in words (the switches of ``derive.liao_score.liao_score``).
SWITCH_MEANINGS = {
    "age_points": "Points added for age 65 years or more (NEWS-C); 0 gives plain NEWS.",
    "age_triggers_single_parameter_rule": "Whether age scoring 3 on its own makes a patient orange "
                                          "(the single-parameter rule is otherwise for vital signs only).",
    "spo2_scale": "NEWS2 SpO2 scale: 1 for most patients, 2 for hypercapnic respiratory failure.",
    "consciousness_scale": "ACVPU (NEWS2: new confusion scores 3) or AVPU (NEWS).",
    "level_rule": "How the colour is set: 'total' = NEWS trigger bands of the total score (green 0, "
                  "yellow 1-4, orange 5-6 or a single vital sign scoring 3, red 7 or more); "
                  "'cell' = colour of the worst single parameter.",
}
_SWITCH_LABELS = {
    "age_points": "Points for age 65 or more",
    "age_triggers_single_parameter_rule": "Age alone can trigger the single-parameter rule",
    "spo2_scale": "SpO2 scale",
    "consciousness_scale": "Consciousness scale",
    "level_rule": "Level rule",
}
#: The other settings of the page (parameter -> label, meaning); None as a page value: as the definitions say.
_SETTINGS = {
    "include_incomplete": ("Use incomplete assessments",
                           "Whether assessments with a vital sign missing (total is a lower bound) are used."),
    "low_score_max": ("Highest low score", "Highest score that counts as low: the score without the age item "
                      "for clinical stability (headline), the total for the pre-specified sustained low score."),
    "hold_hours": ("Hours a low score must hold", "Length of a sustained low score, both definitions (last "
                   "assessment of the run at least 2 hours short of it allowed)."),
    "horizon_days": ("Days reported", "Days of the improvement proportions and of the cumulative incidence."),
    "exclude_children": ("Leave children out", "Whether subjects younger than the adult score's age limit "
                         "(definitions/liao_adult_score.yaml) are left out of the Liao endpoints; the results "
                         "without them are shown as a sensitivity analysis either way."),
}


def _word(value) -> str:
    if value is None:
        return formats.DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def documented_switch_defaults() -> dict:
    """The documented default of each scoring switch (the defaults of ``liao_score``).

    >>> documented_switch_defaults()["age_points"], documented_switch_defaults()["level_rule"]
    (3, 'total')
    """
    parameters = inspect.signature(liao_score).parameters
    return {name: parameters[name].default for name in SWITCH_MEANINGS}


def switch_note(switches: dict, already_named=()) -> str:
    """Words naming every scoring switch that differs from its documented default, for ``method``.

    Switches in ``already_named`` (e.g. those papermill set, which ``Page.note`` names) are left out.

    >>> switch_note({"age_points": 0, "spo2_scale": 1})
    'Liao scoring switch differing from the documented default (docs/reference/liao-2020-score.md): age_points = 0 (documented default 3)'
    >>> switch_note({"age_points": 3}), switch_note({"age_points": 0}, already_named={"age_points"})
    ('', '')
    """
    defaults = documented_switch_defaults()
    differ = [f"{k} = {_word(v)} (documented default {_word(defaults[k])})" for k, v in switches.items()
              if k in defaults and k not in set(already_named) and v != defaults[k]]
    if not differ:
        return ""
    plural = "es" if len(differ) > 1 else ""
    return (f"Liao scoring switch{plural} differing from the documented default ({REFERENCE_DOCUMENT}): "
            + ", ".join(differ))


def switches_table(switches: dict, settings: dict | None = None, page_defaults: dict | None = None) -> pd.DataFrame:
    """The scoring switches and page settings in force: switch, value, what it means, page default.

    Parameters
    ----------
    switches : dict
        The five scoring switches of this run (names of ``SWITCH_MEANINGS``).
    settings : dict, optional
        Other page settings (``include_incomplete``, ``low_score_max``, ``hold_hours``,
        ``horizon_days``); a value None means "as in definitions/trial.yaml" and the defined
        value is shown.
    page_defaults : dict, optional
        The values of the page's parameters cell (``page.parameters.defaults``); without them
        the documented defaults are shown.

    Returns
    -------
    DataFrame
        ``Switch`` (words and parameter name), ``Value in this run``, ``What it means``,
        ``Page default``, ``Documented default``.

    >>> t = switches_table({"age_points": 0}, {"include_incomplete": False}, {"age_points": 3})
    >>> t.iloc[0].tolist()[1:2] + t.iloc[0].tolist()[3:]
    ['0', '3', '3']
    """
    documented = documented_switch_defaults()
    page_defaults = dict(page_defaults or {})
    frames = definitions.time_frames("liao_score")
    defined = {"low_score_max": frames["low_score_max"], "horizon_days": list(frames["report_days"]),
               "exclude_children": definitions.liao_adult_score()["exclude_children"]}

    def shown(name, value):
        if value is None and name in defined:
            where = "liao_adult_score" if name == "exclude_children" else "trial"
            return f"{_word(defined[name])} as in definitions/{where}.yaml"
        return _word(value)

    rows = [{"Switch": f"{_SWITCH_LABELS[k]} ({k})", "Value in this run": shown(k, v),
             "What it means": SWITCH_MEANINGS[k],
             "Page default": shown(k, page_defaults.get(k, documented[k])),
             "Documented default": _word(documented[k])} for k, v in switches.items() if k in SWITCH_MEANINGS]
    for k, v in (settings or {}).items():
        label, meaning = _SETTINGS.get(k, (k, ""))
        rows.append({"Switch": f"{label} ({k})", "Value in this run": shown(k, v), "What it means": meaning,
                     "Page default": shown(k, page_defaults[k]) if k in page_defaults else formats.DASH,
                     "Documented default": shown(k, None) if k in defined else formats.DASH})
    return pd.DataFrame(rows, columns=["Switch", "Value in this run", "What it means", "Page default",
                                       "Documented default"])


def switches_footnotes(method_note: str) -> list[str]:
    """Footnotes of the switches table: the reference by repository path and paper, the two
    defaults, and what the ``method`` of the results names (``method_note``, "" when nothing)."""
    named = (f"Named in the method of every result of this page: {method_note}." if method_note else
             "Every switch is at its default; the method of the results names any that is not.")
    return [f"Score, bands, levels and switches: {REFERENCE_DOCUMENT} in the msc-analysis repository, "
            f"after {REFERENCE_CITATION}.",
            "Page default: the value in the page's parameters cell; documented default: the reading of the "
            "published score the kit ships.", named]


def incomplete_note(include_incomplete: bool) -> str:
    """What an incomplete assessment is, and whether this page uses them.

    >>> incomplete_note(False).split("; ")[1]
    'left out of every measure on this page (include_incomplete = false).'
    """
    use = ("used on this page (include_incomplete = true)." if include_incomplete else
           "left out of every measure on this page (include_incomplete = false).")
    return f"Incomplete: at least one vital sign missing, so the total is a lower bound; {use}"


def completeness_table(completeness: pd.DataFrame) -> pd.DataFrame:
    """One row: assessments scored, how many lacked a vital sign, subjects assessed
    (``liao_improvement.assessment_completeness``)."""
    r = completeness.iloc[0]
    return pd.DataFrame({
        "Assessments scored": [formats.count(r["n_assessments"])],
        "Incomplete (a vital sign missing), n (%)": [formats.count_pct(r["n_incomplete"], r["n_assessments"])],
        "Subjects with an assessment": [formats.count(r["n_subjects"])]})


def visit_table(summary: pd.DataFrame, tests: pd.DataFrame | None = None) -> pd.DataFrame:
    """Total score and change from baseline by visit (``longitudinal_tables.visit_summary_display``
    with the score's one decimal for medians and quartiles), a dash where a cell does not apply
    (no change at baseline)."""
    cells = visit_summary_display(summary, value_column="liao_total", change_column="liao_change",
                                  tests=tests, decimals=1)
    if "n_lost_to_follow_up" in summary and "Lost to follow-up" not in cells:
        cells.insert(list(cells.columns).index("Discharged") + 1, "Lost to follow-up",
                     summary["n_lost_to_follow_up"].to_numpy())
    return cells.astype(object).map(lambda v: formats.DASH if isinstance(v, str) and not v.strip() else v)


def level_table(distribution: pd.DataFrame) -> pd.DataFrame:
    """Subjects by level (or why there is none) at baseline and each visit, ``n (%)`` of the treated.

    ``distribution`` comes from ``liao_improvement.level_distribution`` (``visit``,
    ``target_day``, ``category``, ``n_subjects``); one row per visit, one column per category,
    then the total.

    >>> d = pd.DataFrame({"visit": ["Day 7"] * 2, "target_day": [7, 7], "category": ["green", "died"],
    ...                   "n_subjects": [3, 1]})
    >>> level_table(d).iloc[0].tolist()
    ['Day 7', '3 (75.0%)', '1 (25.0%)', '4']
    """
    if distribution.empty:
        return pd.DataFrame(columns=["Visit"])
    categories = list(dict.fromkeys(str(c) for c in (distribution["category"].cat.categories
                                                      if hasattr(distribution["category"], "cat")
                                                      else distribution["category"])))
    wide = (distribution.assign(category=distribution["category"].astype(str))
            .pivot_table(index=["target_day", "visit"], columns="category", values="n_subjects",
                         aggfunc="sum", observed=False).reindex(columns=categories).fillna(0).astype(int))
    total = wide.sum(axis=1)
    out = pd.DataFrame({"Visit": [v for _, v in wide.index]})
    for c in categories:
        label = f"{c} level" if c in LIAO_LEVELS else c
        out[label[0].upper() + label[1:]] = [formats.count_pct(k, t) for k, t in zip(wide[c], total)]
    out["Total"] = [formats.count(t) for t in total]
    return out


def _not_estimable(reason) -> str:
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else formats.NE


def improvement_table(proportions: pd.DataFrame) -> pd.DataFrame:
    """Level fell by at least one colour, by each day: who is counted and ``k/n (x%)`` with the exact CI.

    ``proportions`` comes from ``liao_improvement.improvement_proportions`` (the headline,
    "calendar" denominator). No baseline, not yet evaluable, lost to follow-up and evaluable add
    up to the treated subjects.

    >>> p = pd.DataFrame({"horizon_day": [14], "n_subjects": [6], "n_no_baseline": [1], "n_not_yet_evaluable": [0],
    ...     "n_lost_to_follow_up": [1], "n_evaluable": [4], "n_improved": [1], "n_died": [1],
    ...     "improved_prop": [0.25], "ci95_lower": [0.0063], "ci95_upper": [0.8059], "not_estimable_reason": [""]})
    >>> improvement_table(p).iloc[0].tolist()[-2:]
    ['1/4 (25.0%)', '25.0% (0.6% to 80.6%)']
    """
    def get(column):
        return proportions[column] if column in proportions else pd.Series(0, index=proportions.index)

    reasons = get("not_estimable_reason") if "not_estimable_reason" in proportions else [""] * len(proportions)
    return pd.DataFrame({
        "By day": [formats.days(d) for d in proportions["horizon_day"]],
        "Treated": [formats.count(v) for v in proportions["n_subjects"]],
        "No baseline": [formats.count(v) for v in get("n_no_baseline")],
        "Not yet evaluable (infused fewer days before the data cutoff)": [formats.count(v)
                                                                          for v in get("n_not_yet_evaluable")],
        "Lost to follow-up (day passed, not followed to it)": [formats.count(v) for v in get("n_lost_to_follow_up")],
        "Evaluable by calendar (denominator)": [formats.count(v) for v in proportions["n_evaluable"]],
        "of whom died (counted as not improved)": [formats.count(v) for v in proportions["n_died"]],
        "Improved, n/N (%)": [formats.count_pct(k, n, of=True) if n else formats.DASH
                              for k, n in zip(proportions["n_improved"], proportions["n_evaluable"])],
        "Improved, % (exact 95% CI)": [
            formats.pct_interval(p, lo, hi) if not formats.is_missing(p) else _not_estimable(r)
            for p, lo, hi, r in zip(proportions["improved_prop"], proportions["ci95_lower"],
                                    proportions["ci95_upper"], reasons)]})


_SUSTAINED_ORDER = {1: "Sustained low score", 2: "Died in hospital first", 0: "Censored"}


def sustained_outcomes_table(sustained: pd.DataFrame) -> pd.DataFrame:
    """Subjects by outcome of the sustained-low-score endpoint, ``n (%)`` of the treated, with two caveats.

    ``sustained`` comes from ``liao_improvement.sustained_low_score`` (``event``,
    ``low_score_possible``, ``discharged_before_event``).

    >>> s = pd.DataFrame({"event": [1, 0, 0, 2], "low_score_possible": [True, False, True, True],
    ...                   "discharged_before_event": [False, True, False, False]})
    >>> sustained_outcomes_table(s)["Subjects, n (%)"].tolist()
    ['1 (25.0%)', '1 (25.0%)', '2 (50.0%)', '4']
    """
    n = len(sustained)
    event = sustained["event"].astype(int).to_numpy()
    impossible = ~sustained["low_score_possible"].astype(bool).to_numpy()
    discharged = sustained["discharged_before_event"].astype(bool).to_numpy()
    rows = []
    for code, label in _SUSTAINED_ORDER.items():
        mine = event == code
        rows.append({"Outcome": label, "Subjects, n (%)": formats.count_pct(mine.sum(), n),
                     "of whom a low score was impossible (age points)": formats.count(int((mine & impossible).sum())),
                     "of whom censored at discharge alive": (formats.count(int((mine & discharged).sum()))
                                                             if code == 0 else formats.DASH)})
    rows.append({"Outcome": "Total", "Subjects, n (%)": formats.count(n),
                 "of whom a low score was impossible (age points)": formats.count(int(impossible.sum())),
                 "of whom censored at discharge alive": formats.count(int((discharged & (event == 0)).sum()))})
    return pd.DataFrame(rows)


def incidence_table(incidence: pd.DataFrame, sustained: pd.DataFrame, *, event_label: str = "Sustained low score",
                    competing_label: str = "Died in hospital first",
                    censored_label: str = "Censored (follow-up of the endpoint ended)") -> pd.DataFrame:
    """Cumulative incidence of a sustained low score by each day, with the subjects behind it.

    Parameters
    ----------
    incidence : DataFrame
        ``liao_improvement.sustained_low_score_incidence`` read at the reported days
        (``time_days``, ``cumulative_incidence_prop``, ``ci95_lower``, ``ci95_upper``,
        ``not_estimable_reason``).
    sustained : DataFrame
        ``liao_improvement.sustained_low_score`` or ``stable_or_discharged`` (``time_days``,
        ``event``): the counts.
    event_label, competing_label, censored_label : str
        Column headers of the three counts (event 1, 2 and 0).

    Returns
    -------
    DataFrame
        By day: sustained low score by the day, died in hospital first by the day, censored
        (follow-up of the endpoint ended) by the day, still followed without either after the
        day (these four add up to the treated), and the cumulative incidence with its 95% CI.

    >>> s = pd.DataFrame({"time_days": [3, 10, 5, 60], "event": [1, 2, 0, 0]})
    >>> i = pd.DataFrame({"time_days": [7], "cumulative_incidence_prop": [0.25], "ci95_lower": [0.01],
    ...                   "ci95_upper": [0.66], "not_estimable_reason": [""]})
    >>> incidence_table(i, s).iloc[0].tolist()
    ['7', '1', '0', '1', '2', '25.0% (1.0% to 66.0%)']
    """
    time = sustained["time_days"].to_numpy(float)
    event = sustained["event"].astype(int).to_numpy()

    def by(day, code):
        return formats.count(int(((event == code) & (time <= day)).sum()))

    def cell(r) -> str:
        p = r.cumulative_incidence_prop
        if formats.is_missing(p):
            return _not_estimable(getattr(r, "not_estimable_reason", ""))
        if p == 0 and r.ci95_lower == r.ci95_upper == 0:
            return "0.0% (no event yet)"
        return formats.pct_interval(p, r.ci95_lower, r.ci95_upper)

    days = incidence["time_days"].to_numpy(float)
    return pd.DataFrame({
        "By day": [formats.days(d) for d in days],
        event_label: [by(d, 1) for d in days],
        competing_label: [by(d, 2) for d in days],
        censored_label: [by(d, 0) for d in days],
        "Still followed without either": [formats.count(int((time > d).sum())) for d in days],
        "Cumulative incidence, % (95% CI)": [cell(r) for r in incidence.itertuples()]})
