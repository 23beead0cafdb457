"""What the soak's clients sent and got back: every call, and every write with its outcome.

A write is *acknowledged* (2xx: it happened), *rejected* (4xx: it must leave nothing behind) or *in
doubt* (5xx or no answer: it may or may not have happened). Each write stamps its item's ``info`` with
a marker, ``soak.<run>.<partner>.<client>.<n>`` (``.<i>`` per batch item), so whatever state an item is
in can be traced back to the one request that produced it, and to its partner.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

ACKED, REJECTED, IN_DOUBT = "acked", "rejected", "in doubt"


def outcome_of(status: int | None) -> str:
    if status is None or status >= 500:
        return IN_DOUBT
    return ACKED if status < 300 else REJECTED


def partner_of(marker: str) -> str | None:
    """The partner a marker names (None when it is not a soak marker)."""
    parts = marker.split(".")
    return parts[2] if len(parts) >= 5 and parts[0] == "soak" else None


@dataclass
class Call:
    """One HTTP request and its answer (``status`` None: no answer, e.g. a timeout)."""

    client: str
    partner: str
    op: str
    method: str
    path: str
    started: float
    ended: float
    status: int | None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Write:
    """A write the soak made and what it should have left behind.

    ``kind``: create | patch | delete | batch (one per batch item). ``version``: the version the answer
    said the item has (acknowledged creates and patches). ``creates``: it may create the item.
    """

    marker: str
    partner: str
    item_id: str | None
    kind: str
    call: Call
    outcome: str
    version: int | None = None
    idempotency_key: str | None = None

    @property
    def creates(self) -> bool:
        return self.kind in ("create", "batch")


class Ledger:
    """Thread-safe record of calls, writes and what the clients saw that they should not have."""

    def __init__(self, run: str) -> None:
        self.run = run
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.writes: list[Write] = []
        self.violations: list[str] = []
        self.notes: Counter[str] = Counter()

    def marker(self, partner: str, client: str, n: int) -> str:
        return f"soak.{self.run}.{partner}.{client}.{n}"

    def call(self, call: Call) -> Call:
        with self._lock:
            self.calls.append(call)
        return call

    def write(self, write: Write) -> Write:
        with self._lock:
            self.writes.append(write)
        return write

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def note(self, what: str, count: int = 1) -> None:
        with self._lock:
            self.notes[what] += count

    def check_isolation(self, call: Call, items: list[dict[str, Any]]) -> None:
        """Every item a partner is shown must carry that partner's marker (or none of ours)."""
        for item in items:
            marker = (item.get("info") or {}).get("soak") if isinstance(item, dict) else None
            owner = partner_of(marker) if isinstance(marker, str) else None
            if owner is not None and owner != call.partner:
                self.violation(
                    f"isolation: {call.partner} was shown {owner}'s item {item.get('id')} "
                    f"({call.method} {call.path})"
                )
