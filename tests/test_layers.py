"""The package is layered as drawn in the README (Layout): every import points down a layer.

A module may import from its own part of the package (e.g. ``derive.visits`` from
``derive.baseline``) and from the parts of lower layers; never from a higher layer, and never
from another part of its own layer (those are independent of each other). Imports are read with
``ast`` from every module, including imports inside functions.
"""
import ast
import re
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = "msc_analysis"

#: The layers, bottom first: each a tuple of parts (subpackages, or modules directly in the
#: package; ``__init__`` is the package's own ``__init__.py``). The README's Layout table says the
#: same in words (checked below).
LAYERS = (
    ("definitions",),   # rules as data (and their loader, if any)
    ("io", "stats"),    # reading a cut; estimators that take arrays and frames
    ("derive",),        # derivations shared by endpoints
    ("cut", "report"),  # load_cut(); tables, figures and results rows (knowing no endpoint)
    ("endpoints",),     # one module per endpoint
    ("run", "synthetic", "redcap"),  # the runner; synthetic demo cuts; the REDCap import
    ("cli", "__init__"),   # the command line; the package's top
)
LAYER = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _modules():
    """Dotted name and path of every module of the package."""
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


MODULES = dict(_modules())


def part_of(module: str) -> str:
    """The part of the package a dotted module name belongs to (``msc_analysis.derive.visits`` ->
    ``derive``; ``msc_analysis`` -> ``__init__``)."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def imported_modules(module: str, source: str, is_package: bool = False):
    """``(line, imported module)`` of every import of the package in ``source``.

    Relative imports are resolved against ``module``; ``from msc_analysis import cut`` counts as
    an import of ``msc_analysis.cut``.
    """
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (package[:len(package) - node.level + 1] if node.level else [])
            target = ".".join([*base, *([node.module] if node.module else [])])
            names = [(node.lineno, f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
                     for alias in node.names]
        else:
            continue
        yield from ((line, name) for line, name in names if name == PACKAGE or name.startswith(PACKAGE + "."))


def upward_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    """One message per import in ``source`` that does not point down a layer."""
    here = part_of(module)
    out = []
    for line, target in imported_modules(module, source, is_package):
        there = part_of(target)
        if there == here:
            continue
        if there not in LAYER or LAYER[there] >= LAYER[here]:
            where = "in no layer" if there not in LAYER else (
                "its own layer" if LAYER[there] == LAYER[here] else f"layer {LAYER[there]}")
            out.append(f"{module} (layer {LAYER[here]}, {here}/) imports {target} ({where}) at line {line}: "
                       f"an import must point down a layer")
    return out


def test_every_part_of_the_package_is_in_a_layer():
    unplaced = sorted({part_of(m) for m in MODULES} - set(LAYER))
    assert not unplaced, f"add {unplaced} to LAYERS in tests/test_layers.py and to the Layout table of README.md"


def test_no_import_points_up_a_layer():
    problems = [message for module, path in MODULES.items()
                for message in upward_imports(module, path.read_text(encoding="utf-8"),
                                              path.name == "__init__.py")]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module, source", [
    ("msc_analysis.stats.paired", "from ..derive.visits import _by_visit\n"),
    ("msc_analysis.stats.paired", "def f():\n    from msc_analysis.endpoints import crp\n"),
    ("msc_analysis.derive.visits", "from ..report import results\n"),
    ("msc_analysis.report.tables", "from .. import endpoints\n"),
    ("msc_analysis.stats.survival", "import msc_analysis.io.spec\n"),  # same layer, other part
    ("msc_analysis.io.spec", "from .. import load_cut\n"),  # the package top
])
def test_an_import_pointing_up_fails_naming_the_module_and_the_import(module, source):
    (message,) = upward_imports(module, source)
    assert message.startswith(f"{module} (layer ") and f" imports {PACKAGE}" in message


def test_imports_pointing_down_or_within_a_part_pass():
    assert upward_imports("msc_analysis.endpoints.crp", "from ..derive.visits import longitudinal\n"
                          "from ..report.longitudinal_tables import median_measures\n"
                          "from ..stats.paired import signed_rank_by_visit\nfrom .liao_sustained import x\n"
                          "import numpy as np\n") == []
    assert upward_imports("msc_analysis.derive", "from .baseline import add_change\n", is_package=True) == []


def _readme_layers() -> dict[str, int]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for row in re.findall(r"^\|\s*(\d+)\s*\|(.*)$", section, re.M):
        for path in re.findall(rf"`{PACKAGE}/([\w.]+?)(?:/|\.py)?`", row[1]):
            layers[path] = int(row[0])
    return layers


def test_the_readme_layout_table_draws_the_same_layers():
    assert _readme_layers() == LAYER
