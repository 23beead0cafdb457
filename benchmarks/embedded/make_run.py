"""The `make run` driver: the stack started exactly as a user starts it, and stopped as a user stops it.

`make run` runs in a child process group, stopped with SIGINT like Ctrl-C; only EMBEDDED_STATE_DIR
points at this suite's cache, so a developer's running stack or an e2e session is never wiped. Other
embedded stacks on the machine share Terraform's lock, so a run waits for them when it can.
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.sandbox import CACHE, REPO, Log

STATE_DIR = CACHE / "make-run-state"
READY = re.compile(r"Embedded stack ready in ([\d.]+) s \(build \+ terraform ([\d.]+) s\)")


class MakeRun:
    """`make run` in its own process group; remembers when the ready banner appeared."""

    def __init__(self, log: Log, make_vars: tuple[str, ...] = ()) -> None:
        self._log = log
        self.make_vars = make_vars  # e.g. FRESH=1 (from nothing) or APPLY=1 (restore, then apply)
        self.tail: collections.deque[str] = collections.deque(maxlen=60)
        self.ready = threading.Event()
        self.banner: tuple[float, float] | None = None
        self.ready_after_s: float | None = None
        self.others_at_start = 0
        self.timings: dict[str, float] = {}
        # Its own state dir, so a developer's `make run` or an e2e session is never wiped by ours.
        env = {**os.environ, "EMBEDDED_API_PORT": "0", "EMBEDDED_AWS_PORT": "0",
               "EMBEDDED_STATE_DIR": str(STATE_DIR)}  # fmt: skip
        self._started = time.monotonic()
        self._proc = subprocess.Popen(  # noqa: S603 - make and our own fixed variables
            ["make", "--no-print-directory", "run", *make_vars],  # noqa: S607 - make from PATH, as a user runs it
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.tail.append(line.rstrip())
            match = READY.search(line)
            if match and not self.ready.is_set():
                self.ready_after_s = time.monotonic() - self._started
                self.banner = (float(match.group(1)), float(match.group(2)))
                self.ready.set()

    def wait_ready(self, timeout_s: float = 600.0) -> None:
        """Block until the banner, or raise with the end of the output."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.5):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(list(self.tail)[-15:])
                raise RuntimeError(f"make run did not become ready (exit {self._proc.poll()}):\n{tail}")

    def stop(self) -> None:
        """Ctrl-C for the whole group, then wait; SIGKILL only if it does not stop."""
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGINT)
            try:
                self._proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=30)
        self._reader.join(timeout=10)


def other_stacks() -> int:
    """Embedded stacks running on this machine that are not ours (they share Terraform's lock)."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"embedded_stack" in argv and b"-m" in argv:
            count += 1
    return count


def wait_for_quiet(log: Log, timeout_s: float = 300.0) -> int:
    """Wait until no other embedded stack runs (their applies would queue ours); return how many were left."""
    deadline = time.monotonic() + timeout_s
    busy = other_stacks()
    if busy:
        log(f"  waiting for {busy} other embedded stack(s) to finish (at most {timeout_s:.0f} s)")
    while busy and time.monotonic() < deadline:
        time.sleep(5)
        busy = other_stacks()
    return busy


@contextmanager
def started(log: Log, *make_vars: str) -> Iterator[MakeRun]:
    """One `make run`, ready on entry, stopped on exit; started when no other stack runs if possible."""
    others = wait_for_quiet(log)
    run = MakeRun(log, make_vars)
    run.others_at_start = others
    try:
        run.wait_ready()
        timings = STATE_DIR / "timings.json"
        if timings.exists():  # the stack's own breakdown: moto, runtime venv, build + terraform, gateway
            run.timings = json.loads(timings.read_text())
        yield run
    finally:
        run.stop()


def unavailable() -> str | None:
    """Why `make run` cannot run here, or None."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH: the embedded stack deploys with terraform apply"
    if shutil.which("make") is None:
        return "make is not on PATH"
    return None


def stack_document() -> dict[str, Any]:
    """stack.json of the running stack: its URLs, table, partners and their keys."""
    return json.loads((STATE_DIR / "stack.json").read_text())
