"""Measurements 2-4: first request, warm overhead and DynamoDB calls, against a moto server on loopback.

Every sample runs in a fresh Lambda-like interpreter (worker.py); our handler and its baseline alternate
within the same run so that both see the same machine load.
"""

import math
from typing import Any

from benchmarks.backend import Backend
from benchmarks.capacity import of_calls as capacity_of
from benchmarks.events import new_item, rest_event
from benchmarks.harness import SEED, Entry, run_worker
from benchmarks.sandbox import Log, Sandbox
from benchmarks.scenarios import SCENARIOS, get_item
from benchmarks.stats import ratio, summary

WARM_TARGET = 1.2
WRITE_OPERATIONS = ("PutItem", "BatchWriteItem", "TransactWriteItems", "UpdateItem", "DeleteItem")


def first_request(
    sandbox: Sandbox, backend: Backend, handlers: list[Entry], runs: int, log: Log
) -> dict[str, Any]:
    """Init plus the first invocation: ours against seed-style doing the same request."""
    rows = []
    for entry in handlers:
        scenario = SCENARIOS.get(entry.name)
        if scenario is None:
            continue
        ours: list[float] = []
        seed: list[float] = []
        parts: dict[str, list[float]] = {"init": [], "first": [], "seed_init": [], "seed_first": []}
        statuses: set[int] = set()
        for n in range(runs):
            request = scenario(backend, n)
            mine = run_worker(sandbox, entry, "first", env=backend.env, events=[request.event])
            base = run_worker(sandbox, SEED, "first", env=backend.env, events=[request.event])
            statuses.add(mine["statuses"][0])
            if mine["statuses"][0] != request.expected_status:
                raise RuntimeError(
                    f"{entry.name} answered {mine['statuses'][0]}, not {request.expected_status}"
                )
            ours.append(mine["init_ms"] + mine["first_ms"])
            seed.append(base["init_ms"] + base["first_ms"])
            for key, source in (("init", mine), ("first", mine), ("seed_init", base), ("seed_first", base)):
                parts[key].append(source[f"{key.removeprefix('seed_')}_ms"])
        mine_stats, seed_stats = summary(ours), summary(seed)
        rows.append(
            {
                "name": entry.name,
                **mine_stats,
                "seed_median": seed_stats["median"],
                "seed_min": seed_stats["min"],
                "seed_max": seed_stats["max"],
                "vs_seed": ratio(mine_stats["median"], seed_stats["median"]),
                **{f"{key}_median": summary(values)["median"] for key, values in parts.items()},
                "statuses": sorted(statuses),
            }
        )
        mine_ms, seed_ms = mine_stats["median"], seed_stats["median"]
        log(f"  first request {entry.name}: {mine_ms:.0f} ms vs seed {seed_ms:.0f} ms")
    return {
        "id": "first_request",
        "title": "First request: init + first invocation against moto on loopback, vs seed-style",
        "status": "ok",
        "unit": "ms",
        "runs": runs,
        "rows": rows,
    }


def warm_overhead(
    sandbox: Sandbox, backend: Backend, entry: Entry, *, rounds: int, iterations: int, log: Log
) -> dict[str, Any]:
    """Per-invocation time of GET /items/{id} in process vs the bare get_item call, same backend."""
    request = get_item(backend, 10_000)
    key = {"PK": {"S": "P#bench-partner#I#get-10000"}, "SK": {"S": "ITEM"}}
    bare_spec = {"table": backend.env["TABLE_NAME"], "key": key}
    ours: list[float] = []
    bare: list[float] = []
    warmup = max(2, iterations // 10)
    for n in range(rounds):
        mine = run_worker(sandbox, entry, "warm", env=backend.env, events=[request.event],
                          warmup=warmup, iterations=iterations)  # fmt: skip
        if mine["statuses"] != [200]:
            raise RuntimeError(f"{entry.name} answered {mine['statuses']} in the warm loop")
        base = run_worker(sandbox, entry, "bare", env=backend.env, bare=bare_spec,
                          warmup=warmup, iterations=iterations)  # fmt: skip
        ours += mine["times_ms"]
        bare += base["times_ms"]
        log(f"  warm round {n + 1}/{rounds}: handler {summary(mine['times_ms'])['median']:.2f} ms, "
            f"bare get_item {summary(base['times_ms'])['median']:.2f} ms")  # fmt: skip
    mine_stats, bare_stats = summary(ours), summary(bare)
    overhead = ratio(mine_stats["median"], bare_stats["median"])
    return {
        "id": "warm_overhead",
        "title": "Warm overhead: GET /items/{id} in process vs bare get_item (same moto server)",
        "status": "ok",
        "unit": "ms",
        "rounds": rounds,
        "iterations": iterations,
        "target": f"<= {WARM_TARGET}x",
        "rows": [
            {"name": f"{entry.name} handler", **mine_stats, "vs_bare": overhead,
             "met": overhead is not None and overhead <= WARM_TARGET},
            {"name": "bare get_item (boto3 client)", **bare_stats, "vs_bare": 1.0, "met": None},
        ],
    }  # fmt: skip


def _writes(counts: dict[str, int]) -> int:
    return sum(counts.get(op, 0) for op in WRITE_OPERATIONS)


# POST /batch's modes (docs/api.md#batches): what each request carries besides its items.
BATCH_MODES: dict[str, dict[str, Any]] = {
    "server ids": {},
    "client ids": {"ids": True},
    "atomic": {"atomic": True},
    "Idempotency-Key": {"key": True},
}
BASELINE_WRITE_CALLS = 40  # the measurement before issue 11: 1,000 items, server ids, BatchWriteItem only


def _batch_events(mode: str, partner: str, requests: int, per_request: int) -> list[dict[str, Any]]:
    options = BATCH_MODES.get(mode, {})
    events = []
    for r in range(requests):
        items = [new_item(f"calls-{r}", i) for i in range(per_request)]
        if options.get("ids"):
            items = [{**item, "id": f"{partner}-{r}-{i}"} for i, item in enumerate(items)]
        body: dict[str, Any] = {"items": items, **({"atomic": True} if options.get("atomic") else {})}
        headers = {"Idempotency-Key": f"{partner}-{r}"} if options.get("key") else None
        events.append(rest_event("POST", "/batch", "/batch", partner=partner, body=body, headers=headers))
    return events


def dynamodb_calls(
    sandbox: Sandbox, backend: Backend, entry: Entry, *, requests: int, per_request: int, log: Log
) -> dict[str, Any]:
    """DynamoDB calls and write capacity for requests x per_request items through POST /batch, in each
    of its modes, vs seed-style (one PutItem per item). Capacity from item sizes (benchmarks/capacity.py)."""
    total = requests * per_request
    target = math.ceil(total / 25)
    rows = []
    runs = [(mode, entry, f"bench-calls-{n}") for n, mode in enumerate(BATCH_MODES)]
    for mode, handler_entry, partner in [*runs, ("seed-style", SEED, "bench-seed")]:
        events = _batch_events(mode, partner, requests, per_request)
        result = run_worker(sandbox, handler_entry, "calls", env=backend.env, events=events)
        dynamo = result["dynamodb"]
        calls, attempts = dynamo["calls"], dynamo["attempts"]
        ours = handler_entry is entry
        written = backend.count_items(partner) if ours else None
        if ours and written != total:
            raise RuntimeError(f"{entry.name} ({mode}) left {written} items in the table, not {total}")
        capacity = capacity_of(dynamo["writes"], backend.get_item)
        row = {
            "name": entry.name if ours else "seed-style",
            "mode": mode,
            "writes": _writes(calls),
            "calls": sum(calls.values()),
            "calls_by_operation": calls,
            "retries": sum(attempts.values()) - sum(calls.values()),
            "statuses": sorted(set(result["statuses"])),
            "items": total,
            "items_in_table": written,
            **capacity,
            "met": (_writes(calls) <= target) if mode == "server ids" else None,
        }
        rows.append(row)
        log(f"  {row['name']} [{mode}]: {row['writes']} write calls, {capacity['table_wcu']} table WCU "
            f"(+{capacity['index_wcu']} GSI1) for {total} items {calls}")  # fmt: skip
    return {
        "id": "dynamodb_calls",
        "title": f"DynamoDB calls and write capacity for {total} items via POST /batch "
        f"({requests} x {per_request}), per mode",
        "status": "ok",
        "unit": "calls",
        "target": f"server ids <= {target} write calls (retries counted apart)",
        "baseline_write_calls": BASELINE_WRITE_CALLS * total // 1000,
        "rows": rows,
    }
