"""Monitoring history: the toxicity rule and the mortality watch at every look of the study.

For the current cut and every earlier cut of the same study in the same cuts folder, each look is
computed from **that cut's own data** (its own subjects, AEs and cutoff), with the rules in force
now. :func:`sibling_cuts` is the only I/O (it lists the folder and loads each cut); the metric
functions :func:`look_measures`, :func:`monitoring_history` and :func:`first_crossing` take cuts
already loaded.

Safety of the listing: only direct sub-folders of the folder holding the current cut are looked at;
links are never followed; a folder name must pass the kit's cut-name rule
(:func:`msc_analysis.io.meta.check_name`) before any path is built from it; a folder that fails to
load is kept as a look that "could not be read: <first problem>".
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..derive.follow_up import follow_up
from ..io.meta import META_FILE, check_name
from . import mortality_watch as mw
from . import safety_monitoring as sm
from .adverse_events import classify_adverse_events

__all__ = ["sibling_cuts", "look_measures", "monitoring_history", "first_crossing", "HISTORY_COLUMNS"]

#: Columns of :func:`monitoring_history`.
HISTORY_COLUMNS = ("folder", "cut_id", "cutoff_date", "current", "status", "n_evaluable", "n_toxicity",
                   "prob_exceeds_threshold", "boundary_crossed", "mortality_n_evaluable", "mortality_n_deaths",
                   "mortality_prob_exceeds_reference", "mortality_boundary_crossed")


def sibling_cuts(cut_dir, load) -> list[tuple[str, object]]:
    """Load every cut folder beside ``cut_dir`` (``cut_dir`` included): the loader, with the I/O.

    Parameters
    ----------
    cut_dir : str or Path
        The current cut folder; its parent is listed.
    load : callable
        ``load(path) -> Cut`` (the notebook passes :func:`msc_analysis.load_cut`).

    Returns
    -------
    list of (str, Cut or str)
        ``(folder name, loaded cut)``, or ``(folder name, "could not be read: <first problem>")``,
        in folder-name order. Links, names failing the cut-name rule and folders without
        ``cut.yaml`` are skipped.
    """
    parent = Path(cut_dir).resolve().parent
    with os.scandir(parent) as listing:
        names = sorted(e.name for e in listing
                       if not e.is_symlink() and e.is_dir(follow_symlinks=False) and check_name(e.name))
    out = []
    for name in names:
        path = parent / name
        if path.is_symlink() or not os.path.lexists(path / META_FILE) or (path / META_FILE).is_symlink():
            continue
        try:
            out.append((name, load(path)))
        except Exception as err:  # noqa: BLE001 - a sibling that fails to load is reported, not fatal
            problems = getattr(err, "problems", None)
            first = str(problems[0]) if problems else (str(err).splitlines() or [type(err).__name__])[0]
            out.append((name, f"could not be read: {first}"))
    return out


def look_measures(cut) -> dict:
    """Both monitoring rules at one look, from that cut's own data (rules in force from safety.yaml).

    Returns
    -------
    dict
        ``n_evaluable``, ``n_toxicity``, ``prob_exceeds_threshold``, ``boundary_crossed`` (toxicity
        rule), ``mortality_n_evaluable``, ``mortality_n_deaths``, ``mortality_prob_exceeds_reference``,
        ``mortality_boundary_crossed`` (mortality watch).
    """
    treated = cut.population("treated")
    toxicities = sm.toxicity_events(classify_adverse_events(cut.adverse_events), treated)
    tox = sm.posterior_toxicity(sm.evaluable_subjects(treated, toxicities, cutoff_date=cut.cutoff_date)).iloc[0]
    follow = follow_up(treated.drop(columns=["treated"], errors="ignore"), cut.cutoff_date)
    mort = mw.mortality_posterior(mw.mortality_evaluable(follow)).iloc[0]
    return dict(n_evaluable=int(tox["n_evaluable"]), n_toxicity=int(tox["n_toxicity"]),
                prob_exceeds_threshold=float(tox["prob_exceeds_threshold"]),
                boundary_crossed=bool(tox["boundary_crossed"]), mortality_n_evaluable=int(mort["n_evaluable"]),
                mortality_n_deaths=int(mort["n_deaths"]),
                mortality_prob_exceeds_reference=float(mort["prob_exceeds_reference"]),
                mortality_boundary_crossed=bool(mort["boundary_crossed"]))


def monitoring_history(current, looks, measure=look_measures) -> pd.DataFrame:
    """One row per look of the current study, up to and including the current cut.

    Parameters
    ----------
    current : Cut
        The cut of this page.
    looks : list of (str, Cut or str)
        Output of :func:`sibling_cuts`. Cuts of another study, or with a later cutoff, are left
        out; a folder that could not be read is kept with its message in ``status``.
    measure : callable, optional
        ``measure(cut) -> dict`` (default :func:`look_measures`).

    Returns
    -------
    DataFrame
        :data:`HISTORY_COLUMNS`: ``folder``, ``cut_id``, ``cutoff_date`` (NaT if unread),
        ``current`` (bool), ``status`` ("read" or "could not be read: ..."), then the measures of
        :func:`look_measures` (missing if unread). Readable looks in cutoff order, then unread.
    """
    rows, unread = [], []
    seen_current = False
    for folder, cut in looks:
        if isinstance(cut, str):
            unread.append(dict(folder=folder, status=cut, current=False))
            continue
        if cut.study_id != current.study_id or pd.Timestamp(cut.cutoff_date) > pd.Timestamp(current.cutoff_date):
            continue
        is_current = Path(cut.path).resolve() == Path(current.path).resolve()
        seen_current |= is_current
        rows.append(dict(folder=folder, cut_id=cut.cut_id, cutoff_date=pd.Timestamp(cut.cutoff_date),
                         current=is_current, status="read", **measure(cut)))
    if not seen_current:
        rows.append(dict(folder=Path(current.path).name, cut_id=current.cut_id,
                         cutoff_date=pd.Timestamp(current.cutoff_date), current=True, status="read",
                         **measure(current)))
    out = pd.DataFrame(rows + unread, columns=list(HISTORY_COLUMNS))
    read = out[out["status"] == "read"].sort_values(["cutoff_date", "cut_id", "folder"], kind="stable")
    out = pd.concat([read, out[out["status"] != "read"]]).reset_index(drop=True)
    out["cutoff_date"] = pd.to_datetime(out["cutoff_date"])
    out["current"] = out["current"].astype(bool)
    return out


def first_crossing(history: pd.DataFrame, column: str = "boundary_crossed") -> str | None:
    """``cut_id`` of the first readable look at which ``column`` is true, or ``None``."""
    hit = history[(history["status"] == "read") & history[column].fillna(False).astype(bool)]
    return None if hit.empty else str(hit["cut_id"].iloc[0])
