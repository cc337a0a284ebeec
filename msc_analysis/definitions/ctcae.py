"""The CTCAE v5.0 term table (``ctcae_v5_terms.csv``): its reader, the matching key of a reported
AE term, the lookup term -> (CTCAE term, MedDRA SOC) and the nearest terms of an uncoded one.

Part of :mod:`msc_analysis.definitions`, which re-exports every name here.
"""
from __future__ import annotations

import difflib

import pandas as pd

from . import _fresh
from .checks import PARSERS, _csv

__all__ = ["ctcae_v5_terms", "ctcae_term_key", "ctcae_lookup", "nearest_ctcae_terms"]


def ctcae_term_key(text) -> str:
    """An AE term as matched against the CTCAE table: lower case, every run of spaces, hyphens or
    underscores as one space.

    Examples
    --------
    >>> ctcae_term_key("  Infusion-related   REACTION ")
    'infusion related reaction'
    """
    return " ".join(str(text).lower().replace("-", " ").replace("_", " ").split())


def _parse_ctcae_terms(text: str, file: str) -> pd.DataFrame:
    frame = _csv(text, file, ("term", "soc", "synonyms"), keep_default_na=False, comment="#")
    frame = frame[["term", "soc", "synonyms"]].apply(lambda c: c.str.strip())
    if (frame["term"] == "").any() or (frame["soc"] == "").any():
        raise ValueError(f"{file}: every row needs a term and a soc")
    keys = [ctcae_term_key(t) for t in frame["term"]] + [
        ctcae_term_key(s) for ss in frame["synonyms"] for s in ss.split("|") if s.strip()]
    doubled = sorted({k for k in keys if keys.count(k) > 1})
    if doubled:
        raise ValueError(f"{file}: a term or synonym is listed more than once: {doubled}")
    return frame.reset_index(drop=True)


PARSERS["ctcae_v5_terms.csv"] = _parse_ctcae_terms


def ctcae_v5_terms() -> pd.DataFrame:
    """The CTCAE v5.0 terms with their MedDRA system organ class (``ctcae_v5_terms.csv``), a fresh copy.

    Returns
    -------
    DataFrame
        One row per CTCAE term: ``term`` (the CTCAE v5.0 term), ``soc`` (its MedDRA system organ
        class), ``synonyms`` (text, ``|``-separated other spellings coded to the term; "" if none).

    Examples
    --------
    >>> ctcae_v5_terms().set_index("term").loc["Lung infection", "soc"]
    'Infections and infestations'
    """
    return _fresh("ctcae_v5_terms.csv")


def ctcae_lookup() -> dict[str, tuple[str, str]]:
    """The matching key (:func:`ctcae_term_key`) of every CTCAE term and synonym of
    ``ctcae_v5_terms.csv`` -> (CTCAE term, MedDRA SOC); a fresh dict.

    Examples
    --------
    >>> ctcae_lookup()["pyrexia"]
    ('Fever', 'General disorders and administration site conditions')
    """
    out = {}
    for term, soc, synonyms in ctcae_v5_terms()[["term", "soc", "synonyms"]].itertuples(index=False):
        out[ctcae_term_key(term)] = (term, soc)
        out.update({ctcae_term_key(s): (term, soc) for s in str(synonyms).split("|") if s.strip()})
    return out


def nearest_ctcae_terms(text, n: int = 3) -> list[str]:
    """Up to ``n`` CTCAE terms nearest to ``text`` (``difflib.get_close_matches`` with cutoff 0.6 on
    the matching keys of the terms and their synonyms), nearest first; [] when none is close.

    Examples
    --------
    >>> nearest_ctcae_terms("Feverr")
    ['Fever']
    """
    lookup = ctcae_lookup()
    near = difflib.get_close_matches(ctcae_term_key(text), list(lookup), n=len(lookup), cutoff=0.6)
    return list(dict.fromkeys(lookup[k][0] for k in near))[:n]
