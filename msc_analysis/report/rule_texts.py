"""Rules as text: the sentences that footnotes, rules tables and result methods use to name a rule.

Each text is built from the rule it describes (``definitions/safety.yaml``), so a rule changed
there changes every page and results file that names it, with no notebook edit.
"""
from __future__ import annotations

from ..definitions import safety_definitions

__all__ = ["relatedness_rule", "toxicity_rule"]


def relatedness_rule(rules: dict | None = None) -> str:
    """The investigator categories counted as related to MSC, as text for methods and footnotes.

    Built from ``adverse_events.related_categories`` and
    ``adverse_events.missing_relatedness_counts_as_related`` of ``rules`` (default:
    :func:`~msc_analysis.definitions.safety_definitions`), so the text follows the rule.

    Examples
    --------
    >>> rules = {"adverse_events": {"related_categories": ["probable", "definite"],
    ...                             "missing_relatedness_counts_as_related": False}}
    >>> relatedness_rule(rules)
    'probable/definite'
    >>> rules["adverse_events"]["missing_relatedness_counts_as_related"] = True
    >>> relatedness_rule(rules)
    'probable/definite or not assessed'
    """
    a = (rules or safety_definitions())["adverse_events"]
    return "/".join(a["related_categories"]) + (" or not assessed" if a["missing_relatedness_counts_as_related"] else "")


def toxicity_rule(rules: dict | None = None) -> str:
    """What counts as a serious treatment-related toxicity, as text built from the ``monitoring``
    section of ``rules`` (default: :func:`~msc_analysis.definitions.safety_definitions`).

    Examples
    --------
    >>> toxicity_rule()
    'treatment-emergent, onset day 0 to 28, related, serious or CTCAE grade >= 3'
    >>> m = {"window_last_day": 14, "toxicity_requires_related": False, "toxicity_if_serious": False,
    ...      "toxicity_min_grade": 4}
    >>> toxicity_rule({"monitoring": m})
    'treatment-emergent, onset day 0 to 14, CTCAE grade >= 4'
    """
    m = (rules or safety_definitions())["monitoring"]
    severity = (["serious"] if m["toxicity_if_serious"] else []) + (
        [f"CTCAE grade >= {m['toxicity_min_grade']}"] if m["toxicity_min_grade"] is not None else [])
    return (f"treatment-emergent, onset day 0 to {m['window_last_day']}, "
            + ("related, " if m["toxicity_requires_related"] else "") + (" or ".join(severity) or "no severity criterion"))
