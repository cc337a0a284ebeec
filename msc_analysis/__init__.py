"""msc-analysis: outcome metrics for the Phase 1 MSC trial in COVID-19 (HCPA).

The public entry point is :func:`load_cut`; endpoint modules live in
:mod:`msc_analysis.endpoints`, tables and figures in :mod:`msc_analysis.report`.
"""
from .cut import Cut, load_cut
from .io.problems import CutValidationError, Problem

__all__ = ["Cut", "CutValidationError", "Problem", "load_cut", "__version__"]
__version__ = "0.1.0"
