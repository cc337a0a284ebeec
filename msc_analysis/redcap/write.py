"""``import_redcap``: check everything, write the cut beside its target, validate it, then rename it.

Nothing is written unless the data dictionary, the mapping and the records export are free of
problems; the cut is then written into a hidden temporary folder next to the target, loaded
and validated exactly like ``msc-analysis validate`` (:func:`msc_analysis.cut.load_cut`), and
only then renamed into place. On any failure the temporary folder is removed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import yaml

from ..cut import Cut, load_cut
from ..io.meta import NAME_RULE, check_name
from ..io.problems import CutValidationError
from ..io.spec import TABLES
from .convert import Origin, convert
from .dictionary import read_dictionary
from .mapping import Mapping, check_mapping, read_mapping
from .problems import COMMAND, RECORDS, RedcapImportError, RedcapProblem
from .records import read_records

__all__ = ["import_redcap", "import_and_load"]


def import_redcap(dictionary: str | Path | bytes, records: str | Path | bytes, mapping: str | Path | bytes,
                  cut_id: str, cutoff: dt.date | str, out: str | Path, force: bool = False) -> Path:
    """Convert a REDCap export into the cut folder ``out/cut_id`` and return its path.

    Parameters
    ----------
    dictionary, records : path or bytes
        The project's data dictionary (CSV, as REDCap exports it) and its records (raw, flat CSV).
        Bytes are read as the file's content (the API pull passes them; no temporary file).
    mapping : path or bytes
        The mapping YAML (see ``docs/redcap.md``).
    cut_id : str
        Name of the cut (the rule of ``cut.yaml``: letters, digits, '.', '-', '_').
    cutoff : date or str
        Data cutoff date, ``YYYY-MM-DD``.
    out : path
        Parent folder of the cut folder (created if needed).
    force : bool
        Replace an existing ``out/cut_id``; without it an existing folder is refused.

    Raises
    ------
    RedcapImportError
        Every problem at once (REDCap record, event, instance and field); nothing is written.
    """
    return import_and_load(dictionary, records, mapping, cut_id, cutoff, out, force)[0]


def import_and_load(dictionary, records, mapping, cut_id, cutoff, out, force=False) -> tuple[Path, Cut]:
    """:func:`import_redcap`, also returning the validated :class:`~msc_analysis.cut.Cut`."""
    problems: list = []
    cutoff_date = _cutoff(cutoff, problems)
    if not check_name(cut_id):
        problems.append(RedcapProblem(COMMAND, None, "--cut-id", str(cut_id), f"expected {NAME_RULE}"))
    out = Path(out)
    target = out / str(cut_id)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        problems.append(RedcapProblem(COMMAND, None, "--out", str(target), "exists and is not a folder; "
                                      "choose another --cut-id or --out"))
    elif target.exists() and not force:
        problems.append(RedcapProblem(COMMAND, None, "--out", str(target), "this cut folder already exists; "
                                      "it is never overwritten unless you add --force"))
    dd = read_dictionary(dictionary, problems)
    mp = read_mapping(mapping, problems)
    tables = origins = None
    if dd is not None and mp is not None:
        mapping_problems = check_mapping(mp, dd)
        problems += mapping_problems
        frame = read_records(records, dd, mp, problems)
        usable = _usable(mp, mapping_problems)
        if frame is not None and usable is not None:
            tables, origins = convert(frame, dd, usable, problems)
    if problems or tables is None:
        raise RedcapImportError(problems)
    sources = {"data dictionary": dictionary, "records export": records, "mapping": mapping}
    return _write(tables, origins, mp, str(cut_id), cutoff_date, out, target, force, sources)


def _cutoff(value, problems) -> dt.date | None:
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(RedcapProblem(COMMAND, None, "--cutoff", str(value), "expected a real date YYYY-MM-DD"))
        return None


def _usable(mp: Mapping, mapping_problems: list) -> Mapping | None:
    """The mapping without the columns (or tables) that have a problem, so that the records are
    still checked for everything else; None when the subject code itself is unusable."""
    bad = {p.column or "" for p in mapping_problems}
    if any(b.startswith("subject_code") for b in bad):
        return None
    tables = {}
    for name, t in mp.tables.items():
        if t is None or any(b.startswith(f"tables: {name}: rows") for b in bad):
            continue
        keep = tuple(c for c in t.columns if not any(b.startswith(f"tables: {name}: columns: {c.column}")
                                                     for b in bad))
        tables[name] = replace(t, columns=keep)
    return replace(mp, tables=tables)


def _write(tables, origins, mp: Mapping, cut_id, cutoff, out: Path, target: Path, force: bool,
           sources: dict) -> tuple[Path, Cut]:
    made_out = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{cut_id}.importing-", dir=out))
    try:
        for name in TABLES:
            tables[name].to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
        meta = {"cut_id": cut_id, "study_id": mp.study_id, "cutoff_date": cutoff, "synthetic": mp.synthetic}
        if mp.description:
            meta["description"] = mp.description
        (tmp / "cut.yaml").write_text(yaml.safe_dump(meta, sort_keys=False, width=1000), encoding="utf-8")
        (tmp / "README.md").write_text(_readme(cut_id, cutoff, mp, sources), encoding="utf-8")
        try:
            cut = load_cut(tmp)
        except CutValidationError as err:
            raise RedcapImportError([_from_cut(p, origins) for p in err.problems]) from None
        if target.exists() and force:
            old = Path(tempfile.mkdtemp(prefix=f".{cut_id}.replaced-", dir=out))
            target.rename(old / cut_id)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if made_out:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return target, replace(cut, path=target)


def _from_cut(p, origins: dict[str, Origin]) -> RedcapProblem:
    """A problem the cut loader found in the converted tables, placed back in the REDCap export."""
    table = p.file[:-4] if p.file.endswith(".csv") else None
    origin = origins.get(table)
    if origin is not None and p.row is not None and 2 <= p.row < len(origin.record) + 2:
        i, column = p.row - 2, p.column
        if column in origin.line:
            line = int(origin.line[column][i]) or None
            return RedcapProblem(RECORDS, line, origin.fields.get(column, f"(cut column {column})"), p.value,
                                 f"in the cut column {table}.{column}: {p.expected}", record=str(origin.record[i]),
                                 event=origin.event[column][i] or None, instance=origin.instance[column][i] or None)
        return RedcapProblem(RECORDS, None, None, p.value, f"in {table}.csv{f', column {column}' if column else ''}: "
                             f"{p.expected}", record=str(origin.record[i]))
    return RedcapProblem(f"{p.file} (as converted from the export)", p.row, p.column, p.value, p.expected)


def _readme(cut_id: str, cutoff: dt.date, mp: Mapping, sources: dict) -> str:
    rows = []
    for what, src in sources.items():
        data = src if isinstance(src, bytes) else Path(src).read_bytes()
        name = "(received from the REDCap API)" if isinstance(src, bytes) else Path(src).name
        rows.append(f"| {what} | {name} | {hashlib.sha256(data).hexdigest()} |")
    note = ("**SYNTHETIC data**: the mapping says the project holds invented data, not real patients.\n\n"
            if mp.synthetic else "")
    return (f"# {cut_id}: imported from REDCap\n\n{note}Written by `msc-analysis import-redcap` "
            f"with cutoff date {cutoff.isoformat()}, from:\n\n| input | file | SHA-256 |\n|---|---|---|\n"
            + "\n".join(rows) + "\n\nFields not named in the mapping were not carried over.\n")
