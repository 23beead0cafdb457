"""File events under the source folders, grouped into batches (watchfiles: inotify on Linux, FSEvents
on macOS, polling where neither works or WATCHFILES_FORCE_POLLING is set).

A batch is yielded once no further event arrived for ``step_ms`` (at most ``debounce_ms`` after its
first event), so an editor's save (write, rename, chmod), a formatter running on save or a `git
checkout` of several files arrive as one batch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

log = logging.getLogger("embedded.reload")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch at INFO; we report deploys

STEP_MS = 100  # quiet time that closes a batch
DEBOUNCE_MS = 1600  # the longest a batch is held open while events keep coming


class Watcher:
    """Calls ``on_change(paths)`` from its own thread with each batch of changed paths."""

    def __init__(
        self,
        roots: Iterable[Path],
        on_change: Callable[[set[Path]], None],
        *,
        step_ms: int = STEP_MS,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        self.roots = [r for r in roots if r.exists()]
        self._on_change = on_change
        self._step_ms = step_ms
        self._debounce_ms = debounce_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reload-watcher", daemon=True)

    def start(self) -> Watcher:
        """Start watching (started before the stack's first apply, so no save is missed)."""
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            batches = watchfiles.watch(
                *self.roots,
                watch_filter=watchfiles.DefaultFilter(),
                debounce=self._debounce_ms,
                step=self._step_ms,
                stop_event=self._stop,
                rust_timeout=500,  # how often the stop event is looked at while nothing happens
                yield_on_timeout=False,
                raise_interrupt=False,
                ignore_permission_denied=True,
            )
            for batch in batches:
                self._on_change({Path(path) for _, path in batch})
        except Exception:
            log.exception("the file watcher stopped; saves are no longer deployed until `make run` restarts")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
