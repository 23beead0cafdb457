"""What a month of a stage's stated traffic does, before prices: requests, invocations, GB-seconds,
read units and items written (scripts/cost_model.py prices them and says how each line is estimated).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MONTH_S = 730 * 3600
READS = {"dynamodb:GetItem": "item", "dynamodb:BatchGetItem": "page", "dynamodb:Query": "query"}
WRITES = {
    "dynamodb:PutItem": 1,
    "dynamodb:UpdateItem": 1,
    "dynamodb:DeleteItem": 1,
    "dynamodb:BatchWriteItem": 0,
}


def load_manifests() -> dict[str, dict[str, Any]]:
    """functions/<name>/function.json by name."""
    return {
        p.parent.name: json.loads(p.read_text()) for p in sorted((ROOT / "functions").glob("*/function.json"))
    }


def _table_actions(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (action, p["resource"])
        for p in manifest.get("permissions", [])
        if p["resource"] in ("table", "table_indexes")
        for action in p["actions"]
    ]


@dataclass
class Usage:
    """What a month of the stated traffic does, before prices."""

    requests: float = 0.0
    invocations: dict[str, float] = field(default_factory=dict)
    gb_s: dict[str, float] = field(default_factory=dict)
    table_rru: float = 0.0
    index_rru: float = 0.0
    written: float = 0.0  # items written (each a stream record and an audit event)
    response_bytes: float = 0.0


def usage(stage: dict[str, Any], manifests: dict[str, dict[str, Any]]) -> Usage:
    """Requests, invocations, GB-seconds, read units and items written for the stage's traffic."""
    traffic = stage["traffic"]
    routed = {k for k, m in manifests.items() if "route" in m}
    mix = traffic["mix"]
    if set(mix) - routed:
        raise ValueError(f"traffic.mix names functions without a route: {sorted(set(mix) - routed)}")
    if abs(sum(mix.values()) - 1) > 1e-6:
        raise ValueError(f"traffic.mix shares add up to {sum(mix.values())}, not 1")
    size, page = traffic["item_size_bytes"], traffic["items_per_page"]
    read_unit = 0.5 * math.ceil(size / 4096)
    u = Usage(requests=traffic["requests_per_second"] * MONTH_S)
    for name, share in mix.items():
        n = u.requests * share
        u.invocations[name] = n
        pages = False
        for action, resource in _table_actions(manifests[name]):
            kind = READS.get(action)
            if kind == "item":
                u.table_rru += n * read_unit
            elif kind is not None:
                units = page * read_unit if kind == "page" else 0.5 * math.ceil(page * size / 4096)
                if resource == "table_indexes":
                    u.index_rru += n * units
                else:
                    u.table_rru += n * units
                pages = True
            elif action in WRITES:
                u.written += n * (WRITES[action] or page)
        u.response_bytes += n * ((page if pages else 1) * size + 300)
    _unrouted(stage, manifests, u)
    writes_per_s = u.written / MONTH_S
    for name, m in manifests.items():
        stream = m.get("events", {}).get("dynamodb_stream")
        if stream and writes_per_s > 0:
            window = max(stream.get("maximum_batching_window_in_seconds", 0), 0.25)
            per_call = min(stream.get("batch_size", 100), max(1.0, writes_per_s * window))
            u.invocations[name] = u.written / per_call
    seconds = traffic["duration_ms"] / 1000
    u.gb_s = {k: n * seconds * manifests[k]["memory_size"] / 1024 for k, n in u.invocations.items()}
    return u


def _unrouted(stage: dict[str, Any], manifests: dict[str, dict[str, Any]], u: Usage) -> None:
    """The authorizer's and scheduled functions' invocations, reads and writes."""
    for name, m in manifests.items():
        if "authorizer" in m:
            n = _authorizer_calls(stage, u.requests)
            u.invocations[name] = n
            u.table_rru += n * 0.5 * sum(1 for a, _ in _table_actions(m) if a == "dynamodb:GetItem")
        schedule = m.get("events", {}).get("schedule")
        if schedule:
            n = scheduled_runs(schedule)
            u.invocations[name] = n
            u.written += n * sum(WRITES[a] for a, _ in _table_actions(m) if WRITES.get(a))


def _authorizer_calls(stage: dict[str, Any], requests: float) -> float:
    """Authorizer invocations: one per key per TTL (its answers are cached per key), at most one per
    request; every request when the stage caches nothing (TTL 0)."""
    keys = sum(len(p.get("keys", {})) for p in stage.get("partners", {}).values())
    ttl = stage.get("api", {}).get("authorizer_ttl_seconds", 0)
    return requests if ttl <= 0 else min(requests, keys * MONTH_S / ttl)


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")


def scheduled_runs(expression: str) -> float:
    """Runs of an EventBridge schedule expression in a 730-hour month."""
    rate = _RATE.match(expression)
    if rate:
        unit = {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2).rstrip("s")]
        return MONTH_S / (int(rate.group(1)) * unit)
    if expression.startswith("cron(") and expression.endswith(")"):
        from pyawscron import AWSCron  # only for cron schedules

        start = datetime(2026, 1, 1, tzinfo=UTC)
        end = start + timedelta(seconds=MONTH_S)
        runs = AWSCron.get_all_schedule_bw_dates(start, end, expression[5:-1])
        return float(sum(1 for run in runs if run < end))
    raise ValueError(f"unknown schedule expression {expression!r}")
