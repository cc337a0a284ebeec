"""From a REDCap project to a cut: read the data dictionary, the records export and a mapping.

:func:`import_redcap` is the entry point (the command ``msc-analysis import-redcap``). The
optional API pull lives in :mod:`msc_analysis.redcap.api`. See ``docs/redcap.md``.
"""
from __future__ import annotations

__all__ = ["import_redcap", "RedcapImportError", "RedcapProblem"]


def __getattr__(name: str):
    # Lazy: importing the package (e.g. for ``redcap.api``) loads nothing heavy.
    if name == "import_redcap":
        from .write import import_redcap
        return import_redcap
    if name in ("RedcapImportError", "RedcapProblem"):
        from . import problems
        return getattr(problems, name)
    raise AttributeError(name)
