"""The runner's end of its worker processes (``worker.py``): start them, send each a notebook, stop them.

:class:`WorkerGroup` holds a run's workers, so that an interrupted run stops them all at once;
:class:`WorkerProcess` sends one worker one notebook at a time, with a time limit.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

from .worker import INTERRUPTED

__all__ = ["WorkerGroup", "WorkerProcess"]


class WorkerGroup:
    """The worker processes of a run, so that an interrupted run can stop them all at once.

    A worker is asked (``--parent-pid``) to die with the thread that started it
    (``PR_SET_PDEATHSIG``). Workers started ahead (:meth:`prestart`, by the runner's own thread,
    which outlives them) start importing while the runner prepares, and serve every batch of the
    run (the previous cut's results, the pages, then the pages that compare cuts); a worker a
    batch's pool thread had to start is stopped by that thread, which outlives it.
    """

    def __init__(self, notebook_dir: Path | None = None):
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
        self._kept: set[subprocess.Popen] = set()  # started ahead: serve every batch
        self._idle: list[subprocess.Popen] = []
        self.cancelled = False
        self.notebook_dir = notebook_dir

    def prestart(self, n: int) -> None:
        """Start ``n`` workers now, to serve every batch; call from a thread that outlives the run."""
        for _ in range(n):
            proc = self.start()
            if proc is None:
                return
            with self._lock:
                self._kept.add(proc)
                self._idle.append(proc)

    def take(self) -> subprocess.Popen | None:
        """An idle worker started ahead, else a new one."""
        with self._lock:
            while self._idle:
                proc = self._idle.pop(0)
                if proc.poll() is None:
                    return proc
        return self.start()

    def give_back(self, proc: subprocess.Popen) -> bool:
        """Keep a worker started ahead for the next batch (True); False: stop it."""
        with self._lock:
            if proc in self._kept and proc.poll() is None and not self.cancelled:
                self._idle.append(proc)
                return True
            return False

    def close(self) -> None:
        """Stop the idle workers started ahead, after their kernels."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._kept.difference_update(idle)
        for proc in idle:  # all asked to end at once, then waited for
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in idle:
            WorkerProcess(self, proc).stop()

    def start(self) -> subprocess.Popen | None:
        with self._lock:
            if self.cancelled:
                return None
            proc = subprocess.Popen([sys.executable, "-m", "msc_analysis.run.worker",
                                     "--parent-pid", str(os.getpid())]
                                    + (["--notebooks", str(self.notebook_dir)] if self.notebook_dir else []),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, start_new_session=True)
            self._procs.add(proc)
            return proc

    def forget(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)
            self._kept.discard(proc)

    def kill_all(self) -> None:
        """Stop every worker now (its kernel template is in its process group; their kernels die with
        the template, ``PR_SET_PDEATHSIG``, or with a worker that started one the ordinary way,
        ipykernel's watch on its parent)."""
        with self._lock:
            self.cancelled = True
            for proc in self._procs:
                _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class WorkerProcess:
    """One long-lived worker process (``worker.py``) that runs notebooks one at a time."""

    def __init__(self, workers: WorkerGroup | None = None, proc: subprocess.Popen | None = None):
        self.proc = proc
        self.workers = workers or WorkerGroup()

    def run(self, spec: dict, timeout_s: float) -> dict | None:
        """The notebook's status, or None if it ran out of time (the worker is then killed)."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop(kill=True)
            self.proc = self.workers.take()
            if self.proc is None:
                return {"ok": False, "error": INTERRUPTED, "retry": False}
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
            line = self.proc.stdout.readline() if ready else ""
        except OSError:  # the worker died before reading the spec
            ready, line = True, ""
        if not ready:
            self.stop(kill=True)
            return None
        try:
            return json.loads(line)
        except ValueError:  # no line: the worker died (or was stopped)
            self.stop(kill=True)
            if self.workers.cancelled:
                return {"ok": False, "error": INTERRUPTED, "retry": False}
            return {"ok": False, "error": "the worker process stopped unexpectedly", "retry": True}

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or (not kill and self.workers.give_back(proc)):
            return
        if kill:
            _kill_group(proc)
        else:
            try:
                proc.stdin.close()
            except OSError:
                _kill_group(proc)
        proc.wait()
        self.workers.forget(proc)
