"""The benchmark suite runs end to end at a tiny size, so it cannot rot. Structure only, never timings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import report, stats
from benchmarks.harness import BASELINE_ENTRIES, handler_entries

REPO = Path(__file__).resolve().parents[2]
IDS = (
    "cold_init",
    "first_request",
    "warm_overhead",
    "dynamodb_calls",
    "embedded",
    "make_run",
    "sizes",
    "save_to_served",
    "tracing_cost",
)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return done, out


@pytest.mark.slow
def test_quick_run_succeeds_and_prints_the_table(quick_run):
    done, _ = quick_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert "measurement" in done.stdout
    assert "Machine:" in done.stdout
    assert "== 1. Cold init" in done.stderr  # progress is printed while it runs


@pytest.mark.slow
def test_quick_run_writes_json_png_and_markdown(quick_run):
    _, out = quick_run
    document = json.loads((out / "latest.json").read_text())
    assert document["quick"] is True
    assert {"cpu", "cores", "python", "libraries"} <= set(document["machine"])
    assert [m["id"] for m in document["measurements"]] == list(IDS)
    for measurement in document["measurements"]:
        assert measurement["status"] in {"ok", "skipped"}, measurement
        if measurement["status"] == "skipped":
            assert measurement["reason"]
    assert (out / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "latest.md").read_text().startswith("| # | measurement |")


@pytest.mark.slow
def test_cold_init_covers_every_handler_and_every_baseline(quick_run):
    _, out = quick_run
    document = json.loads((out / "latest.json").read_text())
    cold = next(m for m in document["measurements"] if m["id"] == "cold_init")
    names = {row["name"] for row in cold["rows"]}
    assert {e.name for e in handler_entries()} | {e.name for e in BASELINE_ENTRIES} == names
    for row in cold["rows"]:
        assert {"median", "min", "max", "vs_seed", "vs_powertools", "above_floor_ms"} <= set(row)
        assert (row["met"] is None) == (row["role"] != "handler")


@pytest.mark.slow
def test_call_counts_compare_with_seed_style(quick_run):
    _, out = quick_run
    document = json.loads((out / "latest.json").read_text())
    calls = next(m for m in document["measurements"] if m["id"] == "dynamodb_calls")
    if calls["status"] == "skipped":
        pytest.skip(calls["reason"])
    *ours, seed = calls["rows"]
    assert seed["name"] == "seed-style"
    assert seed["calls_by_operation"] == {"PutItem": seed["items"]}  # one call per item, by construction
    assert [r["mode"] for r in ours] == ["server ids", "client ids", "atomic", "Idempotency-Key"]
    for row in ours:
        assert row["items_in_table"] == row["items"]  # the writes really happened
        assert row["table_wcu"] >= row["items"] and row["index_wcu"] >= row["items"]
    by_mode = {r["mode"]: r for r in ours}
    assert set(by_mode["server ids"]["calls_by_operation"]) == {"BatchWriteItem"}
    assert by_mode["client ids"]["calls_by_operation"] == {"PutItem": seed["items"]}
    assert set(by_mode["atomic"]["calls_by_operation"]) == {"TransactWriteItems"}
    # A transaction costs twice the capacity of the same items written one by one (DynamoDB's rule).
    assert by_mode["atomic"]["table_wcu"] == 2 * by_mode["server ids"]["table_wcu"]


def test_percentiles_use_nearest_rank():
    ordered = [float(v) for v in range(1, 101)]
    assert stats.percentile(ordered, 50) == 50.0
    assert stats.percentile(ordered, 99) == 99.0
    assert stats.summary([])["n"] == 0
    assert stats.ratio(1.0, 0.0) is None


def test_skipped_measurements_appear_in_the_table_with_their_reason():
    skipped = {"id": "make_run", "title": "6. make run", "status": "skipped", "reason": "no terraform"}
    rows = report.table_rows([skipped])
    assert rows == [("6", "6. make run", "-", "SKIPPED", "no terraform", "", "", "")]
    assert "no terraform" in report.console_table(rows)


def test_ready_counts_the_clients_the_code_creates_not_the_mappings():
    from benchmarks.harness import services_called

    by_name = {entry.name: services_called(entry) for entry in handler_entries()}
    for name, services in by_name.items():
        # Only the webhook secrets' functions call KMS themselves (Encrypt, Decrypt of the secret).
        assert ("kms" in services) == (name in ("put_webhook", "webhook_delivery")), name
        if name not in ("audit_stream", "usage", "webhook_fanout", "openapi"):
            assert "dynamodb" in services, name  # every item handler (and the authorizer) reads the table
    if "webhook_fanout" in by_name:
        assert "sns" in by_name["webhook_fanout"] and "dynamodb" not in by_name["webhook_fanout"]
    if "usage" in by_name:
        assert by_name["usage"] == ["apigateway"]  # GET /usage reads API Gateway's records only
    if "openapi" in by_name:
        assert by_name["openapi"] == []  # GET /openapi.json serves a file from its own zip
    if "audit_stream" in by_name:
        assert "sqs" not in by_name["audit_stream"]  # the on-failure destination is the mapping's job
    assert all(services_called(entry) == [] for entry in BASELINE_ENTRIES)
