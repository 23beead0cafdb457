"""The fault plan: four faults, one after the other, while the load runs, through the stack's spec file.

Phases start and end at fractions of the soak's progress (the larger of requests sent / requests
budgeted and time spent / time budgeted), so a short soak and a long one go through the same story:

1. a Firehose outage: every PutRecordBatch fails (the audit consumer retries, the mapping bisects
   and retries, what still fails is parked in the audit failure bucket, replayed afterwards);
2. DynamoDB throttling: every second item call fails and batches leave every third request
   unprocessed (botocore retries, the layer's batch retries, 503s when they run out);
3. a Lambda worker killed mid-batch: the next POST /batch invocation is SIGKILLed 40 ms in;
4. a stream poller crash after its function took a batch, before the checkpoint.

A phase lasts until its fault has fired at least once (so a short soak on a loaded machine still
goes through every fault, later phases starting late); one that never fires before the load ends
fails the soak. Each phase records when it was active and what fired (``faults.fired``);
``reconcile`` explains 5xx answers with these windows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.soak.session import Budget
from embedded_stack.moto_server import faults


@dataclass
class Phase:
    """One fault: its spec, when (by progress) it runs, and what happened."""

    name: str
    spec: dict[str, Any]
    start: float
    end: float
    must_fire: str  # the counter in faults.fired() that proves it happened
    once: bool = False  # ends as soon as it fired (else at its end mark)
    # How long its effects outlast it: invocations that began in the window keep retrying for up to
    # the longest function timeout (29 s), holding concurrency the requests after them then lack.
    tail_s: float = 0.0
    began: float | None = None  # wall-clock window, filled in when it runs
    ended: float | None = None
    fired: dict[str, int] = field(default_factory=dict)

    def covers(self, started: float, ended: float) -> bool:
        """Whether a request that ran from ``started`` to ``ended`` overlapped this phase."""
        if self.began is None:
            return False
        return started <= (self.ended or time.time()) + self.tail_s and ended >= self.began


def phases() -> list[Phase]:
    return [
        Phase("firehose outage", {"throttle": {"calls": 10**9}}, 0.10, 0.30, "throttle"),
        Phase(
            "DynamoDB throttling",
            {"dynamodb_throttle": {"every": 2, "unprocessed_every": 3}},
            0.35,
            0.55,
            "dynamodb_throttle",
            tail_s=30.0,
        ),
        Phase(
            "batch_write worker killed",
            {"kill_worker": {"function": "batch_write", "after_ms": 40, "times": 1}},
            0.60,
            0.75,
            "kill_worker",
            once=True,
        ),
        Phase("stream poller crash", {"poller_crash": {"times": 1}}, 0.78, 0.92, "poller_crash", once=True),
    ]


class FaultPlan(threading.Thread):
    """Writes each phase's spec when the soak reaches it and clears it at its end."""

    def __init__(self, budget: Budget, spec_file: Any, plan: list[Phase] | None = None) -> None:
        super().__init__(name="soak-faults", daemon=True)
        self.budget, self.spec_file = budget, spec_file
        self.phases = plan if plan is not None else phases()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            for phase in self.phases:
                self._wait_for(phase.start)
                if self.done.is_set():
                    return
                faults.write(phase.spec, self.spec_file)
                phase.began = time.time()
                # A once-only fault ends when it fired; a window ends at its progress mark, but not
                # before it fired (a short soak on a loaded machine can cross a window of a few
                # seconds without one Firehose call; the next phases then start late).
                while not self.done.is_set():
                    fired = faults.fired(self.spec_file).get(phase.must_fire)
                    if fired and (phase.once or self.budget.progress >= phase.end):
                        break
                    time.sleep(0.05)
                phase.fired = faults.fired(self.spec_file)
                phase.ended = time.time()
                faults.clear(self.spec_file)
        finally:
            faults.clear(self.spec_file)

    def _wait_for(self, progress: float) -> None:
        while not self.done.is_set() and self.budget.progress < progress:
            time.sleep(0.05)

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=10)
        faults.clear(self.spec_file)
