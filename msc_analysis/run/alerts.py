"""Safety alerts of a report: what a monitoring board must see first.

An alert is raised when the toxicity monitoring boundary or the mortality watch is crossed at
this cut, when deaths, serious adverse events or grade >= 3 adverse events are new since the
previous cut, or when a page failed. The runner writes the alerts to ``alerts.json``, prints them as ``SAFETY ALERT:``
lines and shows them at the top of the index. A crossing is not a failure of the run.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

__all__ = ["ALERT_KINDS", "ALERTS_FILE", "BOUNDARY_MEASURE", "MORTALITY_MEASURE", "MIN_ALERT_GRADE", "build_alerts", "run_alerts",
           "read_alerts"]

#: The results measure (1 crossed, 0 not) written by the safety monitoring page.
BOUNDARY_MEASURE = "monitoring_boundary_crossed"
#: The results measure (1 crossed, 0 not) of the all-cause mortality watch, beside the toxicity rule.
MORTALITY_MEASURE = "mortality_watch_boundary_crossed"
#: The lowest CTCAE grade of a new adverse event that raises an alert.
MIN_ALERT_GRADE = 3
#: Every kind of alert, in the order they are listed.
ALERT_KINDS = ("boundary_crossed", "mortality_watch_crossed", "new_deaths", "new_serious_adverse_events",
               "new_grade3_adverse_events", "failed_pages")


def _crossed(results: pd.DataFrame | None, measure: str = BOUNDARY_MEASURE) -> bool:
    if results is None or not len(results):
        return False
    rows = results.loc[results["measure"] == measure, "estimate"]
    return bool((pd.to_numeric(rows, errors="coerce") == 1).any())


def _value(results: pd.DataFrame, measure: str, column: str):
    rows = results.loc[results["measure"] == measure, column]
    value = pd.to_numeric(rows, errors="coerce").dropna()
    return float(value.iloc[0]) if len(value) else None


#: Per rule: (its crossed flag, the count measure, the words after "k of n evaluable subjects", the
#: probability measure, how the probability is written).
_RULE_NUMBERS = {
    BOUNDARY_MEASURE: ("toxicity_subjects", "with toxicity", "toxicity_rate_exceeds_threshold_prob",
                       "Pr(rate > threshold)"),
    MORTALITY_MEASURE: ("mortality_30d_deaths", "died by day 30", "mortality_30d_exceeds_reference_prob",
                        "Pr(mortality > reference)"),
}


def _crossing_numbers(results: pd.DataFrame, measure: str = BOUNDARY_MEASURE) -> str:
    """"(2 of 5 evaluable subjects with toxicity; Pr(rate > threshold) = 0.901)" for the toxicity rule,
    "(7 of 21 evaluable subjects died by day 30; Pr(mortality > reference) = 0.818)" for the mortality
    watch, or what of it is known."""
    count_measure, words, prob_measure, prob_words = _RULE_NUMBERS[measure]
    count, n = _value(results, count_measure, "estimate"), _value(results, measure, "n")
    prob = _value(results, prob_measure, "estimate")
    parts = []
    if count is not None and n is not None:
        parts.append(f"{count:.0f} of {n:.0f} evaluable subjects {words}")
    if prob is not None:
        parts.append(f"{prob_words} = {prob:.3f}")
    return f" ({'; '.join(parts)})" if parts else ""


def _first_time(measure: str, previous_cut_id, previous_results) -> str:
    if previous_cut_id is None:
        return "There is no previous cut."
    if previous_results is None:
        return f"The previous cut {previous_cut_id} has no report to compare with."
    if _crossed(previous_results, measure):
        return f"It was already crossed at the previous cut {previous_cut_id}."
    return f"This is the first time: it was not crossed at the previous cut {previous_cut_id}."


def _day(value) -> str:
    return "not infused" if pd.isna(value) else f"day {int(value)}"


def _since(previous_cut_id: str | None) -> str:
    return f"since the previous cut {previous_cut_id}" if previous_cut_id else "up to this first cut"


def _new_adverse_events(new_events: pd.DataFrame, adverse_events: pd.DataFrame) -> pd.DataFrame:
    """The adverse events of this cut that ``new_events`` lists, with grade and seriousness."""
    new = new_events[new_events["event"] == "adverse event"]
    keys = set(zip(new["subject_id"], pd.to_datetime(new["date"]),
                   new["detail"].astype(str).str.rsplit(", grade ", n=1).str[0]))
    ae = adverse_events
    is_new = [k in keys for k in zip(ae["subject_id"], pd.to_datetime(ae["onset_on"]), ae["term"].astype(str))]
    return ae.loc[is_new].sort_values(["onset_on", "subject_id"], kind="stable")


#: Most events an alert message names one by one; the rest are counted ("and 555 more"). Every
#: subject is still in the alert's ``subjects`` list and on the pages.
MAX_LISTED = 20


def _listed(items: list[str], sep: str) -> str:
    """``items`` joined, the first :data:`MAX_LISTED` only, then "and N more (see the safety page)".

    >>> _listed([f"S{i}" for i in range(23)], ", ").endswith("S19, and 3 more (listed on the pages)")
    True
    """
    shown = sep.join(items[:MAX_LISTED])
    rest = len(items) - MAX_LISTED
    return f"{shown}{sep}and {rest} more (listed on the pages)" if rest > 0 else shown


def _alert(kind: str, message: str, subjects, cut_id: str) -> dict:
    return {"kind": kind, "message": message, "subjects": sorted(set(map(str, subjects))), "cut_id": cut_id}


def build_alerts(cut_id: str, results: pd.DataFrame | None, *, previous_cut_id: str | None = None,
                 previous_results: pd.DataFrame | None = None, new_events: pd.DataFrame | None = None,
                 adverse_events: pd.DataFrame | None = None, failed_pages=()) -> list[dict]:
    """The safety alerts of one cut, as a list of ``{"kind", "message", "subjects", "cut_id"}``.

    Parameters
    ----------
    cut_id : str
        The cut the alerts belong to.
    results : DataFrame or None
        This cut's results rows (schema v2, ``docs/results.md``); needs ``measure``,
        ``estimate`` and ``n``.
    previous_cut_id : str, optional
        The previous cut, if there is one.
    previous_results : DataFrame, optional
        The previous cut's results rows (``measure``, ``estimate``), to tell a first crossing
        from one already seen.
    new_events : DataFrame, optional
        ``new_events`` of :func:`~msc_analysis.endpoints.changes.compare_cuts`: ``event``,
        ``subject_id``, ``date``, ``days_since_infusion``, ``detail``. None: not checked.
    adverse_events : DataFrame, optional
        This cut's adverse events: ``subject_id``, ``term``, ``onset_on``, ``grade``,
        ``serious``, ``days_since_infusion``.
    failed_pages : sequence of str
        Names of the pages that failed.

    Returns
    -------
    list of dict
        In the order of :data:`ALERT_KINDS`; ``subjects`` is a sorted list of subject codes.
        Inputs are not modified.
    """
    alerts = []
    if _crossed(results):
        when = _first_time(BOUNDARY_MEASURE, previous_cut_id, previous_results)
        alerts.append(_alert("boundary_crossed", "The Bayesian toxicity monitoring boundary is crossed "
                             f"at {cut_id}{_crossing_numbers(results)}. {when}", [], cut_id))
    if _crossed(results, MORTALITY_MEASURE):
        when = _first_time(MORTALITY_MEASURE, previous_cut_id, previous_results)
        alerts.append(_alert("mortality_watch_crossed", "The all-cause mortality watch boundary is crossed "
                             f"at {cut_id}{_crossing_numbers(results, MORTALITY_MEASURE)}. {when}", [], cut_id))
    if new_events is not None:
        deaths = new_events[new_events["event"] == "death"]
        if len(deaths):
            listed = _listed([f"{s} ({_day(d)})" for s, d in zip(deaths["subject_id"],
                                                                 deaths["days_since_infusion"])], ", ")
            alerts.append(_alert("new_deaths", f"{len(deaths)} new death(s) {_since(previous_cut_id)}: "
                                 f"{listed}.", deaths["subject_id"], cut_id))
    if new_events is not None and adverse_events is not None:
        ae = _new_adverse_events(new_events, adverse_events)
        serious = ae["serious"].fillna(False).astype(bool)
        severe = pd.to_numeric(ae["grade"], errors="coerce") >= MIN_ALERT_GRADE
        for kind, rows, what in (
                ("new_serious_adverse_events", ae[serious], "new serious adverse event(s)"),
                ("new_grade3_adverse_events", ae[severe & ~serious],
                 f"new non-serious adverse event(s) of grade {MIN_ALERT_GRADE} or higher")):
            if len(rows):
                listed = _listed([f"{r.subject_id} {r.term}, grade {r.grade} ({_day(r.days_since_infusion)})"
                                  for r in rows.itertuples()], "; ")
                alerts.append(_alert(kind, f"{len(rows)} {what} {_since(previous_cut_id)}: {listed}.",
                                     rows["subject_id"], cut_id))
    failed = [str(p) for p in failed_pages]
    if failed:
        alerts.append(_alert("failed_pages", f"{len(failed)} page(s) failed, their results are missing: "
                             f"{', '.join(failed)}.", [], cut_id))
    return alerts


#: The report's safety alerts, as a JSON list.
ALERTS_FILE = "alerts.json"


def run_alerts(cut, work: Path, previous, previous_results: Path | None, failed_pages: list[str],
               warn=None, load=None) -> list[dict]:
    """The safety alerts of a run whose pages wrote their results in ``work/results``.

    ``previous`` is the previous cut (``.path``, ``.cut_id``) or None; ``warn`` (if given) is called
    with one line when the previous cut cannot be loaded; ``load`` (default
    :func:`~msc_analysis.cut.load_cut`) loads it (the runner passes the cut it already loaded).
    """
    from ..cut import load_cut
    from ..endpoints.changes import compare_cuts
    from ..report.results import OldResultsError, read_results

    load = load or load_cut

    before = None
    if previous is not None:
        try:
            before = load(previous.path)
        except Exception as exc:  # an invalid previous cut must not stop the report of this one
            if warn is not None:
                warn(f"warning: the previous cut {previous.path} cannot be loaded ({type(exc).__name__}); "
                     "new deaths and adverse events since it are not checked")
    new_events = compare_cuts(before, cut)["new_events"] if previous is None or before is not None else None
    try:
        earlier = (read_results(previous_results) if previous_results is not None
                   and previous_results.is_dir() and not previous_results.is_symlink() else None)
    except OldResultsError as exc:  # a report made by an older kit: say so, compare nothing with it
        if warn is not None:
            warn(f"warning: {exc}; whether the boundary was already crossed there is not checked")
        earlier = None
    except (OSError, ValueError, KeyError):
        earlier = None
    try:
        results = read_results(work / "results")
    except (OSError, ValueError, KeyError):  # a page that wrote a broken file is a failed page
        results = None
    return build_alerts(cut.cut_id, results,
                        previous_cut_id=previous.cut_id if previous else None, previous_results=earlier,
                        new_events=new_events, adverse_events=cut.adverse_events,
                        failed_pages=failed_pages)


def read_alerts(report_dir: Path) -> list[dict]:
    """The alerts a published report holds (``alerts.json``); empty if it has none."""
    path = Path(report_dir) / ALERTS_FILE
    try:
        if path.is_symlink():
            return []
        alerts = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [a for a in alerts if isinstance(a, dict)] if isinstance(alerts, list) else []
