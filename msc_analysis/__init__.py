"""msc-analysis: outcome metrics for the Phase 1 MSC trial in COVID-19 (HCPA).

The public entry point is :func:`load_cut`; endpoint modules live in
:mod:`msc_analysis.endpoints`, estimators in :mod:`msc_analysis.stats`, tables and figures in
:mod:`msc_analysis.report`, the command line and runner in :mod:`msc_analysis.run`.
"""
from importlib import metadata

from .cut import Cut, load_cut
from .io.problems import CutValidationError, Problem

__all__ = ["Cut", "CutValidationError", "Problem", "load_cut", "__version__"]
try:
    __version__ = metadata.version("msc-analysis")  # one version, kept in pyproject.toml
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "unknown"
