"""Function logs: what each worker prints, labelled with its function, as CloudWatch Logs would keep it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import IO


class LogSink:
    """Each worker's output, labelled with its function: to the console and .local/logs/<fn>.log."""

    def __init__(self, log_dir: Path, console: IO[str] | None) -> None:
        self._dir = log_dir
        self._console = console
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def write(self, function_name: str, line: str) -> None:
        line = line.rstrip("\n")
        with self._lock:
            handle = self._files.get(function_name)
            if handle is None:
                handle = open(self._dir / f"{function_name}.log", "a", buffering=1)  # noqa: SIM115
                self._files[function_name] = handle
            handle.write(line + "\n")
            if self._console is not None:
                self._console.write(f"[{function_name}] {line}\n")
                self._console.flush()

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()
