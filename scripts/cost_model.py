"""The cost model behind `make cost` (scripts/cost.py): a stage's monthly lines from its traffic.

Every input is read from its one source: the stage file (`traffic`, table billing, autoscaling and
PITR, provisioned concurrency and SnapStart per function, log retention, audit buffering, compression
and lifecycle, SLOs), the manifests (memory, route, IAM actions, stream batching), the table's indexes
(shared/apikit/table.json), and the dated price table scripts/prices.json (us-east-1). A month is
730 hours. Free tiers, traffic between AWS services in one region (free), support, WAF and a custom
domain's Route 53 and ACM are left out. How each line is estimated:

- API Gateway: requests = requests_per_second x seconds in the month, at the tiered REST price.
- Lambda: one invocation per request, split by `traffic.mix`; GB-seconds = invocations x duration_ms x
  the manifest's memory. The authorizer runs once per key and `api.authorizer_ttl_seconds` (API
  Gateway caches its answer per key; every key of the stage file's partners counted as busy all
  month), at most once per request, and reads its key record (0.5 read unit). A scheduled function
  runs at its `rate(...)` or `cron(...)` (a 730-hour window), and each item it writes is audited like
  a partner's (at the stated item size: an upper bound). Stream consumers run once per batch
  (records per invocation: the writes arriving in the mapping's batching window, at most its batch
  size, at least one). Functions with
  provisioned concurrency pay for it around the clock and their duration at the provisioned rate.
  SnapStart: the live version's snapshot cached all month, plus one restore per cold start
  (`cold_start_percent` of invocations).
- DynamoDB: each action a function's manifest lists on the table is counted once per request (an upper
  bound: some run only on some paths, e.g. create_item's GetItem on an idempotent replay); GetItem
  reads one item, Query, BatchGetItem and BatchWriteItem `items_per_page` items; reads eventually
  consistent (0.5 unit per 4 KB, a Query's items summed), writes 1 unit per KB on the table and on each
  index (projection ALL). PROVISIONED tables pay for the capacity autoscaling keeps: the average
  need / target utilisation, within [min, max], for the table and each index. Storage: items_stored x
  (item + 100 bytes of overhead) on the table and each index; PITR on the table's size.
- Audit: one stream record, Firehose record and audit event per item written; an event holds both
  images (2 x item + 400 bytes), billed by Firehose in 5 KB steps; S3 holds a GZIP object per buffer
  flush, kept in Standard until `transition_ia_days`, then in Standard-IA until `expiration_days`.
- CloudWatch: `log_bytes_per_request` ingested, stored compressed (~15 %) for the retention; one
  dashboard; the alarms Terraform creates (errors and throttles per function; iterator age, stall,
  parked, dropped and undeliverable records per stream consumer; API 5XX and p99, DynamoDB throttles,
  Firehose delivery and freshness, the audit canary, one per dead-letter queue; and per SLO three
  window pairs of two metric-math alarms and a composite alarm).
- X-Ray: the default sampling rule, the first request each second and 5 % of the rest.
- KMS: the stage key, and a request per cold start (environment variables), per audit object and
  per table key refresh (every 5 minutes). Secrets Manager: the cursor key's secret (its reads are
  cached per container and left out).
- Data transfer out: each response (the item, or a page of items for Query and BatchGetItem routes,
  plus 300 bytes) to the internet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scripts.cost_usage import MONTH_S, Usage, usage

GIB = 2**30
LOG_COMPRESSION = 0.15  # CloudWatch Logs bills stored logs on their compressed size


@dataclass(frozen=True)
class Line:
    """One line of an estimate."""

    service: str
    what: str
    quantity: str
    usd: float


def _price(prices: dict[str, Any], name: str) -> Any:
    return prices["prices"][name]["value"]


def _tiered(count: float, tiers: list[list[float | None]]) -> float:
    """Cost of `count` calls at per-million prices by tier ([[size, price], ..., [None, price]])."""
    usd, left = 0.0, count
    for size, price in tiers:
        take = left if size is None else min(left, size)
        usd += take / 1e6 * price
        left -= take
        if left <= 0:
            break
    return usd


def _setting(stage: dict[str, Any], name: str, key: str, default: Any) -> Any:
    """A function's concurrency setting: its override, else the stage default (as Terraform reads it)."""
    override = stage["functions"].get("overrides", {}).get(name, {}).get(key)
    return override if override is not None else stage["functions"]["defaults"].get(key, default)


def _snap_start(stage: dict[str, Any], name: str, manifest: dict[str, Any]) -> bool:
    override = stage["functions"].get("overrides", {}).get(name, {}).get("snap_start")
    if override is not None:
        return bool(override)
    return bool(stage["functions"]["defaults"].get("snap_start", False) and manifest.get("snap_start", False))


def _alarm_metrics(stage: dict[str, Any], manifests: dict[str, dict[str, Any]]) -> tuple[int, int]:
    """(alarm metrics, composite alarms) of the alarms Terraform creates for the stage."""
    streams = [m for m in manifests.values() if "dynamodb_stream" in m.get("events", {})]
    asynchronous = [
        m
        for m in manifests.values()
        if "route" not in m and "authorizer" not in m and "dynamodb_stream" not in m.get("events", {})
    ]
    # Errors and throttles per function; per stream consumer iterator age, stall, records parked,
    # dropped and undeliverable; API 5XX and p99, DynamoDB throttles, Firehose delivery and freshness;
    # one per dead-letter queue; the audit canary (two metrics).
    metrics = 2 * len(manifests) + 5 * len(streams) + 4 + 1 + len(asynchronous) + 2
    composites = 0
    if stage.get("slo"):
        metrics += 2 * 3 * 2 * 2  # two objectives x three pairs x two windows, two metrics each
        composites = 2 * 3
    return metrics, composites


def _lambda(
    stage: dict[str, Any], manifests: dict[str, dict[str, Any]], u: Usage, prices: dict[str, Any], arch: str
) -> list[Line]:
    calls = sum(u.invocations.values())
    lines = [
        Line(
            "Lambda",
            "invocations",
            f"{calls / 1e6:,.2f} M",
            calls / 1e6 * _price(prices, "lambda_requests_per_million"),
        )
    ]
    provisioned = {k: _setting(stage, k, "provisioned_concurrency", 0) or 0 for k in manifests}
    on_demand = sum(v for k, v in u.gb_s.items() if provisioned[k] == 0)
    lines.append(
        Line(
            "Lambda",
            f"duration ({arch})",
            f"{on_demand:,.0f} GB-s",
            on_demand * _price(prices, f"lambda_gb_second_{arch}"),
        )
    )
    for name, count in sorted(provisioned.items()):
        if count > 0:
            gb = manifests[name]["memory_size"] / 1024
            kept = count * gb * MONTH_S * _price(prices, "lambda_provisioned_gb_second")
            used = u.gb_s.get(name, 0.0) * _price(prices, "lambda_provisioned_duration_gb_second")
            lines.append(
                Line(
                    "Lambda",
                    f"provisioned concurrency {name} x{count}",
                    f"{count * gb * MONTH_S:,.0f} GB-s kept",
                    kept + used,
                )
            )
    cold = stage["traffic"]["cold_start_percent"] / 100
    for name, m in sorted(manifests.items()):
        if _snap_start(stage, name, m):
            gb = m["memory_size"] / 1024
            restores = u.invocations.get(name, 0.0) * cold
            cache = gb * MONTH_S * _price(prices, "lambda_snapstart_cache_gb_second")
            lines.append(
                Line(
                    "Lambda",
                    f"SnapStart {name}",
                    f"{restores:,.0f} restores",
                    cache + restores * gb * _price(prices, "lambda_snapstart_restore_gb"),
                )
            )
    return lines


def _dynamodb(stage: dict[str, Any], u: Usage, prices: dict[str, Any], indexes: int) -> list[Line]:
    traffic, table = stage["traffic"], stage["table"]
    write_unit = math.ceil(traffic["item_size_bytes"] / 1024)
    table_wru, index_wru = u.written * write_unit, u.written * write_unit * indexes
    lines = []
    if table["billing_mode"] == "PROVISIONED":
        scaling = table.get("autoscaling") or {}

        def kept(need_per_s: float, dim: str) -> int:
            s = scaling.get(dim) or {"min": 1, "max": 40000, "target_utilization": 70}
            return min(max(math.ceil(need_per_s / (s["target_utilization"] / 100)), s["min"]), s["max"])

        per_index = max(indexes, 1)
        rcu = kept(u.table_rru / MONTH_S, "read") + indexes * kept(u.index_rru / MONTH_S / per_index, "read")
        wcu = kept(table_wru / MONTH_S, "write") + indexes * kept(index_wru / MONTH_S / per_index, "write")
        lines.append(
            Line(
                "DynamoDB",
                "provisioned reads (table + indexes)",
                f"{rcu:,} RCU",
                rcu * 730 * _price(prices, "dynamodb_rcu_hour"),
            )
        )
        lines.append(
            Line(
                "DynamoDB",
                "provisioned writes (table + indexes)",
                f"{wcu:,} WCU",
                wcu * 730 * _price(prices, "dynamodb_wcu_hour"),
            )
        )
    else:
        rru, wru = u.table_rru + u.index_rru, table_wru + index_wru
        lines.append(
            Line(
                "DynamoDB",
                "read request units",
                f"{rru / 1e6:,.2f} M",
                rru / 1e6 * _price(prices, "dynamodb_read_request_per_million"),
            )
        )
        lines.append(
            Line(
                "DynamoDB",
                "write request units",
                f"{wru / 1e6:,.2f} M",
                wru / 1e6 * _price(prices, "dynamodb_write_request_per_million"),
            )
        )
    table_gb = traffic["items_stored"] * (traffic["item_size_bytes"] + 100) / GIB
    stored = table_gb * (1 + indexes)
    lines.append(
        Line(
            "DynamoDB",
            "storage (table + indexes)",
            f"{stored:,.2f} GB",
            stored * _price(prices, "dynamodb_storage_gb_month"),
        )
    )
    if table["pitr"]:
        lines.append(
            Line(
                "DynamoDB",
                "point-in-time recovery",
                f"{table_gb:,.2f} GB",
                table_gb * _price(prices, "dynamodb_pitr_gb_month"),
            )
        )
    return lines


def _audit(stage: dict[str, Any], u: Usage, prices: dict[str, Any]) -> tuple[list[Line], float]:
    """Firehose and S3 lines, and the number of audit objects written."""
    traffic, audit = stage["traffic"], stage["audit"]
    event = 2 * traffic["item_size_bytes"] + 400
    firehose_gb = u.written * math.ceil(event / 5120) * 5120 / GIB
    lines = [
        Line(
            "Firehose",
            "audit records (5 KB steps)",
            f"{u.written / 1e6:,.2f} M",
            firehose_gb * _price(prices, "firehose_ingest_gb"),
        )
    ]
    ratio = traffic["audit_compression_ratio"] if audit["compression"] == "GZIP" else 1.0
    daily_gb = u.written * event * ratio / GIB / (730 / 24)
    standard_days = min(audit["transition_ia_days"], audit["expiration_days"])
    ia_days = max(0, audit["expiration_days"] - audit["transition_ia_days"])
    s3 = daily_gb * (
        standard_days * _price(prices, "s3_standard_gb_month")
        + ia_days * _price(prices, "s3_standard_ia_gb_month")
    )
    lines.append(
        Line(
            "S3", "audit log kept (Standard, then IA)", f"{daily_gb * (standard_days + ia_days):,.2f} GB", s3
        )
    )
    flushes = MONTH_S / max(audit["buffering_interval_seconds"], 1)
    objects = (
        0.0
        if u.written == 0
        else max(flushes, u.written * event * ratio / (audit["buffering_size_mb"] * 2**20))
    )
    lines.append(
        Line(
            "S3",
            "audit objects written",
            f"{objects:,.0f} PUT",
            objects / 1000 * _price(prices, "s3_put_per_thousand"),
        )
    )
    return lines, objects


def _observability(
    stage: dict[str, Any],
    manifests: dict[str, dict[str, Any]],
    u: Usage,
    prices: dict[str, Any],
    objects: float,
) -> list[Line]:
    traffic = stage["traffic"]
    ingest_gb = u.requests * traffic["log_bytes_per_request"] / GIB
    stored_gb = ingest_gb * stage["log_retention_days"] / (730 / 24) * LOG_COMPRESSION
    metrics, composites = _alarm_metrics(stage, manifests)
    alarms = metrics * _price(prices, "cloudwatch_alarm_metric_month") + composites * _price(
        prices, "cloudwatch_composite_alarm_month"
    )
    rps = traffic["requests_per_second"]
    traces = (min(rps, 1.0) + max(rps - 1.0, 0.0) * 0.05) * MONTH_S
    kms_requests = u.requests * traffic["cold_start_percent"] / 100 + objects + 12 * 730
    out_gb = u.response_bytes / GIB
    return [
        Line(
            "CloudWatch",
            "logs ingested",
            f"{ingest_gb:,.2f} GB",
            ingest_gb * _price(prices, "cloudwatch_logs_ingest_gb"),
        ),
        Line(
            "CloudWatch",
            "logs stored",
            f"{stored_gb:,.2f} GB",
            stored_gb * _price(prices, "cloudwatch_logs_storage_gb_month"),
        ),
        Line(
            "CloudWatch",
            "alarms and the dashboard",
            f"{metrics} metrics, {composites} composite",
            alarms + _price(prices, "cloudwatch_dashboard_month"),
        ),
        Line(
            "X-Ray",
            "traces recorded",
            f"{traces / 1e6:,.2f} M",
            traces / 1e6 * _price(prices, "xray_traces_recorded_per_million"),
        ),
        Line("Secrets Manager", "cursor key", "1 secret", _price(prices, "secretsmanager_secret_month")),
        Line(
            "KMS",
            "stage key and requests",
            f"{kms_requests:,.0f} requests",
            _price(prices, "kms_key_month") + kms_requests / 1e4 * _price(prices, "kms_requests_per_10k"),
        ),
        Line(
            "Data transfer",
            "responses to the internet",
            f"{out_gb:,.2f} GB",
            out_gb * _price(prices, "data_transfer_out_gb"),
        ),
    ]


def estimate(
    stage: dict[str, Any],
    manifests: dict[str, dict[str, Any]],
    prices: dict[str, Any],
    indexes: int,
    architecture: str = "x86_64",
) -> list[Line]:
    """The monthly lines of one stage."""
    u = usage(stage, manifests)
    api = Line(
        "API Gateway",
        "REST requests",
        f"{u.requests / 1e6:,.2f} M",
        _tiered(u.requests, _price(prices, "apigateway_rest_per_million")),
    )
    audit, objects = _audit(stage, u, prices)
    return [
        api,
        *_lambda(stage, manifests, u, prices, architecture),
        *_dynamodb(stage, u, prices, indexes),
        *audit,
        *_observability(stage, manifests, u, prices, objects),
    ]
