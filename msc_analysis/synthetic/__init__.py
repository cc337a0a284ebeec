"""SYNTHETIC interim data cuts for developing and testing the kit (no real patient data).

Three steps, each usable on its own:

1. :func:`simulate_trial` simulates one complete trial (full follow-up) from a seed;
2. :func:`cut_at` keeps what was known on a cutoff date;
3. :func:`write_cut` writes a cut folder (``cut.yaml``, the CSVs, a README).

:func:`demo_cuts` gives the three committed demo cuts of one trial. Command line: see
:mod:`msc_analysis.synthetic.__main__` (``python -m msc_analysis.synthetic --help``).
"""
from .cutoff import FOLLOW_UP_UPDATES, ROW_KEYS, Correction, cut_at, last_follow_up, with_entry_errors
from .demo import demo_cuts
from .trial import simulate_trial
from .write import write_cut

__all__ = ["simulate_trial", "cut_at", "write_cut", "demo_cuts", "last_follow_up", "Correction",
           "with_entry_errors", "ROW_KEYS", "FOLLOW_UP_UPDATES"]
