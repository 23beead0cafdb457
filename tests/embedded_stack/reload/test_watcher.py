"""The watcher turns a burst of saves into one batch, and a later save into the next one."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from embedded_stack.reload.watcher import Watcher


def _next(batches: queue.Queue[set[Path]], timeout_s: float = 20.0) -> set[Path]:
    return batches.get(timeout=timeout_s)


def test_a_burst_of_saves_is_one_batch_and_a_later_save_the_next(tmp_path: Path) -> None:
    (tmp_path / "functions" / "fn").mkdir(parents=True)
    batches: queue.Queue[set[Path]] = queue.Queue()
    # A quiet time far above what writing five files takes, even on a loaded machine.
    watcher = Watcher([tmp_path / "functions", tmp_path / "absent"], batches.put, step_ms=400).start()
    try:
        assert watcher.roots == [tmp_path / "functions"]  # folders that do not exist are skipped
        time.sleep(0.5)  # the watch is set up on the thread's first iteration
        burst = [tmp_path / "functions" / "fn" / f"m{i}.py" for i in range(5)]
        for path in burst:
            path.write_text("x = 1\n")
        first = _next(batches)
        assert set(burst) <= first
        (tmp_path / "functions" / "fn" / "__pycache__").mkdir()
        (tmp_path / "functions" / "fn" / "__pycache__" / "m0.cpython-312.pyc").write_bytes(b"")  # filtered
        later = tmp_path / "functions" / "fn" / "later.py"
        later.write_text("y = 2\n")
        second = _next(batches)
        assert later in second
        assert not any("__pycache__" in str(p) for p in second)
        assert batches.empty()
    finally:
        watcher.stop()
