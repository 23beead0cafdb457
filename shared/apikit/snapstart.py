"""Lambda SnapStart hooks: what the copies of one snapshot must not share, refreshed after restore.

With SnapStart, Lambda initialises a published version once, snapshots the environment and resumes
every new environment of that version from the snapshot, so module-level state is copied into all of
them. The layer registers, through the runtime's ``snapshot_restore_py`` (Lambda's Python runtime,
3.12 on):

- after restore: a fresh ``random`` state (otherwise every copy draws the same retry jitter, and
  their retries stay in lockstep); a fresh botocore session and clients (no connection or
  credentials taken at snapshot time), keeping the loaded service models; the cursor key cache
  (read again from Secrets Manager, so a rotation reaches every copy); GET /usage's cache and call
  budget (apikit.usage). ``uuid.uuid4`` and ``secrets``
  read the OS's random source on each call and need nothing.
- before the snapshot: the service models of the clients the imported modules use, so a restored
  environment does not parse them again.

Where ``snapshot_restore_py`` is absent (tests, the embedded stack, other runtimes) nothing is ever
snapshotted: the hooks are recorded here and never run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

try:
    from snapshot_restore_py import register_after_restore, register_before_snapshot
except ImportError:  # not Lambda's Python runtime: no snapshot will ever be taken
    _NOT_RUN: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def register_before_snapshot(func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        """Record only: nothing is snapshotted here."""
        _NOT_RUN.append((func, args))
        return func

    def register_after_restore(func: Callable[..., Any], *args: Any) -> Callable[..., Any]:
        """Record only: nothing is restored here."""
        _NOT_RUN.append((func, args))
        return func


def before_snapshot(func: Callable[..., Any], *args: Any) -> None:
    """Run ``func(*args)`` once before Lambda takes the snapshot."""
    register_before_snapshot(func, *args)


def after_restore(func: Callable[..., Any], *args: Any) -> None:
    """Run ``func(*args)`` in every environment restored from the snapshot, before its first event."""
    register_after_restore(func, *args)


after_restore(random.seed)  # no argument: seeded from os.urandom, different in every copy
