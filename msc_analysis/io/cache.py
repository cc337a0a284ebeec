"""A validated cut, stored once per run so that every notebook of the report reads it instead
of reading and validating the CSV files again.

The runner loads and validates the cut once, writes its typed tables here
(:func:`write_cut_cache`) in the report's build folder, and gives the notebook kernels the
location in the environment variable ``MSC_ANALYSIS_CUT_CACHE``. In a notebook,
:func:`~msc_analysis.cut.load_cut` then asks :func:`cached_cut` first. Without that variable
(interactive use, ``msc-analysis validate``) nothing is read from a cache.

A stored cut is used only when it matches exactly:

- the cut folder (resolved) is the one it was written for;
- the **input fingerprint** is the same: a sha256 over the name and sha256 of every file of the
  folder that the loader reads (``cut.yaml``, the table files, a README; recomputed from the
  folder as it is now, never through a link) and over the kit itself (every file of the
  package, including ``definitions/``, which decide what is valid);
- the format version of this module is the same, and every table reads back with the
  column types it was written with.

Anything else (no cache, another folder, a file of the cut changed, added or removed,
another kit, an unreadable or half-written cache) and the CSV files are read and validated as
usual. A cache is only ever written from a :class:`~msc_analysis.cut.Cut` that passed
validation, and it is checked to read back equal to that Cut before it is offered.

Format: Arrow IPC files (Feather v2), uncompressed, one per table, plus ``manifest.json``.
Feather keeps what the kit's tables hold exactly: ``datetime64[s]`` columns (Parquet has no
seconds unit and gives them back as ``datetime64[ms]``), pandas' nullable ``boolean``,
``Int64`` and ``string`` types, ordered categories and the ``RangeIndex``; and an uncompressed
Arrow file is read with almost no decoding, which is the point of the cache.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from .folder import README_FILES, format_names, is_workbook

__all__ = ["CACHE_ENV", "FORMAT_VERSION", "read_by_the_loader", "kit_fingerprint", "input_fingerprint",
           "write_cut_cache", "read_cut_cache", "cached_cut"]

#: Environment variable naming the cache folder; set by the runner for a notebook's kernel only.
CACHE_ENV = "MSC_ANALYSIS_CUT_CACHE"
#: Version of the stored layout; a cache of another version is not used.
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_PACKAGE = Path(__file__).resolve().parents[1]


def read_by_the_loader(name: str) -> bool:
    """Whether the loader reads a file of this name in a cut folder (``cut.yaml``, the tables, README).

    >>> read_by_the_loader("labs.csv"), read_by_the_loader("notes.txt"), read_by_the_loader("~$cut.xlsx")
    (True, False, False)
    """
    return name in format_names() or name in README_FILES or is_workbook(name)


def kit_fingerprint() -> str:
    """sha256 (hex) over the relative path and contents of every file of the installed package."""
    h = hashlib.sha256()
    for path in sorted(p for p in _PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(f"{path.relative_to(_PACKAGE).as_posix()} ".encode() + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def input_fingerprint(files, kit: str | None = None) -> str:
    """sha256 (hex) of a cut's input: ``files`` (pairs of file name and sha256 hex) and the kit.

    ``kit`` defaults to :func:`kit_fingerprint`. The order of ``files`` does not matter.
    """
    h = hashlib.sha256(f"msc-analysis cut cache {FORMAT_VERSION}\n".encode())
    for name, digest in sorted((str(n), str(d)) for n, d in files):
        h.update(f"file {name} {digest}\n".encode("utf-8", "surrogateescape"))
    h.update(f"kit {kit or kit_fingerprint()}\n".encode())
    return h.hexdigest()


def _folder_files(folder: Path) -> list[tuple[str, str]] | None:
    """Name and sha256 of every file in ``folder`` the loader would read; None if one is a link,
    not a regular file, or cannot be read (the loader then has something to say about it)."""
    out = []
    with os.scandir(folder) as listing:
        entries = sorted((e for e in listing if read_by_the_loader(e.name)), key=lambda e: e.name)
    for entry in entries:
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            out.append((entry.name, hashlib.file_digest(fh, "sha256").hexdigest()))
    return out


def _entry(root: Path, folder: Path) -> Path:
    """Where the cache of the cut folder ``folder`` (resolved) lives under ``root``."""
    return Path(root) / hashlib.sha256(os.fsencode(folder)).hexdigest()[:20]


def _frames(cut) -> dict[str, pd.DataFrame]:
    return {f.name: getattr(cut, f.name) for f in dataclasses.fields(cut)
            if isinstance(getattr(cut, f.name), pd.DataFrame)}


def write_cut_cache(cut, root: str | Path) -> Path:
    """Store the validated ``cut`` under ``root``; return the folder written.

    ``cut`` is a :class:`~msc_analysis.cut.Cut` returned by ``load_cut`` (validated); its input
    fingerprint comes from ``cut.files``. Each cut gets its own sub-folder of ``root``, named after
    its resolved folder, so one ``root`` can hold the current and the previous cut. The folder
    appears complete or not at all, and is written only if it reads back equal to ``cut``.

    Raises
    ------
    ValueError
        If a table does not read back equal to the cut's (the cache is then not written).
    OSError
        If ``root`` cannot be written.
    """
    folder = Path(cut.path).resolve()
    frames = _frames(cut)
    cutoff = pd.Timestamp(cut.cutoff_date)
    manifest = {
        "format_version": FORMAT_VERSION, "folder": os.fsdecode(folder), "cut_id": cut.cut_id,
        "study_id": cut.study_id, "cutoff_date": cutoff.isoformat(), "cutoff_unit": cutoff.unit,
        "description": cut.description, "synthetic": bool(cut.synthetic),
        "fingerprint": input_fingerprint(zip(cut.files["file"], cut.files["sha256"])),
        "tables": {name: [str(t) for t in frame.dtypes] for name, frame in frames.items()},
    }
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = _entry(root, folder)
    building = Path(tempfile.mkdtemp(prefix=".writing-", dir=root))
    try:
        for name, frame in frames.items():
            try:
                table = pa.Table.from_pandas(frame)
            except pa.ArrowException as exc:
                raise ValueError(f"the table {name} of {folder} cannot be stored ({exc}); "
                                 "no cache was written") from None
            feather.write_feather(table, building / f"{name}.arrow", compression="uncompressed")
            del table
            try:  # one table at a time, so that a large cut is never held twice
                same = _same_frame(frame, _read_table(building, name, manifest["tables"][name]))
            except ValueError:
                same = False
            if not same:
                raise ValueError(f"the cache of {folder} does not read back equal to the loaded cut "
                                 f"(table {name}); it was not written")
        (building / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _same_frame(a: pd.DataFrame, b: pd.DataFrame | None) -> bool:
    """Same columns (names, order, type), index, column types and values (missing where missing)."""
    return (b is not None and a.columns.equals(b.columns) and a.columns.dtype == b.columns.dtype
            and type(a.index) is type(b.index) and a.index.equals(b.index)
            and [str(t) for t in a.dtypes] == [str(t) for t in b.dtypes] and a.equals(b))


def _read_table(folder: Path, name: str, dtypes: list[str]) -> pd.DataFrame:
    """One stored table, with the column types it was written with (else ValueError)."""
    frame = feather.read_table(folder / f"{name}.arrow", memory_map=True).to_pandas()
    for column, want, have in zip(list(frame.columns), dtypes, frame.dtypes):
        if want == "object" and str(have) != "object":  # Arrow has no object type: text comes back as str
            frame[column] = frame[column].astype(object)
    if [str(t) for t in frame.dtypes] != dtypes:
        raise ValueError(f"{name}: the column types read back differ from those written")
    return frame


def read_cut_cache(path: str | Path, root: str | Path, make):
    """The cut of folder ``path`` stored under ``root`` if it matches the folder as it is now; else None.

    ``make`` builds the cut from its fields (the :class:`~msc_analysis.cut.Cut` class); the
    cut's ``path`` is ``path`` as given, as ``load_cut(path)`` would have it. Never raises: a
    cache that cannot be used is simply not used.
    """
    try:
        folder = Path(path).resolve()
        entry = _entry(Path(root), folder)
        manifest = json.loads((entry / _MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION or manifest.get("folder") != os.fsdecode(folder):
            return None
        files = _folder_files(folder)
        if files is None or input_fingerprint(files) != manifest.get("fingerprint"):
            return None
        frames = {name: _read_table(entry, name, dtypes) for name, dtypes in manifest["tables"].items()}
        return make(path=Path(path), cut_id=manifest["cut_id"], study_id=manifest["study_id"],
                    cutoff_date=pd.Timestamp(manifest["cutoff_date"]).as_unit(manifest["cutoff_unit"]),
                    description=manifest["description"], synthetic=bool(manifest["synthetic"]), **frames)
    except Exception:  # noqa: BLE001 - a cache is only a shortcut: whatever is wrong, read the CSVs
        return None


def cached_cut(path: str | Path, make):
    """The cut of folder ``path`` from the cache the runner named in ``MSC_ANALYSIS_CUT_CACHE``.

    None when the variable is not set (interactive use) or the cache does not match the folder
    and the kit exactly (see :func:`read_cut_cache`); ``load_cut`` then reads the CSV files.
    """
    root = os.environ.get(CACHE_ENV)
    return read_cut_cache(path, root, make) if root else None
