"""Small helpers shared by the runner and hostile-input tests: tiny notebooks and tree snapshots."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nbformat

__all__ = ["write_notebook", "tree_snapshot"]


def write_notebook(path: Path, *code: str, parameters: str = 'cut_dir = ""\nresults_dir = ""') -> Path:
    """Write a notebook: a ``parameters`` cell, then one code cell per ``code`` string."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in code]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def tree_snapshot(root: Path, skip: Path | None = None, big_bytes: int | None = None) -> dict:
    """Every entry under ``root`` except ``skip``: link targets, folders, file hashes.

    Files of ``big_bytes`` or more are recorded by size and modification time instead of a
    hash, so that a test never reads a file the code under test must not read.
    """
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d != skip]
        for name in dirnames + filenames:
            path = here / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                seen[key] = "link to " + os.readlink(path)
            elif path.is_dir():
                seen[key] = "folder"
            elif path.is_file():
                info = path.stat()
                seen[key] = (("big", info.st_size, info.st_mtime_ns)
                             if big_bytes is not None and info.st_size >= big_bytes
                             else hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                seen[key] = "other"
    return seen
