"""The parts of measurements 5 and 6 that `--quick` skips (they need `make run`), checked without it."""

from pathlib import Path
from types import SimpleNamespace

from benchmarks import embedded


def _banner(total_s: float, terraform_s: float) -> str:
    from embedded_stack.stack import banner

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
    )
    return banner(handle)


def test_ready_pattern_matches_the_banner_make_run_prints():
    match = embedded.READY.search(_banner(71.25, 64.5))
    assert match is not None
    assert (float(match.group(1)), float(match.group(2))) == (71.2, 64.5)


def test_only_the_second_make_run_is_held_to_the_target():
    runs = [
        SimpleNamespace(banner=(80.0, 70.0), ready_after_s=82.0, others_at_start=0, timings={}),
        SimpleNamespace(banner=(50.0, 40.0), ready_after_s=51.0, others_at_start=2, timings={"moto_s": 0.1}),
    ]
    breakdown = {"steps_s": {"build": 0.2, "apply": 40.0}, "resources": 3, "other_stacks_at_start": 0,
                 "slowest": [{"resource": "module.a.aws_sqs_queue.dlq", "seconds": 25}]}  # fmt: skip
    result = embedded._make_run_result(runs, breakdown)
    first, second, steps = result["rows"]
    assert first["met"] is None
    assert second["met"] is True
    assert "other stacks were running" in second["result"]
    assert "aws_sqs_queue" in steps["reference"]


def test_throughput_counts_errors_instead_of_hiding_them():
    state = {"n": 0}

    def flaky() -> None:
        state["n"] += 1
        if state["n"] % 2:
            raise RuntimeError("429")

    rate, errors = embedded._throughput([flaky], 10)
    assert rate > 0
    assert errors == ["429"] * 5
