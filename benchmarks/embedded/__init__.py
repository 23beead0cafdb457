"""Measurements 5 and 6: the embedded stack through its gateway, and `make run` to ready.

`make run` is started as a user starts it (make_run.py), twice when measurement 6 is chosen: the second
run is the one the target is about (venvs, zips, provider and code caches exist). The stack of the last
run serves measurement 5 (gateway.py); Terraform's share is then timed step by step (terraform_time.py);
results.py turns the figures into rows with targets and verdicts.
"""

from typing import Any

from benchmarks.embedded import gateway, make_run, results, webhooks
from benchmarks.embedded.results import TITLES
from benchmarks.embedded.terraform_time import terraform_breakdown
from benchmarks.sandbox import Log, Sandbox


def measurements(
    box: Sandbox, chosen: set[str], *, requests_n: int, clients: int, quick: bool, log: Log
) -> list[dict[str, Any]]:
    """Measurements 5 and 6 (whichever are chosen), sharing the stack of the last `make run`."""
    wanted = [m for m in ("embedded", "make_run") if m in chosen]
    reason = make_run.unavailable()
    if quick:
        reason = "not in --quick: it needs two `make run`s (a Terraform apply each); `make bench` runs it"
    if reason:
        return [
            {"id": m, "title": TITLES[m], "status": "skipped", "reason": reason, "rows": []} for m in wanted
        ]
    done: dict[str, dict[str, Any]] = {}
    runs: list[make_run.MakeRun] = []
    if "make_run" in wanted:
        log("  make run #1 (caches warm up)")
        with make_run.started(log) as first:
            runs.append(first)
        log(f"  make run #1 ready after {first.ready_after_s:.1f} s")
        log("  make run #2 (the measured second run)")
    with make_run.started(log) as last:
        runs.append(last)
        log(f"  make run ready after {last.ready_after_s:.1f} s")
        if "embedded" in wanted:
            stack = make_run.stack_document()
            figures = gateway.measure(box, stack, requests_n=requests_n, clients=clients, log=log)
            partner = gateway.pick_partner(stack)[1]
            figures["webhooks"] = webhooks.measure(
                stack, partner["api_key"], n=max(5, requests_n // 10), log=log
            )
            done["embedded"] = results.embedded_result(figures)
    if "make_run" in wanted:
        done["make_run"] = results.make_run_result(runs, terraform_breakdown(log))
    return [done[m] for m in wanted]
