"""`make bench`: run every measurement, print progress, end with a table, write JSON + PNG (+ Markdown).

    python -m benchmarks [--quick] [--only cold,first,warm,calls,embedded,make_run,sizes,reload,tracing]
                         [--out DIR]

A full run writes benchmarks/results/latest.{json,png,md} and refreshes the results table in
benchmarks/README.md; `--quick` (what the smoke test runs) uses tiny sizes and writes only to --out.
"""

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    cold_start,
    embedded,
    harness,
    invocations,
    machine,
    report,
    sandbox,
    sizes,
    tracing_cost,
)
from benchmarks.backend import running
from benchmarks.embedded import reload
from benchmarks.harness import BASELINE_ENTRIES, handler_entries, missing_handlers
from benchmarks.sandbox import REPO, Sandbox

RESULTS = Path(__file__).resolve().parent / "results"
PERFORMANCE_DOC = Path(__file__).resolve().parent / "README.md"
TABLE_START, TABLE_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
ALL = ("cold", "first", "warm", "calls", "embedded", "make_run", "sizes", "reload", "tracing")
BACKEND_ENV = ("TABLE_NAME", "SEED_TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "CURSOR_SECRET_ID")


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    cold_runs: int
    first_runs: int
    warm_rounds: int
    warm_iterations: int
    batch_requests: int
    batch_size: int
    embedded_requests: int
    embedded_clients: int
    # Measurement 8: hot reloads of a handler edit, then the same edit through terraform apply.
    reload_edits: int = 7
    reload_applies: int = 2


FULL = Sizes(cold_runs=15, first_runs=7, warm_rounds=5, warm_iterations=200, batch_requests=10,
             batch_size=100, embedded_requests=300, embedded_clients=4)  # fmt: skip
QUICK = Sizes(cold_runs=1, first_runs=1, warm_rounds=1, warm_iterations=5, batch_requests=1,
              batch_size=30, embedded_requests=10, embedded_clients=2)  # fmt: skip


def log(message: str) -> None:
    """Progress goes to stderr so the table on stdout stays clean."""
    print(message, file=sys.stderr, flush=True)


def _skipped(measurement_id: str, title: str, reason: str) -> dict[str, Any]:
    return {"id": measurement_id, "title": title, "status": "skipped", "reason": reason, "rows": []}


def _guard(measurement_id: str, title: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one measurement; a failure becomes an 'error' entry with the reason, never a number."""
    log(f"== {title}")
    started = time.monotonic()
    try:
        result = run()
    except Exception as exc:
        log(traceback.format_exc())
        result = {"id": measurement_id, "title": title, "status": "error", "reason": f"{type(exc).__name__}: "
                  f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}", "rows": []}  # fmt: skip
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _request_measurements(box: Sandbox, chosen: set[str], size: Sizes) -> list[dict[str, Any]]:
    handlers = {e.name: e for e in handler_entries()}
    env = sandbox.lambda_env("bench", "handler.handler", REPO, {})
    out = []
    with running({k: env[k] for k in BACKEND_ENV}) as backend:
        if "first" in chosen:
            out.append(_guard("first_request", "2. First request (init + first invocation)",
                              lambda: invocations.first_request(box, backend, list(handlers.values()),
                                                                size.first_runs, log)))  # fmt: skip
        if "warm" in chosen:
            title = "3. Warm overhead of GET /items/{id}"
            if "get_item" in handlers:
                out.append(_guard("warm_overhead", title, lambda: invocations.warm_overhead(
                    box, backend, handlers["get_item"], rounds=size.warm_rounds,
                    iterations=size.warm_iterations, log=log)))  # fmt: skip
            else:
                out.append(
                    _skipped("warm_overhead", title, "functions/get_item/handler.py does not exist yet")
                )
        if "calls" in chosen:
            title = "4. DynamoDB calls through POST /batch"
            if "batch_write" in handlers:
                out.append(_guard("dynamodb_calls", title, lambda: invocations.dynamodb_calls(
                    box, backend, handlers["batch_write"], requests=size.batch_requests,
                    per_request=size.batch_size, log=log)))  # fmt: skip
            else:
                out.append(
                    _skipped("dynamodb_calls", title, "functions/batch_write/handler.py does not exist yet")
                )
    return out


def _stack_measurements(box: Sandbox, chosen: set[str], size: Sizes, quick: bool) -> list[dict[str, Any]]:
    """5 and 6 share one `make run`; a failure there is reported for both."""
    log("== 5/6. Embedded stack and make run")
    started = time.monotonic()
    try:
        results = embedded.measurements(box, chosen, requests_n=size.embedded_requests,
                                        clients=size.embedded_clients, quick=quick, log=log)  # fmt: skip
    except Exception as exc:
        log(traceback.format_exc())
        reason = f"{type(exc).__name__}: {str(exc).strip()[-300:]}"
        results = [{"id": m, "title": embedded.TITLES[m], "status": "error", "reason": reason, "rows": []}
                   for m in ("embedded", "make_run") if m in chosen]  # fmt: skip
    for result in results:
        result["seconds"] = round(time.monotonic() - started, 1)
    return results


def _save_to_served(size: Sizes, quick: bool) -> dict[str, Any]:
    reason = embedded.make_run.unavailable()
    if quick:
        reason = "not in --quick: it needs a `make run` and two terraform applies; `make bench` runs it"
    if reason:
        return _skipped("save_to_served", reload.TITLE, reason)
    return _guard("save_to_served", reload.TITLE, lambda: reload.measure(
        log, edits=size.reload_edits, applies=size.reload_applies))  # fmt: skip


def run(chosen: set[str], quick: bool) -> dict[str, Any]:
    """Every chosen measurement, in the issue's order."""
    size = QUICK if quick else FULL
    started = datetime.now(UTC)
    log(f"benchmarks ({'quick' if quick else 'full'}): {', '.join(sorted(chosen))}")
    absent = missing_handlers()
    if absent:
        log(f"  functions without a handler yet (not measured): {', '.join(absent)}")
    box = sandbox.prepare(log)
    log(f"  interpreter: Python {box.python_version} ({box.python}); layer: {box.layer_source}")
    log("  priming bytecode caches (runtime, baselines, the with-bytecode copy of the layer)")
    harness.prime(box, [*handler_entries(), *BASELINE_ENTRIES])
    measurements = []
    if "cold" in chosen:
        measurements.append(_guard("cold_init", "1. Cold init", lambda: cold_start.measure(
            box, handler_entries(), size.cold_runs, log)))  # fmt: skip
    if chosen & {"first", "warm", "calls"}:
        measurements += _request_measurements(box, chosen, size)
    if chosen & {"embedded", "make_run"}:
        measurements += _stack_measurements(box, chosen, size, quick)
    if "sizes" in chosen:
        measurements.append(_guard("sizes", "7. Artifact sizes", lambda: sizes.measure(log)))
    if "reload" in chosen:
        measurements.append(_save_to_served(size, quick))
    if "tracing" in chosen:
        title = "9. Tracing SDKs at a cold start"
        measurements.append(
            _guard("tracing_cost", title, lambda: tracing_cost.measure(box, size.cold_runs, log))
        )
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round((datetime.now(UTC) - started).total_seconds(), 1),
        "quick": quick,
        "machine": {**machine.describe(), "measured_python": box.python_version},
        "layer_source": box.layer_source,
        "measured_python": f"{box.python_version} ({box.python})",
        "handlers_missing": absent,
        "measurements": measurements,
    }


def update_doc(table: str, document: dict[str, Any], doc: Path = PERFORMANCE_DOC) -> None:
    """Put the table between the markers of `doc`, stamped with the day and the machine (a time of day
    would tell a reader nothing the day does not)."""
    if not doc.exists():
        return
    text = doc.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        return
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    day = datetime.fromisoformat(document["started_at"]).date().isoformat()
    stamp = f"Measured {day} on {machine.one_line(document['machine'])}."
    doc.write_text(f"{head}{TABLE_START}\n{stamp}\n\n{table}\n{TABLE_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, report. Exit 1 when a measurement errored (skips are not errors)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--out", type=Path, help="results folder (default benchmarks/results; required-ish "
                        "with --quick so a smoke run never overwrites the committed results)")  # fmt: skip
    args = parser.parse_args(argv)
    chosen = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = chosen - set(ALL)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    out = args.out or RESULTS
    out.mkdir(parents=True, exist_ok=True)
    document = run(chosen, args.quick)
    rows = report.table_rows(document["measurements"])
    print(f"\nMachine: {machine.one_line(document['machine'])}; {document['duration_s']} s")
    print(report.console_table(rows))
    markdown = report.markdown_table(rows)
    report.write_json(out / "latest.json", document)
    report.write_png(out / "latest.png", document["measurements"], machine.one_line(document["machine"]))
    (out / "latest.md").write_text(markdown + "\n", encoding="utf-8")
    if args.out is None and not args.quick:
        update_doc(markdown, document)
    log(f"results: {out / 'latest.json'}, {out / 'latest.png'}, {out / 'latest.md'}")
    return 1 if any(m["status"] == "error" for m in document["measurements"]) else 0


if __name__ == "__main__":
    sys.exit(main())
