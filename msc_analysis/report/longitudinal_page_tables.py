"""Page tables of the longitudinal endpoints (CRP, PaO2/FiO2, chest CT), given to ``Page.table``.

``Page.table`` numbers and titles them ("Table 4.2 CRP by visit, treated population (N = 31)");
this module builds their cells, every one written by :mod:`msc_analysis.report.formats`:

- :func:`visit_value_table`: n measured, median and Q1 to Q3 of the value, and why the others
  have no value (died, discharged, lost to follow-up, follow-up not reached, no value);
- :func:`worst_rank_table`: the worst-rank composite of each visit (death worst, discharge alive
  best), the analysis beside the observed medians that does not lose the deaths;
- :func:`change_table`: change from baseline, Wilcoxon p, geometric-mean ratio with its 95% CI;
- :func:`shift_count_table` and :func:`category_count_table`: counts as ``n (%)`` of the
  subjects counted, zero as ``0``;
- :func:`improvement_table`: a proportion as ``k/n (p%)`` and ``p% (lower% to upper%)``, or
  "not estimable: <reason>".

The number of decimals of a measure is the endpoint module's ``DECIMALS`` (passed in: this
module knows no endpoint). Nothing missing is shown as a number: a median over nobody is "NE"
(the table layer adds its footnote).
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["VISIT_TABLE_NOTE", "WORST_RANK_NOTE", "visit_value_table", "change_table", "worst_rank_table",
           "shift_count_table", "category_count_table", "improvement_table"]


#: Footnote of the visit tables: who is counted where (every treated subject at every visit).
VISIT_TABLE_NOTE = (
    "Every treated subject is counted at every visit, once: measured, or why not (died on or before the last "
    "day of the visit window; discharged alive by then; lost to follow-up: alive but last known alive before "
    "the window's last day, although that day is on or before the data cutoff; follow-up not reached: the "
    "window's last day is after the cutoff; no value: a missed measurement). A missing value is never imputed. "
    "The median and quartiles are of the subjects measured at the visit (alive and, for most visits, still in "
    "hospital): read them with the counts and with the worst-rank table.")
#: Footnote of :func:`worst_rank_table`: what the composite ranks and who is left out.
WORST_RANK_NOTE = (
    "Worst-rank analysis (it does not lose the deaths): every subject with a baseline whose visit window had closed "
    "by the data cutoff, ranked on one scale: death by the window's last day ranked worst, then the measured "
    "changes, then discharge alive without a value ranked best (discharge alive is the recovery the value is meant "
    "to show). Left out and counted: alive and lost to follow-up, or alive in hospital without a value. Median and "
    "quartiles by linear interpolation (R type 7) on that scale; a quartile that falls on a death or a discharge "
    "reads 'died' or 'discharged alive' (it has no number). Died, % (95% CI): of the subjects ranked, exact "
    "(Clopper-Pearson) interval.")


def _not_estimable(reason) -> str:
    return f"not estimable: {reason}" if isinstance(reason, str) and reason else "not estimable"


def _visit_labels(frame: pd.DataFrame) -> list[str]:
    return [str(v) for v in frame["visit"]]


def visit_value_table(summary: pd.DataFrame, value_column: str, *, decimals: int, unit: str) -> pd.DataFrame:
    """One row per visit: day, n measured, median and Q1 to Q3 of the value, and why the others have none.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visit_summary.summarise_visits`` (via an endpoint module): ``visit``,
        ``target_day``, ``n_measured``, ``n_died``, ``n_discharged``, ``n_not_reached``,
        ``n_no_value``, ``<value_column>_median``, ``_q1``, ``_q3``.
    value_column : str
        Column stem of the value.
    decimals : int
        Decimals of the median and quartiles (the endpoint module's ``DECIMALS``).
    unit : str
        Unit written in the column labels.

    Returns
    -------
    DataFrame
        Text cells, one row per visit (baseline first): ``Visit``, ``Day``, ``n measured``,
        ``Median, <unit>``, ``Q1 to Q3, <unit>``, ``Died``, ``Discharged``, ``Lost to follow-up``
        (0 when ``summary`` has no ``n_lost_to_follow_up``), ``Follow-up not reached``, ``No value``.
        A median over nobody is "NE".

    Examples
    --------
    >>> s = pd.DataFrame({"visit": ["Baseline", "Day 7"], "target_day": [0, 7], "n_measured": [2, 0],
    ...     "n_died": [0, 1], "n_discharged": [0, 1], "n_not_reached": [0, 0], "n_no_value": [0, 0],
    ...     "x_median": [16.5, float("nan")], "x_q1": [15.75, float("nan")], "x_q3": [17.25, float("nan")]})
    >>> visit_value_table(s, "x", decimals=2, unit="mg/dL").values.tolist()
    [['Baseline', '0', '2', '16.50', '15.75 to 17.25', '0', '0', '0', '0', '0'], ['Day 7', '7', '0', 'NE', 'NE', '1', '1', '0', '0', '0']]
    """
    def iqr(r) -> str:
        q1, q3 = r[f"{value_column}_q1"], r[f"{value_column}_q3"]
        if formats.is_missing(q1) or formats.is_missing(q3):
            return formats.NE
        return f"{formats.number(q1, decimals)} to {formats.number(q3, decimals)}"

    return pd.DataFrame({
        "Visit": _visit_labels(summary),
        "Day": [formats.days(d) for d in summary["target_day"]],
        "n measured": [formats.count(v) for v in summary["n_measured"]],
        f"Median, {unit}": [formats.number(v, decimals) for v in summary[f"{value_column}_median"]],
        f"Q1 to Q3, {unit}": [iqr(r) for _, r in summary.iterrows()],
        "Died": [formats.count(v) for v in summary["n_died"]],
        "Discharged": [formats.count(v) for v in summary["n_discharged"]],
        "Lost to follow-up": [formats.count(v) for v in summary.get("n_lost_to_follow_up",
                                                                    pd.Series(0, index=summary.index))],
        "Follow-up not reached": [formats.count(v) for v in summary["n_not_reached"]],
        "No value": [formats.count(v) for v in summary["n_no_value"]],
    })


def _gmr_cell(r, decimals: int) -> str:
    if formats.is_missing(r["geometric_mean_ratio"]):
        return formats.NE
    if formats.is_missing(r["ci95_lower"]) or formats.is_missing(r["ci95_upper"]):
        return f"{formats.number(r['geometric_mean_ratio'], decimals)} (no interval: one pair)"
    return formats.number_interval(r["geometric_mean_ratio"], r["ci95_lower"], r["ci95_upper"], decimals)


def change_table(summary: pd.DataFrame, change_column: str, *, decimals: int, unit: str,
                 tests: pd.DataFrame | None = None, ratio: pd.DataFrame | None = None,
                 ratio_decimals: int = 2) -> pd.DataFrame:
    """One row per visit after baseline: the change from baseline, its Wilcoxon p and the ratio to baseline.

    Parameters
    ----------
    summary : DataFrame
        From ``derive.visit_summary.summarise_visits``: ``visit``, ``target_day``, ``n_change``,
        ``<change_column>_median``, ``_q1``, ``_q3``.
    change_column : str
        Column stem of the change (value - baseline).
    decimals, unit : int, str
        Decimals of the change (the endpoint module's ``DECIMALS``) and its unit.
    tests : DataFrame, optional
        ``stats.paired.signed_rank_by_visit``: ``visit``, ``p_value``.
    ratio : DataFrame, optional
        ``stats.paired.geometric_mean_ratio_by_visit``: ``visit``, ``n_ratio``,
        ``geometric_mean_ratio``, ``ci95_lower``, ``ci95_upper``.
    ratio_decimals : int
        Decimals of the ratio.

    Returns
    -------
    DataFrame
        Text cells: ``Visit``, ``Day``, ``n with baseline and value``, ``Median change, <unit>``,
        ``Q1 to Q3, <unit>``, then ``Wilcoxon p`` (with ``tests``) and ``n ratios``,
        ``Ratio to baseline, geometric mean (95% CI)`` (with ``ratio``). A visit without a test or
        ratio row (no subject at all) reads NE, with 0 ratios.

    Examples
    --------
    >>> s = pd.DataFrame({"visit": ["Baseline", "Day 7"], "target_day": [0, 7], "n_change": [0, 4],
    ...     "c_median": [float("nan"), -2.5], "c_q1": [float("nan"), -3.25],
    ...     "c_q3": [float("nan"), -1.0]})
    >>> t = pd.DataFrame({"visit": ["Day 7"], "p_value": [0.125]})
    >>> change_table(s, "c", decimals=1, unit="points", tests=t).values.tolist()
    [['Day 7', '7', '4', '-2.5', '-3.2 to -1.0', '0.125']]
    """
    rows = summary[summary["target_day"] > 0].reset_index(drop=True)
    out = visit_value_table(rows.assign(n_measured=rows["n_change"], n_died=0, n_discharged=0, n_not_reached=0,
                                        n_no_value=0), change_column, decimals=decimals, unit=unit).iloc[:, :5]
    out.columns = ["Visit", "Day", "n with baseline and value", f"Median change, {unit}", f"Q1 to Q3, {unit}"]
    visits = _visit_labels(rows)
    if tests is not None:
        p = tests.set_index("visit")
        how = p["test_method"] if "test_method" in p else pd.Series("", index=p.index)
        out["Wilcoxon p"] = [formats.p_value_or_reason(p.loc[v, "p_value"], how.get(v, "")) if v in p.index else formats.NE
                             for v in visits]
    if ratio is not None:
        r = ratio.set_index("visit")
        out["n ratios"] = [formats.count(r.loc[v, "n_ratio"]) if v in r.index else "0" for v in visits]
        out["Ratio to baseline, geometric mean (95% CI)"] = [
            _gmr_cell(r.loc[v], ratio_decimals) if v in r.index else formats.NE for v in visits]
    return out


_STATE_WORDS = {"died": "died", "discharged": "discharged alive"}


def _quantile_cell(value, state: str, decimals: int) -> str:
    if state in _STATE_WORDS:
        return _STATE_WORDS[state]
    return formats.NE if formats.is_missing(value) else formats.number(value, decimals)


def worst_rank_table(worst_rank: pd.DataFrame, *, decimals: int, unit: str, stem: str = "worst_rank") -> pd.DataFrame:
    """One row per visit: who is ranked in the worst-rank composite, its median and quartiles, and the share died.

    Parameters
    ----------
    worst_rank : DataFrame
        From :func:`msc_analysis.stats.worst_rank.worst_rank_by_visit`.
    decimals, unit : int, str
        Decimals and unit of the value ranked.
    stem : str
        Stem of the quantile columns.

    Returns
    -------
    DataFrame
        Text cells: ``Visit``, ``Day``, ``Window closed``, ``No baseline``, ``Ranked``, ``Died``,
        ``Measured``, ``Discharged alive``, ``Left out: lost to follow-up``, ``Left out: no
        value``, ``Median, <unit>``, ``Q1 to Q3, <unit>``, ``Died, % (95% CI)``. A quantile on a
        state reads "died" or "discharged alive".

    Examples
    --------
    >>> w = pd.DataFrame({"visit": ["Day 7"], "target_day": [7], "n_subjects": [6], "n_not_evaluable": [1],
    ...     "n_no_baseline": [0], "n_evaluable": [5], "n_died": [1], "n_measured": [2], "n_discharged": [1],
    ...     "n_ranked": [4], "n_lost_to_follow_up": [0], "n_no_value": [1], "died_prop": [0.25],
    ...     "died_ci95_lower": [0.0063], "died_ci95_upper": [0.8059], "worst_rank_median": [5.0],
    ...     "worst_rank_median_state": ["value"], "worst_rank_q1": [float("nan")],
    ...     "worst_rank_q1_state": ["discharged"],
    ...     "worst_rank_q3": [float("nan")], "worst_rank_q3_state": ["died"]})
    >>> worst_rank_table(w, decimals=1, unit="mg/dL").iloc[0, 10:].tolist()
    ['5.0', 'discharged alive to died', '25.0% (0.6% to 80.6%)']
    """
    w = worst_rank
    return pd.DataFrame({
        "Visit": _visit_labels(w), "Day": [formats.days(d) for d in w["target_day"]],
        "Window closed": [formats.count(n - k) for n, k in zip(w["n_subjects"], w["n_not_evaluable"])],
        "No baseline": [formats.count(v) for v in w["n_no_baseline"]],
        "Ranked": [formats.count(v) for v in w["n_ranked"]],
        "Died": [formats.count(v) for v in w["n_died"]],
        "Measured": [formats.count(v) for v in w["n_measured"]],
        "Discharged alive": [formats.count(v) for v in w["n_discharged"]],
        "Left out: lost to follow-up": [formats.count(v) for v in w["n_lost_to_follow_up"]],
        "Left out: no value": [formats.count(v) for v in w["n_no_value"]],
        f"Median, {unit}": [_quantile_cell(v, s, decimals) for v, s in
                            zip(w[f"{stem}_median"], w[f"{stem}_median_state"])],
        f"Q1 to Q3, {unit}": [formats.NE if k == 0 else
                              f"{_quantile_cell(a, sa, decimals)} to {_quantile_cell(b, sb, decimals)}"
                              for a, sa, b, sb, k in zip(w[f"{stem}_q1"], w[f"{stem}_q1_state"], w[f"{stem}_q3"],
                                                         w[f"{stem}_q3_state"], w["n_ranked"])],
        "Died, % (95% CI)": [formats.NE if formats.is_missing(e) else formats.pct_interval(e, lo, hi)
                             for e, lo, hi in zip(w["died_prop"], w["died_ci95_lower"], w["died_ci95_upper"])],
    })


def shift_count_table(shift: pd.DataFrame, *, row: str, column: str, n: int, row_label: str,
                      column_label: str = "", by: str | None = None, by_label: str = "Visit") -> pd.DataFrame:
    """A shift table as counts ``n (%)`` of the ``n`` subjects counted, with row and column totals.

    Parameters
    ----------
    shift : DataFrame
        Tidy counts: ``row``, ``column`` (categoricals: their order is kept; every combination
        present, zeros included), ``n_subjects`` and, with ``by``, that column (e.g. ``visit``):
        one block of rows per value, in the order of first appearance.
    n : int
        Subjects counted in each block (the denominator of every percentage, e.g. the treated N).
    row_label : str
        Label of the row categories' column.
    column_label : str
        Words put before each column category ("At day 7: ").
    by, by_label : str, optional
        Column that splits the table into blocks, and its label (written on the first row of
        each block only).

    Returns
    -------
    DataFrame
        Text cells: (``by_label``), ``row_label``, one column per ``column`` category,
        ``Total``; a ``Total`` row closes each block. Zero is ``0``.

    Examples
    --------
    >>> s = pd.DataFrame({"b": pd.Categorical(["x", "x", "y", "y"]), "v": pd.Categorical(["x", "y", "x", "y"]),
    ...                   "n_subjects": [2, 1, 0, 1]})
    >>> shift_count_table(s, row="b", column="v", n=4, row_label="At baseline").values.tolist()
    [['x', '2 (50.0%)', '1 (25.0%)', '3 (75.0%)'], ['y', '0', '1 (25.0%)', '1 (25.0%)'], ['Total', '2 (50.0%)', '2 (50.0%)', '4 (100.0%)']]
    >>> t = shift_count_table(s.assign(visit="Day 7"), row="b", column="v", n=4, row_label="At baseline", by="visit")
    >>> t["Visit"].tolist()
    ['Day 7', '', '']
    """
    if by is not None:
        blocks = []
        for value in shift[by].drop_duplicates().tolist():
            block = shift_count_table(shift[shift[by] == value], row=row, column=column, n=n,
                                      row_label=row_label, column_label=column_label)
            block.insert(0, by_label, [str(value)] + [""] * (len(block) - 1))
            blocks.append(block)
        if blocks:
            return pd.concat(blocks, ignore_index=True)
        return shift_count_table(shift, row=row, column=column, n=n, row_label=row_label,
                                 column_label=column_label).assign(**{by_label: ""})
    wide = shift.pivot_table(index=row, columns=column, values="n_subjects", aggfunc="sum",
                             observed=False, sort=False).fillna(0).astype(int)
    wide["Total"] = wide.sum(axis=1)
    wide.loc["Total"] = wide.sum(axis=0)
    out = pd.DataFrame({row_label: [str(i) for i in wide.index]})
    for c in wide.columns:
        label = str(c) if c == "Total" else f"{column_label}{c}"
        out[label] = [formats.count_pct(k, n) for k in wide[c]]
    return out


def category_count_table(counts: pd.DataFrame, category_column: str, *, first_label: str = "Visit") -> pd.DataFrame:
    """Subjects in each category at each visit as ``n (%)`` of the subjects counted at that visit.

    Parameters
    ----------
    counts : DataFrame
        ``visit``, ``target_day``, ``category_column`` (categorical, every category at every
        visit, zeros included), ``n_subjects``.

    Returns
    -------
    DataFrame
        Text cells: ``Visit``, ``Day``, one column per category, ``Subjects`` (the denominator).

    Examples
    --------
    >>> c = pd.DataFrame({"visit": ["Day 14"] * 2, "target_day": [14, 14],
    ...                   "cat": pd.Categorical(["improved", "died"], ["improved", "died"]), "n_subjects": [3, 1]})
    >>> category_count_table(c, "cat").values.tolist()
    [['Day 14', '14', '3 (75.0%)', '1 (25.0%)', '4']]
    """
    wide = counts.pivot_table(index=["target_day", "visit"], columns=category_column, values="n_subjects",
                              aggfunc="sum", observed=False, sort=True).fillna(0).astype(int)
    total = wide.sum(axis=1)
    out = pd.DataFrame({first_label: [v for _, v in wide.index],
                        "Day": [formats.days(d) for d, _ in wide.index]})
    for c in wide.columns:
        out[str(c)] = [formats.count_pct(k, t) for k, t in zip(wide[c], total)]
    out["Subjects"] = [formats.count(t) for t in total]
    return out


def improvement_table(props: pd.DataFrame, *, day_column: str = "target_day", label: str = "Improved",
                      counts: dict | None = None) -> pd.DataFrame:
    """Proportions with exact CIs: ``k/n (p%)`` and ``p% (lower% to upper%)``, with the counts behind them.

    Parameters
    ----------
    props : DataFrame
        ``day_column``, ``n_improved``, ``n_evaluable``, ``improved_prop``, ``ci95_lower``,
        ``ci95_upper``, optionally ``visit`` and ``not_estimable_reason`` (a missing proportion
        then reads "not estimable: <reason>"), and the count columns named in ``counts``.
    counts : dict, optional
        Count column -> column label, shown as whole numbers after the proportion.

    Returns
    -------
    DataFrame
        Text cells: ``Visit`` (when given), ``Day``, ``Evaluable``, ``<label>, n/N (%)``,
        ``<label>, % (95% CI)`` and the ``counts`` columns. Where the proportion is not estimated
        the ``n/N`` cell is a dash (no proportion is shown).

    Examples
    --------
    >>> p = pd.DataFrame({"target_day": [14, 60], "n_improved": [11, 0], "n_evaluable": [19, 0],
    ...     "improved_prop": [11 / 19, float("nan")], "ci95_lower": [0.335, float("nan")],
    ...     "ci95_upper": [0.797, float("nan")],
    ...     "not_estimable_reason": ["", "no read scan at this visit"]})
    >>> improvement_table(p).values.tolist()
    [['14', '19', '11/19 (57.9%)', '57.9% (33.5% to 79.7%)'], ['60', '0', '–', 'not estimable: no read scan at this visit']]
    """
    reasons = props["not_estimable_reason"] if "not_estimable_reason" in props else pd.Series("", index=props.index)
    out = pd.DataFrame({"Visit": props["visit"].astype(str).to_numpy()} if "visit" in props else {})
    out["Day"] = [formats.days(d) for d in props[day_column]]
    out["Evaluable"] = [formats.count(v) for v in props["n_evaluable"]]
    out[f"{label}, n/N (%)"] = [formats.DASH if formats.is_missing(e) else formats.count_pct(k, n, of=True)
                                for k, n, e in zip(props["n_improved"], props["n_evaluable"], props["improved_prop"])]
    out[f"{label}, % (95% CI)"] = [
        _not_estimable(reason) if formats.is_missing(e) else formats.pct_interval(e, lo, hi)
        for e, lo, hi, reason in zip(props["improved_prop"], props["ci95_lower"], props["ci95_upper"], reasons)]
    for column, words in (counts or {}).items():
        out[words] = [formats.count(v) for v in props[column]]
    return out
