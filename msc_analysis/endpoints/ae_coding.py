"""Organ-class coding of adverse-event terms: site MedDRA codes, else the shipped CTCAE v5.0 table.

``adverse_events.csv`` may carry ``soc`` and ``pt`` (MedDRA system organ class and preferred
term, coded by the site; MedDRA is licensed and not shipped). A row without them is coded from
``msc_analysis/definitions/ctcae_v5_terms.csv`` (CTCAE v5.0 terms with their MedDRA SOC, from
the NCI's published list): the reported term is matched to a CTCAE term or one of its listed
synonyms ignoring case and runs of spaces, hyphens and underscores. A term that matches nothing
keeps its own text as the term, gets the SOC "uncoded", and is never dropped;
:func:`uncoded_terms` lists such terms with the nearest CTCAE terms as suggestions.
:func:`events_per_100_subject_days` gives the event rate, in total and by SOC.
"""
from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
from scipy.stats import chi2

from ..definitions import ctcae_lookup, ctcae_term_key
from ..derive.checks import isin, require_columns

__all__ = ["UNCODED", "CODING_SOURCES", "term_key", "code_adverse_events", "uncoded_terms",
           "events_per_100_subject_days", "POISSON_CI_METHOD", "rate_measures"]

#: The SOC (and coding source) of a term no table codes.
UNCODED = "uncoded"
#: ``coding`` of :func:`code_adverse_events`: where each row's SOC comes from.
CODING_SOURCES = ("site (MedDRA)", "CTCAE v5.0 table", UNCODED)


#: How a term is matched: lower case, every run of spaces, hyphens or underscores as one space.
term_key = ctcae_term_key


def _lookup(terms: pd.DataFrame | None) -> dict[str, tuple[str, str]]:
    """``term_key`` of every CTCAE term and synonym -> (CTCAE term, SOC)."""
    if terms is None:
        return ctcae_lookup()
    out = {}
    for term, soc, synonyms in terms[["term", "soc", "synonyms"]].itertuples(index=False):
        out[term_key(term)] = (term, soc)
        out.update({term_key(s): (term, soc) for s in str(synonyms).split("|") if s.strip()})
    return out


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | values.astype("string").str.strip().fillna("").eq("")


def code_adverse_events(adverse_events: pd.DataFrame, terms: pd.DataFrame | None = None) -> pd.DataFrame:
    """Give each AE a system organ class (``soc``) and a coded term (``pt``).

    Parameters
    ----------
    adverse_events : DataFrame
        One row per AE: ``term`` (reported text); optional ``soc`` and ``pt`` (site MedDRA coding;
        a row with both filled keeps them).
    terms : DataFrame, optional
        The CTCAE table (``term``, ``soc``, ``synonyms``); default
        :func:`msc_analysis.definitions.ctcae_v5_terms`.

    Returns
    -------
    DataFrame
        A copy of the input with ``soc`` (text: MedDRA SOC, or "uncoded"), ``pt`` (text: the site's
        preferred term, else the CTCAE term, else the reported term stripped) and ``coding`` (one of
        :data:`CODING_SOURCES`).

    Examples
    --------
    >>> ae = pd.DataFrame({"term": ["pyrexia", "Lung  infection", "Feverish"]})
    >>> code_adverse_events(ae)[["pt", "soc", "coding"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Fever', 'General disorders and administration site conditions', 'CTCAE v5.0 table'],
     ['Lung infection', 'Infections and infestations', 'CTCAE v5.0 table'],
     ['Feverish', 'uncoded', 'uncoded']]
    """
    require_columns(adverse_events, ("term",), "adverse_events")
    lookup = _lookup(terms)
    out = adverse_events.copy()
    # each distinct reported term is looked up once, then spread to its rows; each missing term
    # (None, NaN: worded as given) on its own
    at, distinct = pd.factorize(out["term"])
    missing = np.flatnonzero(at < 0)
    at[missing] = len(distinct) + np.arange(len(missing))
    distinct = [*distinct, *out["term"].iloc[missing]]
    found = [lookup.get(term_key(t)) for t in distinct]

    def spread(words: list[str]) -> pd.Series:
        return pd.Series(np.array(words, dtype=object)[at].tolist() if len(at) else [], index=out.index)

    table_pt = spread([f[0] if f else str(t).strip() for f, t in zip(found, distinct)])
    table_soc = spread([f[1] if f else UNCODED for f in found])
    table_src = spread(["CTCAE v5.0 table" if f else UNCODED for f in found])
    site = pd.Series(False, index=out.index)
    if "soc" in out and "pt" in out:
        site = ~_blank(out["soc"]) & ~_blank(out["pt"])
    site_soc = out["soc"].astype("string").str.strip() if "soc" in out else table_soc
    site_pt = out["pt"].astype("string").str.strip() if "pt" in out else table_pt
    out["soc"] = site_soc.where(site, table_soc).astype(object)
    out["pt"] = site_pt.where(site, table_pt).astype(object)
    out["coding"] = table_src.where(~site, "site (MedDRA)")
    return out


def uncoded_terms(coded: pd.DataFrame, terms: pd.DataFrame | None = None, n_suggestions: int = 3) -> pd.DataFrame:
    """The reported terms no table codes, with the nearest CTCAE terms as suggestions.

    Parameters
    ----------
    coded : DataFrame
        Output of :func:`code_adverse_events` (``term``, ``coding``).
    terms : DataFrame, optional
        The CTCAE table (default :func:`msc_analysis.definitions.ctcae_v5_terms`).
    n_suggestions : int
        At most this many suggestions per term (``difflib.get_close_matches``, cutoff 0.6, on the
        matching keys of the CTCAE terms and their synonyms).

    Returns
    -------
    DataFrame
        One row per uncoded reported term (first spelling seen), alphabetical: ``term``,
        ``n_events`` (int), ``suggestions`` (text, "; "-separated CTCAE terms; "" when none is close).

    Examples
    --------
    >>> c = code_adverse_events(pd.DataFrame({"term": ["Feverr", "Feverr", "Fever"]}))
    >>> uncoded_terms(c).values.tolist()
    [['Feverr', 2, 'Fever']]
    """
    require_columns(coded, ("term", "coding"), "coded adverse events")
    lookup = _lookup(terms)
    rows = coded[coded["coding"] == UNCODED]
    if rows.empty:
        return pd.DataFrame({"term": pd.Series(dtype=object), "n_events": pd.Series(dtype=int),
                             "suggestions": pd.Series(dtype=object)})
    keyed = rows.assign(key=rows["term"].map(term_key))
    out = []
    for key, group in keyed.groupby("key", sort=True):
        near = difflib.get_close_matches(key, list(lookup), n=len(lookup), cutoff=0.6)
        named = list(dict.fromkeys(lookup[k][0] for k in near))[:n_suggestions]
        out.append((str(group["term"].iloc[0]).strip(), len(group), "; ".join(named)))
    return pd.DataFrame(out, columns=["term", "n_events", "suggestions"])


#: How :func:`events_per_100_subject_days` makes its interval.
POISSON_CI_METHOD = ("exact Poisson 95% CI (Garwood: chi-square quantiles 0.025 with 2k and 0.975 with "
                     "2k + 2 degrees of freedom, halved, per subject-day)")


def events_per_100_subject_days(flagged: pd.DataFrame, follow: pd.DataFrame) -> pd.DataFrame:
    """Treatment-emergent AEs per 100 subject-days of follow-up, in total and by system organ class.

    Parameters
    ----------
    flagged : DataFrame
        Coded, classified AEs (``subject_id``, ``soc``, ``treatment_emergent``).
    follow : DataFrame
        :func:`msc_analysis.derive.follow_up.follow_up` of the treated: ``subject_id``,
        ``follow_up_days`` (infusion to death, else to last known alive), ``days_to_cutoff``.
        Each subject's days are capped at ``days_to_cutoff``; only their AEs count.

    Returns
    -------
    DataFrame
        ``soc`` ("all" first, then SOCs by descending number of events, then name), ``n_events``
        (int), ``subject_days`` (float, the same total in every row), ``n_subjects`` (treated),
        ``events_per_100_subject_days``, ``ci95_lower``, ``ci95_upper`` (:data:`POISSON_CI_METHOD`;
        NaN when there are no subject-days).

    Examples
    --------
    >>> ae = pd.DataFrame({"subject_id": ["A", "A", "B"], "soc": ["X", "Y", "X"], "treatment_emergent": True})
    >>> f = pd.DataFrame({"subject_id": ["A", "B"], "follow_up_days": [30.0, 70.0], "days_to_cutoff": [90, 90]})
    >>> r = events_per_100_subject_days(ae, f)
    >>> r[["soc", "n_events", "subject_days", "events_per_100_subject_days"]].values.tolist()
    [['all', 3, 100.0, 3.0], ['X', 2, 100.0, 2.0], ['Y', 1, 100.0, 1.0]]
    """
    require_columns(flagged, ("subject_id", "soc", "treatment_emergent"), "flagged adverse events")
    require_columns(follow, ("subject_id", "follow_up_days", "days_to_cutoff"), "follow")
    ids = set(follow["subject_id"].astype(str))
    capped = pd.concat([pd.to_numeric(follow["follow_up_days"]).fillna(0.0),
                        pd.to_numeric(follow["days_to_cutoff"]).astype(float)], axis=1).min(axis=1)
    days = float(capped.clip(lower=0).sum())
    te = flagged[flagged["treatment_emergent"].astype(bool) & isin(flagged["subject_id"].astype(str), ids)]
    counts = te["soc"].astype(str).value_counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    rows = [("all", int(len(te)))] + [(soc, int(k)) for soc, k in order]
    out = pd.DataFrame(rows, columns=["soc", "n_events"])
    out["subject_days"] = days
    out["n_subjects"] = len(ids)
    k = out["n_events"].astype(float)
    per = 100.0 / days if days > 0 else float("nan")
    out["events_per_100_subject_days"] = k * per
    out["ci95_lower"] = pd.Series(chi2.ppf(0.025, 2 * k) / 2, index=out.index).where(k > 0, 0.0) * per
    out["ci95_upper"] = pd.Series(chi2.ppf(0.975, 2 * k + 2) / 2, index=out.index) * per
    return out


def rate_measures(rates: pd.DataFrame) -> pd.DataFrame:
    """The overall event rate as a results row, ready for :func:`~msc_analysis.report.results.result_rows`.

    Returns
    -------
    DataFrame
        One row: ``measure`` ("events_per_100_subject_days"), ``group`` ("treated"), ``estimate``,
        ``ci95_lower``, ``ci95_upper``, ``n`` (treated subjects whose follow-up is summed),
        ``unit`` ("events per 100 subject-days"), ``method``.
    """
    r = rates[rates["soc"] == "all"].iloc[0]
    return pd.DataFrame([dict(
        measure="events_per_100_subject_days", group="treated", estimate=r["events_per_100_subject_days"],
        ci95_lower=r["ci95_lower"], ci95_upper=r["ci95_upper"], n=int(r["n_subjects"]),
        unit="events per 100 subject-days",
        method=(f"treatment-emergent AEs ({int(r['n_events'])}) per 100 subject-days of follow-up "
                f"({r['subject_days']:.0f} days: infusion to death or last known alive, capped at the cutoff); "
                + POISSON_CI_METHOD))])
