"""The parts of measurements 5 and 6 that `--quick` skips (they need `make run`), checked without it."""

import shutil
from pathlib import Path
from types import SimpleNamespace

from benchmarks.embedded import gateway, make_run, results


def _banner(total_s: float, terraform_s: float) -> str:
    from embedded_stack.stack_info import banner

    info = {
        "stage": "local",
        "api_url": "http://127.0.0.1:1/local",
        "aws_endpoint_url": "http://127.0.0.1:2",
        "region": "us-east-1",
        "table_name": "t",
        "audit_bucket": "b",
        "partners": {"p": {"usage_plan": "generous", "api_key": "k", "throttle": {}, "quota": {}}},
    }
    handle = SimpleNamespace(
        info=info,
        timings={"total_s": total_s, "build_and_terraform_s": terraform_s},
        state_dir=Path(".local"),
        outputs={},
    )
    return banner(handle)


def test_ready_pattern_matches_the_banner_make_run_prints():
    match = make_run.READY.search(_banner(71.25, 64.5))
    assert match is not None
    assert (float(match.group(1)), float(match.group(2))) == (71.2, 64.5)


def test_the_first_run_and_the_restart_are_held_to_their_targets_beside_the_restart_through_apply():
    def run(make_vars, ready_after_s, others=0):
        return SimpleNamespace(
            make_vars=make_vars, banner=(ready_after_s - 1, 1.0), ready_after_s=ready_after_s,
            others_at_start=others, timings={},
        )  # fmt: skip

    runs = [run(("FRESH=1",), 50.0), run((), 16.0, others=2), run(("APPLY=1",), 32.0)]
    breakdown = {"steps_s": {"build": 0.2, "apply": 40.0}, "resources": 3, "other_stacks_at_start": 0,
                 "slowest": [{"resource": "module.a.aws_sqs_queue.dlq", "seconds": 25}],
                 "by_class": {"aws_sqs_queue": {"count": 2, "max_s": 25, "sum_s": 50},
                              "aws_kms_key": {"count": 1, "max_s": 13, "sum_s": 13}}}  # fmt: skip
    first, restart, through_apply, steps, classes = results.make_run_result(runs, breakdown)["rows"]
    assert (first["met"], first["target"]) == (True, "<= 52 s")
    assert (restart["met"], restart["target"]) == (False, "<= 15 s")  # 16 s misses it
    assert restart["ratio"] == "0.50x the restart through terraform apply"
    assert "other stacks were running" in restart["result"]
    assert through_apply["met"] is None and "APPLY=1" in through_apply["name"]
    assert "aws_sqs_queue" in steps["reference"]
    assert classes["result"].startswith("aws_sqs_queue x2 max 25s, aws_kms_key x1 max 13s")


def test_throughput_counts_errors_instead_of_hiding_them():
    state = {"n": 0}

    def flaky() -> None:
        state["n"] += 1
        if state["n"] % 2:
            raise RuntimeError("429")

    rate, errors = gateway._throughput([flaky], 10)
    assert rate > 0
    assert errors == ["429"] * 5


def _figures(gateway_errors: int, throttled: int, gateway_rps: float = 150.0) -> dict:
    pair = {
        "label": "GET /items/{id}",
        "gateway": {"p50": 8.0, "p99": 30.0},
        "in_process": {"p50": 5.0, "p99": 9.0},
        "p50_ratio": 1.6,
        "p99_ratio": 30.0 / 9.0,
    }
    throughput = {
        "gateway_rps": gateway_rps,
        "gateway_errors": gateway_errors,
        "gateway_throttled": throttled,
        "moto_rps": 200.0,
        "moto_errors": 0,
        "error_samples": [],
        "ratio": gateway_rps / 200.0,
    }
    return {"clients": 4, "requests": 300, "pairs": [pair], "throughput": throughput}


def test_latency_rows_hold_each_percentile_to_its_own_target():
    p50, p99, _ = results.embedded_result(_figures(0, 0))["rows"]
    assert (p50["target"], p50["met"]) == ("<= 2x", True)
    assert (p99["target"], p99["met"]) == ("<= 3x", False)  # 3.33x


def test_throughput_row_tells_stage_throttling_from_errors():
    throttled = results.embedded_result(_figures(3, 3))["rows"][-1]
    assert throttled["met"] is True
    assert "3 x 429 from the stage throttle" in throttled["result"]
    assert "errors" not in throttled["result"]
    failing = results.embedded_result(_figures(5, 3))["rows"][-1]
    assert failing["met"] is False
    assert "(2 errors)" in failing["result"]
    slow = results.embedded_result(_figures(0, 0, gateway_rps=100.0))["rows"][-1]
    assert (slow["ratio"], slow["target"], slow["met"]) == ("0.50x", ">= 0.6x", False)


def test_make_run_is_measured_wherever_terraform_and_make_exist():
    if shutil.which("terraform") and shutil.which("make"):
        assert make_run.unavailable() is None
    else:
        assert "not on PATH" in (make_run.unavailable() or "")


def test_authorizer_rows_report_the_miss_the_hit_and_get_against_before_the_authorizer():
    figures = _figures(0, 0)
    figures["pairs"][0]["gateway"] = {"p50": 8.8, "p99": 16.0}
    figures["pairs"][0]["p50_ratio"], figures["pairs"][0]["p99_ratio"] = 8.8 / 5.0, 16.0 / 9.0
    figures["authorizer"] = {
        "ttl_s": 2.0,
        "first_request_ms": 640.0,
        "miss": {"p50": 14.0, "p99": 20.0},
        "hit": {"p50": 8.0, "p99": 12.0},
    }
    rows = {r["name"]: r for r in results.embedded_result(figures)["rows"]}
    assert "640 ms" in rows["first request after start"]["result"]
    assert rows["authorizer cache miss vs hit"]["ratio"] == "1.75x"
    p50 = rows["GET /items/{id} p50, authorizer cache hit"]
    before = results.BEFORE_AUTHORIZER
    relative = (8.8 / 5.0) / (before["p50"] / before["in_process_p50"])  # gateway over in process, then/now
    assert p50["ratio"] == f"{relative:.2f}x" and p50["target"] == "<= 1.1x"
    assert p50["met"] is (relative <= 1.1)
    assert f"raw {8.8 / before['p50']:.2f}x" in p50["reference"]
    assert rows["GET /items/{id} p99, authorizer cache hit"]["met"] is None
