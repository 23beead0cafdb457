"""Measurements 5 and 6: the embedded stack (gateway + warm worker) and `make run` to ready."""

from typing import Any

from benchmarks.sandbox import Log, Sandbox


def measure(box: Sandbox, *, requests: int, clients: int, quick: bool, log: Log) -> dict[str, Any]:
    """p50/p99 through the gateway vs in process; throughput vs moto's raw rate."""
    return {"id": "embedded", "title": "5. Embedded stack", "status": "skipped",
            "reason": "scripts.embedded.start_stack has not landed yet", "rows": []}  # fmt: skip


def make_run(*, quick: bool, log: Log) -> dict[str, Any]:
    """Seconds from `make run` to ready on a second run, Terraform's share."""
    return {"id": "make_run", "title": "6. make run to ready", "status": "skipped",
            "reason": "scripts/measure_local.py has not landed yet", "rows": []}  # fmt: skip
