"""Page kernels forked from a template that has imported the kit (msc_analysis/run/warm_kernels.py)."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import papermill as pm
import pytest

from msc_analysis.run import warm_kernels
from msc_analysis.run.pool import WorkerProcess

from .helpers import write_notebook

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="forked kernels need Linux (pidfd)")

#: A page's first-cell state that depends on how the kernel was started: the matplotlib backend
#: (inline, so a figure is shown), pandas' text form of a wide frame (20 columns in a kernel, as
#: decided when pandas is imported), the working folder, the kernel's environment, a figure.
PROBE = ("import os, sys\nimport matplotlib, matplotlib.pyplot as plt\nimport numpy as np, pandas as pd\n"
         "print(matplotlib.get_backend(), os.getcwd(), os.environ.get('MSC_ANALYSIS_PROBE'))\n"
         "pd.DataFrame(np.zeros((2, 30), dtype=int))",
         "plt.plot([0, 1], [0, 1]);")


def _outputs(nb) -> list:
    return [{k: v for k, v in o.items() if k != "execution_count"} for c in nb.cells for o in c.get("outputs", [])]


def _run(path: Path, out: Path, warm: bool, **parameters):
    extra = {"kernel_manager_class": warm_kernels.WarmKernelManager} if warm else {}
    return pm.execute_notebook(str(path), str(out), parameters=parameters, kernel_name="python3",
                               progress_bar=False, cwd=str(path.parent), **extra)


@pytest.fixture
def template(tmp_path):
    """A template of this test process, as a worker has one; stopped afterwards."""
    warm = warm_kernels.template(tmp_path)
    yield warm
    warm.stop()


def test_a_page_in_a_forked_kernel_shows_exactly_what_a_freshly_started_kernel_shows(tmp_path, template,
                                                                                     monkeypatch):
    monkeypatch.setenv("MSC_ANALYSIS_PROBE", "this notebook's environment")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # as the worker does: the kernel's own backend
    nb = write_notebook(tmp_path / "01_probe.ipynb", *PROBE)
    fresh = _run(nb, tmp_path / "fresh.ipynb", warm=False)
    forked = _run(nb, tmp_path / "forked.ipynb", warm=True)
    assert _outputs(forked) == _outputs(fresh)
    text = json.dumps(_outputs(forked))
    assert "module://matplotlib_inline.backend_inline" in text and "image/png" in text
    assert "this notebook's environment" in text and str(tmp_path) in text
    assert "30 columns" in text  # a kernel's pandas: at most 20 columns shown, then "[2 rows x 30 columns]"


def test_each_page_gets_a_kernel_process_of_its_own_started_from_the_template(tmp_path, template):
    first = write_notebook(tmp_path / "01_a.ipynb", "import os, sys, pandas\npandas.left_by_page_1 = True\n"
                           "x = 1\nprint(os.getpid(), os.getppid(), 'msc_analysis.report.page' in sys.modules)")
    second = write_notebook(tmp_path / "02_b.ipynb", "import os, pandas\n"
                            "print(os.getpid(), hasattr(pandas, 'left_by_page_1'), 'x' in globals())")
    out1 = _run(first, tmp_path / "a.ipynb", warm=True).cells[1].outputs[0]["text"].split()
    out2 = _run(second, tmp_path / "b.ipynb", warm=True).cells[1].outputs[0]["text"].split()
    assert int(out1[1]) == template.proc.pid  # forked by the template,
    assert out1[2] == "True"  # which had imported the kit's modules the notebooks import
    assert out2[0] != out1[0] and out2[1:] == ["False", "False"]  # nothing of page 1 is seen by page 2


def test_a_kernel_is_started_the_ordinary_way_when_the_template_has_died(tmp_path, template, monkeypatch):
    template.proc.kill()
    template.proc.wait()
    assert template.fork(["-f", "x.json"], {}, None) is None  # a dead template makes no kernel
    monkeypatch.setattr(warm_kernels, "template", lambda *args: template)
    nb = write_notebook(tmp_path / "01_a.ipynb", "import os\nprint(os.getppid())")
    out = _run(nb, tmp_path / "a.ipynb", warm=True).cells[1].outputs[0]["text"]
    assert int(out) == os.getpid()  # started by this process (python -m ipykernel_launcher), and it ran


def test_a_forked_kernel_ends_when_its_template_ends(tmp_path, template):
    nb = write_notebook(tmp_path / "01_a.ipynb", "import os\nprint(os.getpid())")
    pid = int(_run(nb, tmp_path / "a.ipynb", warm=True).cells[1].outputs[0]["text"])
    deadline = time.time() + 10
    while Path(f"/proc/{pid}").exists() and time.time() < deadline:  # shut down after its notebook
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()
    request = {"argv": ["-f", str(tmp_path / "never-written.json")], "env": dict(os.environ), "cwd": str(tmp_path)}
    template.proc.stdin.write(json.dumps(request) + "\n")  # a kernel that waits for its connection file
    template.proc.stdin.flush()
    child = json.loads(template.proc.stdout.readline())["pid"]
    assert Path(f"/proc/{child}").exists()
    os.kill(template.proc.pid, signal.SIGKILL)
    deadline = time.time() + 10
    while Path(f"/proc/{child}").exists() and time.time() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists()


def test_the_runner_runs_every_page_in_a_forked_kernel(tmp_path):
    nb = write_notebook(tmp_path / "01_a.ipynb", "import os\nprint(open(f'/proc/{os.getppid()}/cmdline').read())")
    spec = {"notebook": str(nb), "out_dir": str(tmp_path), "with_code": False, "cell_timeout_s": 120,
            "parameters": {}, "results_only": True}
    worker = WorkerProcess()
    try:
        assert worker.run(spec, 300)["ok"]
    finally:
        worker.stop()
    executed = json.loads((tmp_path / "01_a.ipynb").read_text())
    assert "msc_analysis.run.warm_kernels import serve" in "".join(executed["cells"][1]["outputs"][0]["text"])
