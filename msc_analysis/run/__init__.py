"""Running the notebooks on a cut: parallel workers, atomic publication, index and provenance."""
from .cuts import newest_cut, previous_cut
from .runner import RunSummary, run_cut

__all__ = ["RunSummary", "newest_cut", "previous_cut", "run_cut"]
