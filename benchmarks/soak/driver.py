"""One soak: load and faults together, then the reconciliation; returns the figures and violations."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.soak import reconcile
from benchmarks.soak.ledger import Ledger
from benchmarks.soak.plan import FaultPlan
from benchmarks.soak.reconcile import Findings
from benchmarks.soak.session import Budget
from benchmarks.soak.target import Target
from benchmarks.soak.workload import start_clients
from embedded_stack.moto_server import faults


def run(
    target: Target, *, requests: int, duration_s: float, clients_per_partner: int = 4, seed: int = 1
) -> Findings:
    """Drive ``target`` until ``requests`` are sent or ``duration_s`` passed, then reconcile."""
    run_id = secrets.token_hex(3)
    ledger = Ledger(run_id)
    budget = Budget(requests, duration_s)
    since = datetime.now(UTC) - timedelta(seconds=5)
    faults.clear(target.faults_file)
    clients = start_clients(target, ledger, budget, clients_per_partner, seed)
    plan = FaultPlan(budget, target.faults_file)
    plan.start()
    try:
        for client in clients:
            client.join()
    finally:
        plan.stop()
    elapsed = time.monotonic() - budget.started
    findings = Findings()
    findings.figures["run"] = run_id
    findings.figures["clients"] = [c.label for c in clients]
    findings.figures["load"] = reconcile.summarize_calls(ledger.calls, elapsed)
    findings.figures["writes"] = dict(Counter(w.outcome for w in ledger.writes))
    findings.figures["faults"] = [_phase(p) for p in plan.phases]
    findings.figures["noted"] = dict(ledger.notes)
    findings.violations += [f"client {c.label} stopped early: {c.error!r}" for c in clients if c.error]
    findings.violations += [
        f"fault never fired: {p.name} (the load ended before it could)"
        for p in plan.phases
        if not p.fired.get(p.must_fire)
    ]
    findings.violations += ledger.violations
    reconcile.settle(ledger)
    table = reconcile.scan_table(target, run_id)
    findings.figures["soak items in the table"] = len(table)
    reconcile.check_table(ledger, table, findings)
    reconcile.check_batches(ledger, table, findings)
    reconcile.check_5xx(ledger, plan.phases, findings)
    reconcile.check_audit(target, run_id, table, since, findings)
    return findings


def _phase(phase: Any) -> dict[str, Any]:
    window = round(phase.ended - phase.began, 1) if phase.began and phase.ended else None
    return {"fault": phase.name, "seconds": window, "fired": phase.fired}


def render(findings: Findings) -> str:
    """The report: figures, then every violation (or that there was none)."""
    load = findings.figures.get("load", {})
    lines = [
        f"Soak {findings.figures.get('run')}: {load.get('requests')} requests in {load.get('seconds')} s "
        f"= {load.get('requests per second')} req/s from {len(findings.figures.get('clients', []))} clients",
        f"  statuses: {load.get('statuses')}",
        f"  writes: {findings.figures.get('writes')}",
    ]
    for phase in findings.figures.get("faults", []):
        lines.append(f"  fault: {phase['fault']:<28} {phase['seconds']} s, fired {phase['fired']}")
    for name in (
        "soak items in the table",
        "ids checked against the table",
        "batch requests acknowledged",
        "5xx explained by a fault",
        "audit",
        "items whose last audit event matches the table",
        "noted",
    ):
        if name in findings.figures:
            lines.append(f"  {name}: {findings.figures[name]}")
    if findings.violations:
        lines.append(f"VIOLATIONS ({len(findings.violations)}):")
        lines += [f"  - {v}" for v in findings.violations]
    else:
        lines.append("Reconciled: nothing lost, nothing unacknowledged, no unexplained 5xx, no leak.")
    return "\n".join(lines)
