"""scripts/cost.py: the arithmetic of each line for a known input, and `make cost` on the real stages."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import cost, cost_usage

ROOT = Path(__file__).resolve().parents[2]
MONTH = 730 * 3600
GIB = 2**30

# A distinct price per name, so a line that read the wrong price (or the wrong unit) cannot pass.
PRICES = {
    "region": "us-east-1",
    "as_of": "2026-01-01",
    "prices": {
        name: {"value": value}
        for name, value in {
            "apigateway_rest_per_million": [[1_000_000, 3.0], [None, 2.0]],
            "lambda_requests_per_million": 0.5,
            "lambda_gb_second_x86_64": 0.00002,
            "lambda_provisioned_gb_second": 0.000004,
            "lambda_provisioned_duration_gb_second": 0.00001,
            "lambda_snapstart_cache_gb_second": 0.000002,
            "lambda_snapstart_restore_gb": 0.0002,
            "dynamodb_read_request_per_million": 0.25,
            "dynamodb_write_request_per_million": 1.25,
            "dynamodb_rcu_hour": 0.0002,
            "dynamodb_wcu_hour": 0.001,
            "dynamodb_storage_gb_month": 0.3,
            "dynamodb_pitr_gb_month": 0.2,
            "firehose_ingest_gb": 0.03,
            "s3_standard_gb_month": 0.02,
            "s3_standard_ia_gb_month": 0.01,
            "s3_put_per_thousand": 0.005,
            "cloudwatch_logs_ingest_gb": 0.5,
            "cloudwatch_logs_storage_gb_month": 0.03,
            "cloudwatch_alarm_metric_month": 0.1,
            "cloudwatch_composite_alarm_month": 0.5,
            "cloudwatch_dashboard_month": 3.0,
            "xray_traces_recorded_per_million": 5.0,
            "kms_key_month": 1.0,
            "secretsmanager_secret_month": 0.45,
            "kms_requests_per_10k": 0.03,
            "data_transfer_out_gb": 0.09,
        }.items()
    },
}

MANIFESTS = {
    "get": {
        "memory_size": 1024,
        "route": {},
        "permissions": [{"actions": ["dynamodb:GetItem"], "resource": "table"}],
    },
    "put": {
        "memory_size": 512,
        "route": {},
        "snap_start": True,
        "permissions": [{"actions": ["dynamodb:PutItem"], "resource": "table"}],
    },
    "audit": {
        "memory_size": 1024,
        "events": {"dynamodb_stream": {"batch_size": 100, "maximum_batching_window_in_seconds": 1}},
        "permissions": [{"actions": ["dynamodb:GetRecords"], "resource": "table_stream"}],
    },
}


def _stage(**changes: object) -> dict:
    stage = {
        "region": "us-east-1",
        "log_retention_days": 30,
        "functions": {"defaults": {"snap_start": True}, "overrides": {"get": {"provisioned_concurrency": 2}}},
        "table": {"billing_mode": "PAY_PER_REQUEST", "pitr": True, "autoscaling": None},
        "audit": {
            "compression": "GZIP",
            "buffering_size_mb": 5,
            "buffering_interval_seconds": 60,
            "transition_ia_days": 30,
            "expiration_days": 90,
        },
        "slo": None,
        "traffic": {
            "requests_per_second": 1,
            "mix": {"get": 0.5, "put": 0.5},
            "item_size_bytes": 1024,
            "items_per_page": 10,
            "items_stored": 1_000_000,
            "duration_ms": 100,
            "cold_start_percent": 1,
            "log_bytes_per_request": 1024,
            "audit_compression_ratio": 0.5,
        },
    }
    stage.update(changes)
    return stage


def _lines(stage: dict) -> dict[str, float]:
    return {f"{x.service}: {x.what}": x.usd for x in cost.estimate(stage, MANIFESTS, PRICES, indexes=1)}


def test_every_line_of_a_known_stage() -> None:
    got = _lines(_stage())
    requests = MONTH  # 1 request/s: 2,628,000, half to each route
    half = requests / 2
    written = half  # every put writes one item: 0.5 items/s, so the stream consumer gets 1 record per call
    event = 2 * 1024 + 400  # both images: 2,448 bytes, one 5 KB Firehose step
    daily_gb = written * event * 0.5 / GIB / (730 / 24)
    objects = MONTH / 60  # a flush a minute beats 5 MB of GZIP: 43,800 objects
    expected = {
        "API Gateway: REST requests": 1 * 3.0 + (requests - 1e6) / 1e6 * 2.0,
        "Lambda: invocations": (half + half + written) / 1e6 * 0.5,
        # get is on provisioned concurrency: its duration is billed there; put and audit on demand.
        "Lambda: duration (x86_64)": (half * 0.1 * 0.5 + written * 0.1 * 1.0) * 0.00002,
        "Lambda: provisioned concurrency get x2": 2 * 1.0 * MONTH * 0.000004 + half * 0.1 * 1.0 * 0.00001,
        # get has provisioned concurrency but also the stage default: SnapStart only where the manifest
        # declares it (put); audit's manifest does not.
        "Lambda: SnapStart put": 0.5 * MONTH * 0.000002 + half * 0.01 * 0.5 * 0.0002,
        "DynamoDB: read request units": half * 0.5 / 1e6 * 0.25,  # an eventually consistent 1 KB read
        "DynamoDB: write request units": written * 1 * 2 / 1e6 * 1.25,  # the table and its index
        "DynamoDB: storage (table + indexes)": 1e6 * 1124 / GIB * 2 * 0.3,
        "DynamoDB: point-in-time recovery": 1e6 * 1124 / GIB * 0.2,
        "Firehose: audit records (5 KB steps)": written * 5120 / GIB * 0.03,
        "S3: audit log kept (Standard, then IA)": daily_gb * (30 * 0.02 + 60 * 0.01),
        "S3: audit objects written": objects / 1000 * 0.005,
        "CloudWatch: logs ingested": requests * 1024 / GIB * 0.5,
        "CloudWatch: logs stored": requests * 1024 / GIB * 30 / (730 / 24) * 0.15 * 0.03,
        # 2 per function, 5 for the stream consumer, API 5XX and p99, DynamoDB, Firehose delivery and
        # freshness, the canary's two metrics; no asynchronous function, so no DLQ; a dashboard.
        "CloudWatch: alarms and the dashboard": (2 * 3 + 5 + 4 + 1 + 2) * 0.1 + 3.0,
        "X-Ray: traces recorded": MONTH / 1e6 * 5.0,  # the first request each second is always sampled
        "Secrets Manager: cursor key": 0.45,
        "KMS: stage key and requests": 1.0 + (requests * 0.01 + objects + 12 * 730) / 1e4 * 0.03,
        "Data transfer: responses to the internet": requests * (1024 + 300) / GIB * 0.09,
    }
    assert got.keys() == expected.keys()
    for line, usd in expected.items():
        assert math.isclose(got[line], usd, rel_tol=1e-9), f"{line}: {got[line]} != {usd}"


def test_a_provisioned_table_pays_for_what_autoscaling_keeps_within_its_bounds() -> None:
    scaling = {"min": 5, "max": 200, "target_utilization": 50}
    table = {"billing_mode": "PROVISIONED", "pitr": False, "autoscaling": {"read": scaling, "write": scaling}}
    got = _lines(_stage(table=table))
    # Writes: 0.5 WCU/s / 50% = 1, below min 5, for the table and for the index; reads: 0.25 -> min 5 (the
    # index serves no reads, so it sits at min too).
    assert math.isclose(got["DynamoDB: provisioned writes (table + indexes)"], (5 + 5) * 730 * 0.001)
    assert math.isclose(got["DynamoDB: provisioned reads (table + indexes)"], (5 + 5) * 730 * 0.0002)
    assert "DynamoDB: point-in-time recovery" not in got
    busy = _stage(table=table)
    busy["traffic"] = {**busy["traffic"], "requests_per_second": 1000}
    # 500 writes/s / 50% = 1000 WCU, capped at max 200.
    assert math.isclose(
        _lines(busy)["DynamoDB: provisioned writes (table + indexes)"], (200 + 200) * 730 * 0.001
    )


def test_slos_add_their_window_and_composite_alarms() -> None:
    slo = {"availability_percent": 99.9, "latency_ms": 1000, "latency_percent": 99}
    assert math.isclose(
        _lines(_stage(slo=slo))["CloudWatch: alarms and the dashboard"], (18 + 24) * 0.1 + 6 * 0.5 + 3.0
    )


def test_the_authorizer_runs_once_per_key_and_ttl_and_a_schedule_at_its_rate() -> None:
    manifests = {
        **MANIFESTS,
        "auth": {
            "memory_size": 256,
            "authorizer": {"identity_source": "method.request.header.x-api-key"},
            "permissions": [{"actions": ["dynamodb:GetItem"], "resource": "table"}],
        },
        "tick": {
            "memory_size": 128,
            "events": {"schedule": "rate(1 hour)"},
            "permissions": [{"actions": ["dynamodb:PutItem"], "resource": "table"}],
        },
    }
    partners = {
        "a": {"keys": {"primary": "read-write", "reader": "read-only"}},
        "b": {"keys": {"primary": "x"}},
    }
    stage = _stage(partners=partners, api={"authorizer_ttl_seconds": 300})
    got = {f"{x.service}: {x.what}": x.usd for x in cost.estimate(stage, manifests, PRICES, indexes=1)}
    half = MONTH / 2
    auth = 3 * MONTH / 300  # three keys, each answer cached 300 s: 26,280 calls for 2,628,000 requests
    ticks = 730  # hourly
    written = half + ticks  # the stream consumer still gets one record per call
    assert math.isclose(got["Lambda: invocations"], (half + half + auth + ticks + written) / 1e6 * 0.5)
    duration = (half * 0.5 + auth * 0.25 + ticks * 0.125 + written * 1.0) * 0.1 * 0.00002
    assert math.isclose(got["Lambda: duration (x86_64)"], duration)
    # get's item reads and one key record per authorizer call; the tick's writes are audited too.
    assert math.isclose(got["DynamoDB: read request units"], (half + auth) * 0.5 / 1e6 * 0.25)
    assert math.isclose(got["DynamoDB: write request units"], written * 2 / 1e6 * 1.25)

    uncached = _stage(partners=partners, api={"authorizer_ttl_seconds": 0})
    got = {f"{x.service}: {x.what}": x.usd for x in cost.estimate(uncached, manifests, PRICES, indexes=1)}
    assert math.isclose(got["DynamoDB: read request units"], (half + MONTH) * 0.5 / 1e6 * 0.25)


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(5 minutes)", 8760),
        ("rate(1 day)", 730 / 24),
        ("cron(0 * * * ? *)", 730),
        ("cron(0 12 * * ? *)", 30),
    ],
)
def test_schedules_run_at_their_rate_in_a_730_hour_month(expression: str, runs: float) -> None:
    # cron: the window is 2026-01-01 00:00 to 01-31 10:00 UTC (30 noons).
    assert math.isclose(cost_usage.scheduled_runs(expression), runs)


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ({"get": 0.5, "put": 0.4}, "add up to 0.9"),
        ({"get": 0.5, "audit": 0.5}, "without a route: ['audit']"),
    ],
)
def test_a_traffic_mix_that_cannot_be_priced_is_refused(mix: dict, message: str) -> None:
    stage = _stage()
    stage["traffic"] = {**stage["traffic"], "mix": mix}
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cost.estimate(stage, MANIFESTS, PRICES, indexes=1)


def test_make_cost_prints_every_aws_stage_with_a_total() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.cost", "--json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout)
    assert sorted(report["stages"]) == ["dev", "prod", "staging"]
    totals = {name: stage["total_usd"] for name, stage in report["stages"].items()}
    assert 0 < totals["dev"] < totals["staging"] < totals["prod"], totals
    table = subprocess.run(
        [sys.executable, "-m", "scripts.cost", "prod"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert table.startswith("prod (eu-west-1): 50 requests/s") and "Total" in table


def test_the_price_table_dates_and_sources_every_price() -> None:
    table = json.loads((ROOT / "scripts" / "prices.json").read_text())
    assert table["region"] == "us-east-1" and table["as_of"]
    for name, price in table["prices"].items():
        assert price["source"].startswith("https://aws.amazon.com/"), name
        assert price["unit"] and "value" in price, name
    assert set(PRICES["prices"]) <= set(table["prices"])
