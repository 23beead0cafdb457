"""Measurements 5 and 6: the embedded stack through its gateway, and `make run` to ready.

`make run` is started as a user starts it (make_run.py), three times when measurement 6 is chosen: from
nothing (`make run FRESH=1`, the first run), then a restart with nothing changed (`make run`, which
restores the state the first saved and skips Terraform), then the same restart through a full
`terraform apply` (`make run APPLY=1`), so that the restart's gain is a ratio measured in one run. The
stack of the last run serves measurement 5 (gateway.py); Terraform's share is then timed step by step
and by resource class (terraform_time.py); results.py turns the figures into rows with targets.
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
    last_vars: tuple[str, ...] = ()
    if "make_run" in wanted:
        steps = ((1, ("FRESH=1",), "from nothing"), (2, (), "restart, nothing changed"))
        for number, make_vars, what in steps:
            log(f"  make run #{number} ({what})")
            with make_run.started(log, *make_vars) as run:
                runs.append(run)
            log(f"  make run #{number} ready after {run.ready_after_s:.1f} s")
        log("  make run #3 (the same restart through terraform apply: APPLY=1)")
        last_vars = ("APPLY=1",)
    with make_run.started(log, *last_vars) as last:
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
        try:
            breakdown = terraform_breakdown(log)
        except Exception as exc:  # the runs above were measured: keep them, say why the breakdown is missing
            log(f"  terraform breakdown failed: {str(exc).strip()[-400:]}")
            breakdown = None
        done["make_run"] = results.make_run_result(runs, breakdown)
    return [done[m] for m in wanted]
