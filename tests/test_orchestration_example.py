"""The example Airflow DAG (docs/examples) is the task list docs/scaling.md documents.

Airflow is not installed for the kit's tests: the DAG file is parsed with ``ast``, then executed
with small stand-ins for the Airflow and pendulum modules that record each operator's task_id,
arguments and upstream tasks. Nothing runs a notebook; no file is written.
"""
import ast
import re
import runpy
import sys
import types

import pytest

from msc_analysis.run.batch import declared_parameters

from .conftest import ROOT

DAG_FILE = ROOT / "docs" / "examples" / "airflow_msc_analysis_dag.py"
SCALING_DOC = ROOT / "docs" / "scaling.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: PapermillOperator's keyword arguments in apache-airflow-providers-papermill 3.x
#: (airflow/providers/papermill/operators/papermill.py), besides BaseOperator's task_id.
PAPERMILL_OPERATOR_ARGUMENTS = {"input_nb", "output_nb", "parameters", "kernel_name", "language_name",
                                "kernel_conn_id", "log_output", "nbconvert", "nbconvert_args"}


class _Operator:
    def __init__(self, *, task_id, **kwargs):
        self.task_id, self.kwargs, self.upstream = task_id, kwargs, set()
        _DAG.current.tasks.append(self)

    def __rshift__(self, other):
        for task in other if isinstance(other, list) else [other]:
            task.upstream.add(self.task_id)
        return other

    def __rrshift__(self, other):  # [a, b] >> self
        for task in other:
            self.upstream.add(task.task_id)
        return self


class _PythonOperator(_Operator):
    kind = "python"


class _PapermillOperator(_Operator):
    kind = "papermill"


class _DAG:
    current = None

    def __init__(self, **kwargs):
        self.kwargs, self.tasks = kwargs, []

    def __enter__(self):
        _DAG.current = self
        return self

    def __exit__(self, *exc):
        _DAG.current = None


@pytest.fixture(scope="module")
def dag():
    """The DAG file executed with stand-in Airflow modules; the recorded DAG."""
    stand_ins = {
        "airflow": types.SimpleNamespace(DAG=_DAG),
        "airflow.operators": types.SimpleNamespace(),
        "airflow.operators.python": types.SimpleNamespace(PythonOperator=_PythonOperator),
        "airflow.providers": types.SimpleNamespace(),
        "airflow.providers.papermill": types.SimpleNamespace(),
        "airflow.providers.papermill.operators": types.SimpleNamespace(),
        "airflow.providers.papermill.operators.papermill": types.SimpleNamespace(PapermillOperator=_PapermillOperator),
        "pendulum": types.SimpleNamespace(datetime=lambda *a, **k: (a, k)),
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, module in stand_ins.items():
            mp.setitem(sys.modules, name, module)
        namespace = runpy.run_path(str(DAG_FILE))
    return namespace["dag"]


@pytest.fixture(scope="module")
def documented():
    """The task table of docs/scaling.md: task id -> the cell "runs after", in the table's order."""
    text = SCALING_DOC.read_text(encoding="utf-8")
    section = text.split("## The example DAG: tasks", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+) \|$", section, flags=re.MULTILINE)
    assert rows, "no task table found under '## The example DAG: tasks'"
    return {task: after.strip() for task, after in rows}


def _expected_upstream(after: str, notebook_tasks: list[str], later: set[str]) -> set[str]:
    if after == "-":
        return set()
    if after == "every notebook":
        return set(notebook_tasks)
    if after == "every other notebook":
        return set(notebook_tasks) - later
    return set(re.findall(r"`([^`]+)`", after))


def test_example_dag_file_is_valid_python():
    ast.parse(DAG_FILE.read_text(encoding="utf-8"), filename=str(DAG_FILE))


def test_dag_tasks_are_exactly_the_documented_tasks_in_order(dag, documented):
    assert [t.task_id for t in dag.tasks if t.kind == "python"] == ["validate_and_cache", "publish_report"]
    documented_notebooks = [t for t in documented if t not in ("validate_and_cache", "publish_report")]
    ran_after_others = [t for t, after in documented.items() if after == "every other notebook"]
    dag_notebooks = [t.task_id for t in dag.tasks if t.kind == "papermill"]
    assert sorted(dag_notebooks) == sorted(documented_notebooks)
    assert list(documented) == ["validate_and_cache", *[t for t in dag_notebooks if t not in ran_after_others],
                                *ran_after_others, "publish_report"]


def test_every_notebook_of_the_report_is_one_task_and_every_task_notebook_exists(dag):
    named = [t.kwargs["input_nb"].rsplit("/", 1)[-1] for t in dag.tasks if t.kind == "papermill"]
    assert sorted(named) == [p.name for p in NOTEBOOKS]
    assert all((ROOT / "notebooks" / name).is_file() for name in named)
    assert [t.task_id for t in dag.tasks if t.kind == "papermill"] == [n.removesuffix(".ipynb") for n in named]


def test_task_dependencies_are_the_documented_ones(dag, documented):
    notebook_tasks = [t.task_id for t in dag.tasks if t.kind == "papermill"]
    later = {t for t, after in documented.items() if after == "every other notebook"}
    for task in dag.tasks:
        assert task.upstream == _expected_upstream(documented[task.task_id], notebook_tasks, later), task.task_id


def test_notebooks_run_after_the_others_are_those_that_read_this_runs_results(dag, documented):
    later = {t for t, after in documented.items() if after == "every other notebook"}
    assert later == {p.stem for p in NOTEBOOKS if "previous_results_dir" in (declared_parameters(p) or ())}


def test_each_notebook_gets_only_paths_it_declares_as_parameters(dag):
    for task in (t for t in dag.tasks if t.kind == "papermill"):
        params = task.kwargs["parameters"]
        assert set(params) <= declared_parameters(ROOT / "notebooks" / f"{task.task_id}.ipynb"), task.task_id
        assert {"cut_dir", "results_dir"} <= set(params)
        assert all(isinstance(v, str) and (v == "" or v.startswith("/")) for v in params.values()), task.task_id


def test_papermill_operators_use_only_the_providers_arguments(dag):
    for task in (t for t in dag.tasks if t.kind == "papermill"):
        assert set(task.kwargs) <= PAPERMILL_OPERATOR_ARGUMENTS, task.task_id
