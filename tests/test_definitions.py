"""The definitions folder has one reader (``msc_analysis.definitions``): it validates every file,
names the file and key of a mistake, and hands out copies of what it cached."""
import ast
import datetime as dt
import shutil
from importlib import resources

import pandas as pd
import pytest

from msc_analysis import definitions

from .conftest import ROOT

PACKAGE = ROOT / "msc_analysis"
#: The definitions loader: the reader (``__init__``) and the checks of each file's content.
LOADER = PACKAGE / "definitions" / "__init__.py"
LOADER_MODULES = (LOADER, PACKAGE / "definitions" / "checks.py", PACKAGE / "definitions" / "ctcae.py")
FOLDER = resources.files("msc_analysis") / "definitions"


# ------------------------------------------------------------------------------ one reader only

def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def definitions_access(source: str) -> list[str]:
    """What in ``source`` reaches into the definitions folder: a string (not a docstring or a
    message) that is the folder's name, a path into it or the name of one of its files, or a
    ``files("msc_analysis.definitions")`` / ``joinpath("definitions")`` call."""
    tree = ast.parse(source)
    docstrings, found = _docstrings(tree), []
    file_names = set(definitions.FILES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in ("files", "joinpath") and any(
                    isinstance(a, ast.Constant) and "definitions" in str(a.value) for a in node.args):
                found.append(f"line {node.lineno}: {name}() of the definitions folder")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value.strip()
            if text in file_names or text == "definitions" or (" " not in text and "definitions/" in text):
                found.append(f"line {node.lineno}: the string {node.value!r}")
    return found


def test_only_the_definitions_loader_opens_the_definitions_folder():
    problems = [f"{path.relative_to(ROOT)} {what}"
                for path in sorted(PACKAGE.rglob("*.py")) if path not in LOADER_MODULES
                for what in definitions_access(path.read_text(encoding="utf-8"))]
    assert not problems, ("read definitions through msc_analysis.definitions, not directly:\n"
                          + "\n".join(problems))


@pytest.mark.parametrize("source", [
    'from importlib import resources\np = resources.files("msc_analysis") / "definitions" / "x.csv"\n',
    'from importlib.resources import files\nwith files("msc_analysis.definitions").joinpath(name).open() as f: pass\n',
    'import pandas as pd\nw = pd.read_csv("msc_analysis/definitions/visit_windows.csv")\n',
    'from pathlib import Path\np = Path(__file__).parent.parent / "definitions"\n',
    'open(folder / "baseline.yaml")\n',
])
def test_the_folder_check_catches_each_way_of_reaching_into_the_folder(source):
    assert definitions_access(source)


def test_the_folder_check_ignores_docstrings_and_messages():
    source = ('"""Rules in ``definitions/baseline.yaml``."""\n'
              'raise ValueError("no rule; baseline.yaml has crp")\n'
              'x = f"(definitions/cut_limits.yaml): a typing error? {y}"\n')
    assert definitions_access(source) == []


@pytest.mark.parametrize("path", LOADER_MODULES, ids=lambda p: p.name)
def test_the_loader_imports_nothing_from_the_rest_of_the_package(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 1
               or isinstance(n, ast.ImportFrom) and n.level == 1 and n.module not in ("checks", "ctcae", None)
               or isinstance(n, ast.Import) and any(a.name.startswith("msc_analysis") for a in n.names)
               or isinstance(n, ast.ImportFrom) and (n.module or "").startswith("msc_analysis")]
    assert imports == []


def test_every_file_of_the_folder_has_a_reader():
    on_disk = {p.name for p in FOLDER.iterdir() if p.name.endswith((".csv", ".yaml"))}
    assert on_disk == set(definitions.FILES)


def test_the_shipped_definitions_are_valid():
    definitions.check_folder()


# ----------------------------------------------------------------------------------- copies

@pytest.mark.parametrize("reader", [definitions.trial_facts, definitions.safety_definitions,
                                    definitions.cut_limits, definitions.baseline_rules])
def test_a_changed_rule_dict_does_not_change_the_next_read(reader):
    first = reader()
    key = next(iter(first))
    first[key] = "changed"
    first["added"] = 1
    for value in first.values():
        if isinstance(value, dict):
            value.clear()
    second = reader()
    assert second[key] != "changed" and "added" not in second
    assert all(v for v in second.values() if isinstance(v, dict))


@pytest.mark.parametrize("reader", [
    definitions.cut_v1_columns, definitions.lab_units, definitions.lab_test_names,
    definitions.lab_test_lookalikes, definitions.identifier_columns, definitions.eligibility_criteria,
    definitions.visit_windows, definitions.liao_news_c_bands, definitions.liao_levels])
def test_a_changed_table_does_not_change_the_next_read(reader):
    first = reader()
    expected = reader()
    first.iloc[0, 0] = "changed"
    first["added"] = 1
    pd.testing.assert_frame_equal(reader(), expected)


def test_nested_lists_are_copies_too():
    definitions.safety_definitions()["adverse_events"]["related_categories"].append("unrelated")
    assert "unrelated" not in definitions.safety_definitions()["adverse_events"]["related_categories"]


def test_tables_have_the_declared_types():
    w = definitions.visit_windows()
    assert all(w[c].dtype == "int64" for c in ("target_day", "lower_day", "upper_day"))
    assert definitions.lab_units()["factor"].dtype == "float64"
    assert definitions.liao_news_c_bands()["points"].dtype == "int64"
    assert isinstance(definitions.trial_facts()["planned"]["study_start"], dt.date)


def test_no_dead_key_in_trial_yaml():
    # inclusion 3 (Liao level orange or red) is kept once, in eligibility.csv
    assert "eligible_liao_levels" not in definitions.trial_facts()
    liao = definitions.eligibility_criteria().set_index("criterion").loc["liao_orange_or_red"]
    assert liao["eligible_values"] == "orange|red"


# ------------------------------------------------------------------------- a malformed file

@pytest.fixture
def folder(tmp_path):
    """A copy of the shipped definitions folder, to break one file of."""
    for name in definitions.FILES:
        shutil.copyfile(FOLDER / name, tmp_path / name)
    return tmp_path


def _break(folder, name, old, new):
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("name, old, new, message", [
    ("safety.yaml", "tolerance_pct: 10", "tolerance_pct: ten", r"safety\.yaml: dose\.tolerance_pct must be a number"),
    ("safety.yaml", "  window_last_day: 28\n", "", r"safety\.yaml: the key 'monitoring\.window_last_day' is missing"),
    ("safety.yaml", "dose:", "dosage:", r"safety\.yaml lacks the sections \['dose'\]"),
    ("trial.yaml", "target_dose_cells_per_kg: 1.0e+6", "target_dose_cells_per_kg: lots",
     r"trial\.yaml: target_dose_cells_per_kg must be a number"),
    ("trial.yaml", "study_start: 2020-07-25", "study_start: July 2020", r"trial\.yaml: planned\.study_start must be a date"),
    ("cut_limits.yaml", "max_readme_bytes: 1048576", "max_readme_bytes: 1 MiB", r"cut_limits\.yaml: max_readme_bytes"),
    ("baseline.yaml", "day0_values: all", "day0_values: latest", r"baseline\.yaml \(ct\): day0_values must be one of"),
    ("visit_windows.csv", "crp,Day 3,3,2,4,", "crp,Day 3,3,2,four,",
     r"visit_windows\.csv: row 3 .*column upper_day: expected a whole number, got 'four'"),
    ("visit_windows.csv", "crp,Day 3,3,2,4,", "crp,Day 3,3,1,4,", r"visit_windows\.csv \(crp\): bad visit windows: windows overlap"),
    ("visit_windows.csv", "family,visit,target_day", "family,visit,day", r"visit_windows\.csv: lacks the column\(s\) \['target_day'\]"),
    ("lab_units.csv", "CRP,mg/L,mg/dL,0.1", "CRP,mg/L,mg/dL,a tenth", r"lab_units\.csv: row 3 .*column factor"),
    ("eligibility.csv", "consent_signed,inclusion", "consent_signed,inclusive", r"eligibility\.csv: row 3 .*column kind"),
    ("liao_news_c_bands.csv", "resp_rate,,,,>,8,<=,11,1,9-11", "resp_rate,,,,=>,8,<=,11,1,9-11",
     r"liao_news_c_bands\.csv: bad lower bound or operator"),
    ("identifier_columns.csv", "e_?mail,e-mail address", "e_?mail(,e-mail address", r"identifier_columns\.csv: row 6"),
    ("cut_v1_columns.csv", "subjects,sex,category", "subjects,sex,categorical", r"cut_v1_columns\.csv: row 5 .*column type"),
])
def test_a_malformed_file_is_refused_naming_the_file_and_key(folder, name, old, new, message):
    _break(folder, name, old, new)
    with pytest.raises(ValueError, match=message):
        definitions.check_folder(folder)


def test_a_file_that_is_not_yaml_is_refused_naming_it(folder):
    (folder / "safety.yaml").write_text("ctcae_version: [5.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"safety\.yaml: not valid YAML"):
        definitions.check_folder(folder)


def test_the_cached_readers_raise_the_same_error(folder, monkeypatch):
    _break(folder, "safety.yaml", "tolerance_pct: 10", "tolerance_pct: ten")
    monkeypatch.setattr(definitions, "_folder", lambda: folder)
    definitions._load.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"safety\.yaml: dose\.tolerance_pct"):
            definitions.safety_definitions()
    finally:
        definitions._load.cache_clear()
