"""The table layer of every page: numbered, titled tables with N, made with great_tables.

Every table a page shows goes through :meth:`Page.table`, which gives it

- a number and a title: "Table 8.2 Adverse events by worst CTCAE grade, treated population (N = 31)";
- text cells only: numbers left in the frame are written by :mod:`~msc_analysis.report.formats`
  (whole numbers without decimals, a fixed number of decimals otherwise, never scientific
  notation), and a missing value is a dash; ``nan``, ``inf``, ``None`` and ``<NA>`` never reach
  the page;
- a footnote for every marker word it shows (NE, NR, –), the caller's footnotes and the data cutoff;
- every row: a listing (``listing=True``) is never cut short; a long one scrolls in its box on
  the screen and prints in full. A listing of more than :data:`LISTING_ROWS_ON_PAGE` rows is
  written in full to ``<results_dir>/listings/table-<page>-<k>.csv`` (the cells as the page would
  show them; a cell a spreadsheet would run as a formula gets a leading apostrophe), and the page
  and the PDF packet show, under the table's number and title, its row count, its columns and
  a link to that file instead of the rows (a page of 200,000 rows would be tens of megabytes, and
  its PDF tens of thousands of pages).

great_tables (Posit's Python port of R's gt) renders the HTML offline and escapes every cell, the
title and the footnotes: text from a cut is shown as text, never read as markup.

:func:`check_parameters` makes a page fail when papermill passed it a parameter it does not have
(papermill itself only warns, and the page would run with its defaults), and names the
parameters set for the run that differ from the page's defaults, for the ``method`` of its results.
"""
from __future__ import annotations

import ast
import csv
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from . import formats
from .cells import marker_notes, table_cells
from .figures import use_house_theme
from .results import _NEEDS_APOSTROPHE

__all__ = ["Page", "Table", "Paragraphs", "UnknownParameterError", "PageParameters", "check_parameters", "table_cells",
           "PATH_PARAMETERS", "LISTING_ROWS_ON_PAGE", "LISTINGS_FOLDER", "write_listing"]

#: Parameters that only say where the data and results are: never named as a switch.
PATH_PARAMETERS = ("cut_dir", "results_dir", "previous_cut_dir", "previous_results_dir")
#: First line of the ``parameters`` cell of every notebook of the kit.
PARAMETERS_CELL_START = "# Parameters (papermill replaces this cell)"
# First line of the cell papermill injects with the values given for a run.
_INJECTED_CELL_START = "# Parameters\n"
_LISTING_BOX_ROWS = 25
#: A listing with more rows than this is written to a file of the report instead of onto its page.
LISTING_ROWS_ON_PAGE = 500
#: Folder of ``results_dir`` holding the listings too long for their page.
LISTINGS_FOLDER = "listings"


class UnknownParameterError(ValueError):
    """papermill was given a parameter the page does not have."""


@dataclass(frozen=True)
class PageParameters:
    """What a run set: ``defaults`` of the page's parameters cell, ``given`` by papermill."""

    defaults: dict = field(default_factory=dict)
    given: dict = field(default_factory=dict)

    @property
    def changed(self) -> dict:
        """Given values that differ from the page's defaults, paths left out."""
        return {k: v for k, v in self.given.items()
                if k not in PATH_PARAMETERS and (k not in self.defaults or self.defaults[k] != v)}

    @property
    def note(self) -> str:
        """Words naming every switch set for this run, e.g. "set for this run: age_points = 0 (page default 3)".

        >>> PageParameters({"age_points": 3, "cut_dir": "a"}, {"age_points": 0, "cut_dir": "b"}).note
        'set for this run: age_points = 0 (page default 3)'
        >>> PageParameters({"age_points": 3}, {"age_points": 3}).note
        ''
        """
        parts = [f"{k} = {v!r} (page default {self.defaults[k]!r})".replace("'", "")
                 for k, v in self.changed.items()]
        return "set for this run: " + ", ".join(parts) if parts else ""


def _assignments(source: str) -> dict:
    """Names assigned in ``source`` -> their value (the source text when it is not a literal)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            literal = ast.get_source_segment(source, value)
        for target in targets:
            if isinstance(target, ast.Name):
                out[target.id] = literal
    return out


def check_parameters(history: list[str] | None = None) -> PageParameters:
    """The page's parameters and what papermill set, from the cells run so far.

    ``history`` is the list of executed cell sources (IPython's ``In``; read from the running
    kernel when not given). The page's own cell starts with :data:`PARAMETERS_CELL_START`;
    papermill's injected cell follows it and starts with ``# Parameters``. Outside papermill
    (JupyterLab) nothing was injected and nothing is checked.

    Raises
    ------
    UnknownParameterError
        When papermill set a name the page's parameters cell does not have; the message names
        it and lists the page's real parameters.

    Examples
    --------
    >>> cells = ["", "# Parameters (papermill replaces this cell)\\ncut_dir = 'x'\\nage_points = 3\\n",
    ...          "# Parameters\\ncut_dir = 'y'\\nage_points = 0\\n"]
    >>> check_parameters(cells).changed
    {'age_points': 0}
    >>> check_parameters(cells[:2] + ["# Parameters\\nage_point = 0\\n"])
    Traceback (most recent call last):
    ...
    msc_analysis.report.page.UnknownParameterError: this page has no parameter named 'age_point' (given to papermill); its parameters are: age_points, cut_dir. Correct the name: the page was not run with its defaults.
    """
    if history is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with the kernel
            return PageParameters()
        shell = get_ipython()
        history = list(shell.user_ns.get("In", [])) if shell is not None else []
    starts = [i for i, s in enumerate(history) if str(s).startswith(PARAMETERS_CELL_START)]
    if not starts:
        return PageParameters()
    defaults = _assignments(history[starts[-1]])
    injected = next((s for s in history[starts[-1] + 1:] if str(s).startswith(_INJECTED_CELL_START)), "")
    given = _assignments(injected)
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        names = ", ".join(repr(u) for u in unknown)
        raise UnknownParameterError(
            f"this page has no parameter named {names} (given to papermill); its parameters are: "
            f"{', '.join(sorted(defaults))}. Correct the name: the page was not run with its defaults.")
    return PageParameters(defaults, given)


@dataclass
class Table:
    """A numbered table ready to show; displayed by Jupyter through :meth:`_repr_html_`."""

    cells: pd.DataFrame
    heading: str
    footnotes: list[str]
    table_id: str
    listing: bool = False
    empty_text: str = "No records in this cut."
    #: Where the listing's rows are, relative to the page (see :func:`write_listing`); "" when on the page.
    file: str = ""

    def gt(self):
        """The great_tables object (for a notebook that wants to style it further)."""
        from great_tables import GT
        from great_tables import html as gt_html

        if self.file:
            cells = pd.DataFrame({"": [_file_sentence(self.cells, self.file)]})
        else:
            cells = self.cells if not self.cells.empty else pd.DataFrame({"": [self.empty_text]})
        table = GT(cells, id=self.table_id).tab_header(title=self.heading)
        if self.file:
            href = html.escape(quote(self.file), quote=True)
            link = f'Every row: <a href="{href}">{html.escape(self.file)}</a> (CSV, opens in a spreadsheet program).'
            table = table.tab_options(column_labels_hidden=True).tab_source_note(gt_html(link))
        for note in self.footnotes:
            table = table.tab_source_note(note)
        table = table.cols_align("left").tab_options(
            table_font_size="13px", heading_title_font_size="15px", heading_align="left",
            source_notes_font_size="12px", table_margin_left="0", table_width="100%" if self.listing else "auto",
            column_labels_font_weight="bold", data_row_padding="3px")
        if self.listing and len(cells) > _LISTING_BOX_ROWS:
            table = table.tab_options(container_height="640px", container_overflow_y="auto")
        return table

    def html(self) -> str:
        return self.gt().as_raw_html()

    def _repr_html_(self) -> str:
        return self.html()

    def __len__(self) -> int:
        return len(self.cells)


def _file_sentence(cells: pd.DataFrame, file: str) -> str:
    columns = ", ".join(str(c) for c in cells.columns if str(c))
    return (f"This listing has {formats.count(len(cells))} rows, more than the {LISTING_ROWS_ON_PAGE} a page shows, "
            f"so every row is in the file {file} of this report, one row per line, as the page would show it"
            f"{f' (columns: {columns})' if columns else ''}.")


def write_listing(cells: pd.DataFrame, results_dir: str | Path, name: str) -> Path:
    """Write the text cells of a listing to ``<results_dir>/listings/<name>.csv`` and return the path.

    UTF-8 with a byte-order mark (so that a spreadsheet program reads the dashes right), every
    cell quoted; a cell that a spreadsheet would run as a formula gets a leading apostrophe, as
    :func:`~.results.neutralise_formula` does. ``name`` must be made by the kit (e.g.
    ``table-8-3``), never from data. ``cells`` is not modified.

    Examples
    --------
    >>> import tempfile
    >>> path = write_listing(pd.DataFrame({"Term": ["=1+1", "Fever"]}), tempfile.mkdtemp(), "table-8-3")
    >>> path.name, pd.read_csv(path, encoding="utf-8-sig")["Term"].tolist()
    ('table-8-3.csv', ["'=1+1", 'Fever'])
    """
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"a listing file name is made of lower-case letters, digits and '-', not {name!r}")
    path = Path(results_dir) / LISTINGS_FOLDER / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = cells.copy()
    for i in range(safe.shape[1]):  # text cells (table_cells): one step per column
        column = safe.iloc[:, i].astype(str)
        safe.isetitem(i, column.where(~column.str.match(_NEEDS_APOSTROPHE.pattern), "'" + column))
    safe.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_ALL)  # a line break in a cell stays in it
    return path


@dataclass
class Paragraphs:
    """Plain paragraphs for a page (escaped, in the page's font, wrapped between words), not ``print`` output."""

    lines: list[str]

    def _repr_html_(self) -> str:
        return "".join(f'<p class="msc-text">{html.escape(line)}</p>' for line in self.lines if line)

    def __repr__(self) -> str:  # a console shows the text itself
        return "\n".join(line for line in self.lines if line)


class Page:
    """One report page: numbers its tables and figures, checks the papermill parameters.

    Parameters
    ----------
    number : int
        The page's number (the notebook's prefix: 8 for ``08_safety``); tables are ``8.1``, ``8.2``...
    cut : Cut or None
        The cut shown; gives the data cutoff line under every table.
    check : bool
        Check the parameters papermill gave the page (:func:`check_parameters`).
    results_dir : str or Path, optional
        The page's results folder, where a listing of more than :data:`LISTING_ROWS_ON_PAGE` rows
        is written (:func:`write_listing`); by default the ``results_dir`` of the page's
        parameters (as papermill set it, else the page's default). Without one (``check=False``
        and no ``results_dir``) every listing stays on its page. The page is expected to sit
        beside this folder (``<report>/<stem>.html`` and ``<report>/results/``), as the runner
        publishes it: the page links to ``results/listings/<file>``.

    Examples
    --------
    >>> page = Page(8, None, check=False)
    >>> t = page.table(pd.DataFrame({"Grade": [1], "Subjects": ["3 (9.7%)"]}), "AEs by grade",
    ...                population="treated population", n=31)
    >>> t.heading
    'Table 8.1 AEs by grade, treated population (N = 31)'
    >>> page.table(pd.DataFrame(), "Deaths").heading
    'Table 8.2 Deaths'
    """

    def __init__(self, number: int, cut=None, *, check: bool = True, results_dir: str | Path | None = None):
        self.number = int(number)
        self.cut = cut
        self.parameters = check_parameters() if check else PageParameters()
        if results_dir is None:
            results_dir = self.parameters.given.get("results_dir", self.parameters.defaults.get("results_dir"))
        self.results_dir = Path(results_dir) if isinstance(results_dir, (str, Path)) and str(results_dir) else None
        self._tables = 0
        self._figures = 0
        use_house_theme()

    @property
    def cutoff_note(self) -> str:
        if self.cut is None:
            return ""
        return f"Data cutoff {pd.Timestamp(self.cut.cutoff_date).date()} (cut {self.cut.cut_id})."

    def text(self, *lines: str) -> Paragraphs:
        """``lines`` as paragraphs of the page (each escaped; empty ones left out)."""
        return Paragraphs([str(line) for line in lines if line])

    def header(self, *extra: str) -> Paragraphs:
        """The cut line ("Data cut ..., study ..., data cutoff ..."), the cut's description and ``extra`` lines."""
        if self.cut is None:
            return self.text(*extra)
        cut_line = (f"Data cut {self.cut.cut_id}, study {self.cut.study_id}, "
                    f"data cutoff {pd.Timestamp(self.cut.cutoff_date).date()}.")
        return self.text(cut_line, getattr(self.cut, "description", ""), *extra)

    def note(self, *extra: str) -> str:
        """The switches set for this run and any ``extra`` notes (empty ones left out), for ``method``."""
        return "; ".join(p for p in (self.parameters.note, *extra) if p)

    def table(self, data: pd.DataFrame, title: str, *, population: str | None = None, n: int | None = None,
              footnotes=(), listing: bool = False, empty_text: str = "No records in this cut.",
              decimals: int = 1) -> Table:
        """Table ``<page>.<k>`` with ``title``, ``population (N = n)``, and footnotes.

        ``data`` should hold the cells as the page means them (see :mod:`.formats`); numbers
        left in it are written as whole numbers or with ``decimals`` decimals. ``footnotes`` are
        strings (empty ones dropped); the notes of NE / NR / – and the data cutoff are added. A
        ``listing`` of more than :data:`LISTING_ROWS_ON_PAGE` rows is written to a file of the
        report when the page has a results folder (see :class:`Page`), and the table links to it.
        """
        self._tables += 1
        heading = f"Table {self.number}.{self._tables} {title}"
        if population:
            heading += f", {population}" + (f" (N = {int(n)})" if n is not None else "")
        elif n is not None:
            heading += f" (N = {int(n)})"
        cells = table_cells(data, decimals)
        notes = [str(f) for f in ([footnotes] if isinstance(footnotes, str) else footnotes) if f]
        notes += marker_notes(cells)
        if self.cutoff_note:
            notes.append(self.cutoff_note)
        file = ""
        if listing and len(cells) > LISTING_ROWS_ON_PAGE and self.results_dir is not None:
            path = write_listing(cells, self.results_dir, f"table-{self.number}-{self._tables}")
            file = f"{self.results_dir.name}/{LISTINGS_FOLDER}/{path.name}"
        return Table(cells, heading, notes, f"tbl-{self.number}-{self._tables}", listing, empty_text, file)

    def figure_title(self, title: str) -> str:
        """"Figure <page>.<k> <title>", numbering the page's figures in order."""
        self._figures += 1
        return f"Figure {self.number}.{self._figures} {title}"

    def results_table(self, results: pd.DataFrame, stem: str = "") -> Table:
        """The page's headline results (rows of :func:`~.results.result_rows`) in words."""
        from .headlines import headline_table

        where = f"results/{stem}.csv" if stem else "the results file"
        return self.table(headline_table(results), f"Headline results (written to {where})",
                          footnotes=["Machine-readable rows: schema in docs/results.md."])
