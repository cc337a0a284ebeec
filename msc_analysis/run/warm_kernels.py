"""Notebook kernels forked from a process that has already imported the kit: each page skips its imports.

A fresh kernel spends more CPU importing pandas, scipy, matplotlib, great_tables and the kit
than a trial-sized page spends computing, and a report starts twelve of them. Each worker
therefore keeps one *template* process (:data:`_PROGRAM`, :func:`serve`) that imports those
modules once and then waits. For every notebook, papermill's kernel manager
(:class:`WarmKernelManager`) asks the template to ``fork()``: the child resets what it
inherited (signals, standard streams, environment, working folder, session) and runs the
ordinary ipykernel with the connection file jupyter_client wrote. Every page still gets a
kernel process of its own, starting from the same state, so no page can see another's
variables; only the import work is shared.

Nothing else changes: the notebook is executed, interrupted, timed out and shut down through
jupyter_client as before. If the template cannot be started or has died, the kernel is
started the ordinary way (``python -m ipykernel_launcher``), so a problem here costs time,
never a page. The template and its kernels die with the worker (``PR_SET_PDEATHSIG``), and
ipykernel also watches its parent.

The modules imported are those the notebooks import (read from their ``import`` lines) and
their heavy dependencies; nothing is drawn or computed in the template, so matplotlib has not
chosen its backend and the inline backend hooks into each kernel as usual.
"""
from __future__ import annotations

import ast
import ctypes
import ctypes.util
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

__all__ = ["WarmKernelManager", "Template", "template", "close_template", "notebook_imports", "serve", "BASE_IMPORTS"]

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

#: Imported by the template before the notebooks' own imports: the kernel and the libraries the
#: kit's pages use.
BASE_IMPORTS = ("ipykernel.kernelapp", "ipykernel.ipkernel", "IPython", "numpy", "pandas", "pyarrow",
                "scipy.stats", "matplotlib.pyplot", "seaborn", "great_tables", "PIL.Image")


def notebook_imports(notebook_dir: Path) -> list[str]:
    """The modules the notebooks in ``notebook_dir`` import, in first-seen order.

    ``from a.b import c`` gives ``a.b`` and ``a.b.c`` (``c`` may be a module); imports inside
    code that does not parse are skipped.

    >>> import json, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> cell = {"cell_type": "code", "source": "import a.b\\nfrom c import d, e\\nx = 1"}
    >>> _ = (d / "01_x.ipynb").write_text(json.dumps({"cells": [cell]}))
    >>> notebook_imports(d)
    ['a.b', 'c', 'c.d', 'c.e']
    """
    names: dict[str, None] = {}
    for path in sorted(Path(notebook_dir).glob("[0-9][0-9]_*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            try:
                tree = ast.parse("".join(source) if isinstance(source, list) else source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(dict.fromkeys(a.name for a in node.names))
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names[node.module] = None
                    names.update(dict.fromkeys(f"{node.module}.{a.name}" for a in node.names))
    return list(names)


#: The template's program. Before anything is imported, ``get_ipython()`` is made to look as it
#: does to a module imported in a kernel (a shell with a ``kernel``): pandas, for one, decides
#: at import whether it runs in a kernel (then a frame's text form shows at most 20 columns) or
#: in a terminal, and the kit's package imports pandas. :func:`serve` removes it after the imports.
_PROGRAM = """\
import builtins, sys
class KernelShell:
    kernel = None
builtins.get_ipython = KernelShell
from msc_analysis.run.warm_kernels import serve
code = serve(*sys.argv[1:])
sys.stderr.flush()
import os
os._exit(code)  # nothing to tidy: its kernels are reaped, its answers written; tearing down costs 0.4 s
"""


def _warm_up(modules) -> None:
    """Import each module that can be imported; a failure shows up in the page, as before."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # not a module (a function imported by name) or broken: the kernel says
            pass


def _become_kernel(request: dict) -> None:
    """In the forked child: undo what was inherited from the template, then run ipykernel. Never returns."""
    try:
        os.setsid()  # its own session and process group, as jupyter_client's launcher gives a kernel
        from .worker import die_with_parent

        die_with_parent(request["template_pid"])
        _name_process(b"ipykernel")  # what ps, top and /proc/PID/comm show for it
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)  # the template's input is the worker's request pipe
        os.dup2(null, 1)  # and its output the answers; a kernel's stray output goes nowhere, as before
        os.close(null)
        os.close(request["answers_fd"])  # the template's copy of the answer pipe is not the kernel's
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("cwd"):
            os.chdir(request["cwd"])
        sys.path[0] = os.getcwd()  # as ``python -m ipykernel_launcher`` started in that folder
        from ipykernel.kernelapp import IPKernelApp

        argv = list(request["argv"]) + [f"--IPKernelApp.parent_handle={request['template_pid']}"]
        sys.argv = ["ipykernel_launcher"] + argv
        IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child must never return into the template's loop
        code = 1
    os._exit(code)


def _name_process(name: bytes) -> None:
    """Linux: set the process name (``PR_SET_NAME``); its command line stays the template's."""
    libc_name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(libc_name), "prctl", None) if libc_name else None
    if prctl is not None:
        prctl(15, ctypes.c_char_p(name[:15]), 0, 0, 0)


def serve(parent_pid: str = "", notebook_dir: str = "") -> int:
    """The template (:data:`_PROGRAM`): import, then fork one kernel per JSON request line and answer its pid."""
    import builtins

    from .worker import die_with_parent

    die_with_parent(int(parent_pid) if parent_pid else None)
    _warm_up(BASE_IMPORTS)
    if notebook_dir:
        _warm_up(notebook_imports(Path(notebook_dir)))
    if getattr(getattr(builtins, "get_ipython", None), "__name__", "") == "KernelShell":
        del builtins.get_ipython
    # Each ended kernel is reaped here (its manager watches a pidfd), so that its CPU time and
    # memory count in this process's children, as a started kernel's count in the worker's.
    signal.signal(signal.SIGCHLD, _reap)
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        request.update(template_pid=os.getpid(), answers_fd=answers.fileno())
        pid = os.fork()
        if pid == 0:
            _become_kernel(request)
        answers.write(json.dumps({"pid": pid}) + "\n")
        answers.flush()
    deadline = time.monotonic() + 10  # the worker is done: its kernels have been shut down
    while time.monotonic() < deadline and _reap() is not None:
        time.sleep(0.05)
    return 0


def _reap(*_signal) -> int | None:
    """Reap every ended child; None when no child is left, else 1 (some still run)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return 1


class Template:
    """The worker's end of one template process."""

    def __init__(self, notebook_dir: Path | None = None):
        # What ipykernel does before anything imports matplotlib (the kit's package does, so it
        # must be set before this process starts): the inline backend is the default.
        env = {**os.environ, "MPLBACKEND": INLINE_BACKEND}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _PROGRAM, str(os.getpid()), str(notebook_dir or "")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.ready = False

    def fork(self, argv: list[str], env: dict, cwd: str | None, timeout_s: float = 60) -> int | None:
        """The pid of a new kernel process, or None if the template cannot make one."""
        try:
            if not self.ready:
                if not self._answer(timeout_s).get("ready"):
                    return None
                self.ready = True
            self.proc.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
            self.proc.stdin.flush()
            pid = self._answer(10).get("pid")
            return pid if isinstance(pid, int) and pid > 0 else None
        except (OSError, ValueError):
            return None

    def _answer(self, timeout_s: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not line:  # dead or stuck: never asked again
            self.stop()
            raise ValueError("no answer from the kernel template")
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, kill: bool = True) -> None:
        """End the template: at once, or (``kill=False``) once its last kernel has been reaped."""
        if self.proc.poll() is None and not kill:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


_TEMPLATE: Template | None = None
_NOTEBOOKS: list = [None]  # the notebook folder of this worker's first template


def template(notebook_dir: Path | None = None) -> Template | None:
    """This worker's template, started on first use (and again, for the same notebooks, if it died)."""
    global _TEMPLATE
    if notebook_dir is not None:
        _NOTEBOOKS[0] = notebook_dir
    if _TEMPLATE is None or not _TEMPLATE.alive():
        try:
            _TEMPLATE = Template(_NOTEBOOKS[0])
        except OSError:
            _TEMPLATE = None
    return _TEMPLATE


def close_template() -> None:
    """End this worker's template, if it has one, after its kernels."""
    if _TEMPLATE is not None:
        _TEMPLATE.stop(kill=False)


class _ForkedKernel:
    """What jupyter_client's local provisioner needs of a ``Popen``, for a kernel that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None
        self._fd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = 0  # the template reaped it; its exit status is not ours to read
            os.close(self._fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._fd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("kernel", timeout)
            self.poll()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _WarmProvisioner(LocalProvisioner):
    async def launch_kernel(self, cmd, **kwargs):
        warm = template() if _is_ipykernel(cmd) else None
        cwd = kwargs.get("cwd") or os.getcwd()  # papermill changes into the notebook's folder to start it
        pid = warm.fork(cmd[3:], dict(kwargs.get("env") or os.environ), str(cwd)) if warm else None
        try:
            process = _ForkedKernel(pid) if pid is not None else None
        except OSError:  # it has already ended: something is wrong with the template
            process = None
        if process is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = process
        self.pid = self.pgid = pid
        self.cwd = cwd
        return self.connection_info


def _is_ipykernel(cmd) -> bool:
    """``python -m ipykernel_launcher -f FILE [--Option=value ...]`` with this interpreter: the one
    command a template can stand in for (nbclient adds ``--HistoryManager.hist_file=:memory:``)."""
    return (len(cmd) >= 5 and cmd[1:4] == ["-m", "ipykernel_launcher", "-f"]
            and all(str(a).startswith("--") and "=" in str(a) for a in cmd[5:])
            and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))


class WarmKernelManager(AsyncKernelManager):
    """papermill's kernel manager with kernels forked from the worker's template (see the module)."""

    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = _WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

