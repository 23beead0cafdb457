"""Over processes: the Lambda runner runs real zips and layers, deployed to the patched moto server, in
python3.12 worker processes."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from embedded_stack.lambda_runtime import split_function_ref

PROBE = """
import os, sys
import helper

CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    print("probe", event.get("say", ""))
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError(event["fail"])
    if event.get("exit"):
        os._exit(3)
    if event.get("unserializable"):
        return {"value": object()}
    return {
        "layer": helper.VALUE,
        "calls": CALLS,
        "pid": os.getpid(),
        "python": list(sys.version_info[:2]),
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
        },
    }
"""
LAYER = {"python/helper.py": "VALUE = 'from-the-layer'\n"}


@pytest.fixture
def probe(deploy):
    def _probe(**kwargs):
        kwargs.setdefault("layer", LAYER)
        return deploy({"handler.py": PROBE}, **kwargs)

    return _probe


def test_runs_a_real_zip_with_its_layer_and_lambda_environment(runner, probe, moto_server):
    os.environ["EMBEDDED_TEST_HOST_SECRET"] = "must-not-leak"
    try:
        name = probe(env={"TABLE_NAME": "items", "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR"})
        result = runner.invoke(name, None, {"say": "hello"})
    finally:
        del os.environ["EMBEDDED_TEST_HOST_SECRET"]
    assert result.status == "ok", result
    assert result.ok and result.function_error is None
    body = result.payload
    assert body["layer"] == "from-the-layer"
    if runner.lambda_runtime:
        assert body["python"] == [3, 12]
    env = body["env"]
    assert env["TABLE_NAME"] == "items"
    assert env["AWS_ENDPOINT_URL"] == moto_server.endpoint_url
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "handler.handler"
    assert env["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"  # the function's setting wins
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert "EMBEDDED_TEST_HOST_SECRET" not in env
    assert "VIRTUAL_ENV" not in env and "PYTHONPATH" not in env
    ctx = body["context"]
    assert ctx["aws_request_id"] == result.request_id
    assert ctx["function_name"] == name
    assert ctx["invoked_function_arn"].endswith(f":function:{name}")
    assert ctx["memory_limit_in_mb"] == "256"
    assert 0 < ctx["remaining"] <= 5000
    assert ctx["log_group_name"] == f"/aws/lambda/{name}"
    assert "[$LATEST]" in ctx["log_stream_name"]


def test_trace_id_differs_per_invocation_and_can_be_passed_in(runner, probe):
    name = probe()
    first = runner.invoke(name, None, {}).payload["env"]["_X_AMZN_TRACE_ID"]
    second = runner.invoke(name, None, {}).payload["env"]["_X_AMZN_TRACE_ID"]
    given = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    third = runner.invoke(name, None, {}, trace_id=given).payload["env"]["_X_AMZN_TRACE_ID"]
    assert first != second
    assert third == given


def test_warm_worker_is_reused(runner, probe):
    name = probe()
    first = runner.invoke(name, None, {})
    second = runner.invoke(name, None, {})
    assert first.payload["pid"] == second.payload["pid"]
    assert (first.payload["calls"], second.payload["calls"]) == (1, 2)
    assert second.duration_ms < first.duration_ms  # no second cold start
    assert runner.worker_pids(name) == [first.payload["pid"]]


def test_two_functions_are_isolated(runner, probe):
    one = probe(env={"ONLY_ONE": "1"})
    two = probe(env={"ONLY_TWO": "2"})
    a = runner.invoke(one, None, {}).payload
    b = runner.invoke(two, None, {}).payload
    assert a["pid"] != b["pid"]
    assert a["env"]["ONLY_ONE"] == "1" and "ONLY_TWO" not in a["env"]
    assert b["env"]["ONLY_TWO"] == "2" and "ONLY_ONE" not in b["env"]
    assert a["env"]["AWS_LAMBDA_FUNCTION_NAME"] == one
    assert b["env"]["AWS_LAMBDA_FUNCTION_NAME"] == two
    assert a["calls"] == b["calls"] == 1  # module state is per function


def test_timeout_kills_the_worker_and_reports_like_lambda(runner, probe):
    name = probe(timeout=1)
    warm = runner.invoke(name, None, {})
    started = time.monotonic()
    result = runner.invoke(name, None, {"sleep": 10})
    assert time.monotonic() - started < 3
    assert result.status == "timeout"
    assert result.function_error == "Unhandled"
    assert result.error_type == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.payload["errorMessage"]
    with pytest.raises(ProcessLookupError):
        os.kill(warm.payload["pid"], 0)
    after = runner.invoke(name, None, {})
    assert after.ok and after.payload["pid"] != warm.payload["pid"]


def test_caller_timeout_only_lowers_the_function_timeout(runner, probe):
    name = probe(timeout=5)
    result = runner.invoke(name, None, {"sleep": 3}, timeout_s=0.5)
    assert result.status == "timeout"
    assert "after 0.50 seconds" in result.payload["errorMessage"]


def test_handler_exception_is_reported_as_lambda_does(runner, probe):
    name = probe()
    result = runner.invoke(name, None, {"fail": "boom"})
    assert result.status == "error"
    assert not result.ok
    assert result.function_error == "Unhandled"
    assert result.error_type == "ValueError"
    assert result.payload["errorType"] == "ValueError"
    assert result.payload["errorMessage"] == "boom"
    assert any("handler.py" in line for line in result.payload["stackTrace"])
    # The worker survives a handled exception, as a Lambda execution environment does.
    assert runner.invoke(name, None, {}).payload["calls"] == 2


def test_unserializable_result_is_a_marshal_error(runner, probe):
    result = runner.invoke(probe(), None, {"unserializable": True})
    assert result.status == "error"
    assert result.error_type == "Runtime.MarshalError"


def test_process_exit_is_a_runtime_exit_error(runner, probe):
    name = probe()
    result = runner.invoke(name, None, {"exit": True})
    assert result.status == "error"
    assert result.error_type == "Runtime.ExitError"
    assert "exit status 3" in result.payload["errorMessage"]
    assert runner.invoke(name, None, {}).ok


def test_import_error_is_reported_at_init(runner, deploy):
    name = deploy({"handler.py": "import not_a_module_anywhere\ndef handler(e, c):\n    return 1\n"})
    result = runner.invoke(name, None, {})
    assert result.status == "error"
    assert result.function_error == "Unhandled"
    assert result.error_type == "Runtime.ImportModuleError"
    assert "not_a_module_anywhere" in result.payload["errorMessage"]


def test_missing_handler_attribute(runner, deploy):
    result = runner.invoke(deploy({"handler.py": "X = 1\n"}), None, {})
    assert result.error_type == "Runtime.HandlerNotFound"


def test_unknown_function_is_a_service_error(runner):
    result = runner.invoke("no-such-function", None, {})
    assert result.status == "error"
    assert result.function_error is None
    assert result.error_type == "ResourceNotFoundException"


def test_oversized_request_is_rejected_before_running(runner, probe):
    result = runner.invoke(probe(), None, {"blob": "x" * (6 * 1024 * 1024)})
    assert result.status == "error"
    assert result.function_error is None
    assert result.error_type == "RequestTooLargeException"


def test_alias_and_qualified_arn(runner, probe, aws):
    name = probe(alias="live")
    by_alias = runner.invoke(name, "live", {})
    assert by_alias.ok, by_alias
    assert by_alias.payload["context"]["invoked_function_arn"].endswith(f":{name}:live")
    assert by_alias.payload["context"]["function_version"] == "1"
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    by_arn = runner.invoke(f"{arn}:live", None, {})
    assert by_arn.ok and by_arn.payload["context"]["function_version"] == "1"


def test_split_function_ref():
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:get_item"
    assert split_function_ref(f"{arn}:live", None) == ("get_item", "live")
    assert split_function_ref(arn, "live") == ("get_item", "live")
    assert split_function_ref("get_item:live", None) == ("get_item", "live")
    assert split_function_ref("get_item", None) == ("get_item", None)
    with pytest.raises(ValueError, match="qualifier"):
        split_function_ref(f"{arn}:live", "other")


def _wait_in_flight(runner, name, count, timeout=10.0):
    deadline = time.monotonic() + timeout
    while runner.in_flight(name) < count:
        assert time.monotonic() < deadline, "invocations never started"
        time.sleep(0.01)


def test_reserved_concurrency_throttles_beyond_the_limit(runner, probe):
    name = probe(reserved=1)
    assert runner.invoke(name, None, {}).ok  # warm
    results = []
    slow = threading.Thread(target=lambda: results.append(runner.invoke(name, None, {"sleep": 1.5})))
    slow.start()
    _wait_in_flight(runner, name, 1)
    throttled = runner.invoke(name, None, {})
    slow.join()
    assert throttled.status == "throttled"
    assert throttled.error_type == "TooManyRequestsException"
    assert throttled.function_error is None
    assert throttled.payload["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert results[0].ok
    assert runner.invoke(name, None, {}).ok  # capacity is back


def test_reserved_concurrency_zero_disables_the_function(runner, probe):
    assert runner.invoke(probe(reserved=0), None, {}).status == "throttled"


def test_unreserved_functions_share_a_sane_cap(moto_server, lambda_python, probe, tmp_path):
    from embedded_stack.lambda_runtime import Runner

    name = probe()
    capped = Runner(
        moto_server.endpoint_url,
        "eu-west-1",
        state_dir=tmp_path,
        python=lambda_python,
        console=None,
        unreserved_cap=2,
    )
    try:
        results = []
        threads = [
            threading.Thread(target=lambda: results.append(capped.invoke(name, None, {"sleep": 1.5})))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        _wait_in_flight(capped, name, 2)
        third = capped.invoke(name, None, {})
        for t in threads:
            t.join()
        assert third.status == "throttled"
        assert third.payload["Reason"] == "ConcurrentInvocationLimitExceeded"
        assert sorted(r.status for r in results) == ["ok", "ok"]
        assert len({r.payload["pid"] for r in results}) == 2  # two execution environments
    finally:
        capped.close()


def test_logs_are_labelled_and_written_per_function(runner, probe, tmp_path):
    name = probe()
    result = runner.invoke(name, None, {"say": "look-for-me"})
    deadline = time.monotonic() + 5
    log = tmp_path / "logs" / f"{name}.log"
    while "probe look-for-me" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the function's output never reached its log file"
        time.sleep(0.02)
    text = log.read_text()
    assert f"START RequestId: {result.request_id}" in text
    assert f"REPORT RequestId: {result.request_id}" in text


def test_close_stops_every_worker(moto_server, lambda_python, probe, tmp_path):
    from embedded_stack.lambda_runtime import Runner

    name = probe()
    r = Runner(moto_server.endpoint_url, "eu-west-1", state_dir=tmp_path, python=lambda_python, console=None)
    pid = r.invoke(name, None, {}).payload["pid"]
    r.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_missing_runtime_is_a_service_error_not_a_crash(moto_server, probe, tmp_path):
    from embedded_stack.lambda_runtime import Runner

    broken = Runner(
        moto_server.endpoint_url,
        "eu-west-1",
        state_dir=tmp_path,
        python="/nonexistent/python3.12",
        console=None,
    )
    try:
        result = broken.invoke(probe(), None, {})
    finally:
        broken.close()
    assert result.status == "error"
    assert result.function_error is None
    assert result.error_type == "ServiceException"


def test_a_redeploy_is_picked_up_without_restarting(moto_server, lambda_python, deploy, aws, tmp_path):
    from embedded_stack.lambda_runtime import Runner
    from tests.embedded_stack.support import make_zip

    name = deploy({"handler.py": "def handler(e, c):\n    return 'v1'\n"})
    r = Runner(
        moto_server.endpoint_url,
        "eu-west-1",
        state_dir=tmp_path,
        python=lambda_python,
        console=None,
        config_ttl_s=0.2,
    )
    try:
        assert r.invoke(name, None, {}).payload == "v1"
        aws("lambda").update_function_code(
            FunctionName=name, ZipFile=make_zip({"handler.py": "def handler(e, c):\n    return 'v2'\n"})
        )
        deadline = time.monotonic() + 10
        while r.invoke(name, None, {}).payload != "v2":
            assert time.monotonic() < deadline, "the new code was never picked up"
            time.sleep(0.1)
    finally:
        r.close()


def _log_text(tmp_path, name, needle, deadline_s=5.0):
    log = tmp_path / "logs" / f"{name}.log"
    deadline = time.monotonic() + deadline_s
    while needle not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, f"{needle!r} never reached {log}"
        time.sleep(0.02)
    return log.read_text()


def test_a_worker_killed_mid_invocation_fails_it_as_lambda_does_and_is_replaced(
    runner, probe, tmp_path, caplog
):
    name = probe()
    warm = runner.invoke(name, None, {}).payload["pid"]
    outcome = {}
    call = threading.Thread(target=lambda: outcome.update(r=runner.invoke(name, None, {"sleep": 30})))
    call.start()
    deadline = time.monotonic() + 10
    while runner.in_flight(name) != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)  # inside the handler's sleep
    os.kill(warm, signal.SIGKILL)
    call.join(timeout=10)
    result = outcome["r"]
    assert result.status == "error"
    assert result.function_error == "Unhandled"
    assert result.error_type == "Runtime.ExitError"
    assert result.payload["errorMessage"] == (
        f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed"
    )
    assert "Runtime exited with error: signal: killed" in _log_text(tmp_path, name, "Runtime.ExitError")
    assert any(
        "died (signal: killed)" in r.getMessage() and r.name == "embedded.lambda" for r in caplog.records
    )
    after = runner.invoke(name, None, {})
    assert after.ok
    assert after.payload["pid"] != warm and after.payload["calls"] == 1  # a fresh environment


def test_the_kill_worker_fault_kills_the_worker_running_an_invocation(runner, probe, tmp_path, monkeypatch):
    from embedded_stack.moto_server import faults

    spec = tmp_path / "faults.json"
    monkeypatch.setenv("EMBEDDED_FAULTS_FILE", str(spec))
    name = probe()
    other = probe()
    faults.write({"kill_worker": {"function": name, "after_ms": 300, "times": 1}}, spec)
    try:
        assert runner.invoke(other, None, {"sleep": 0.6}).ok  # another function: untouched
        started = time.monotonic()
        killed = runner.invoke(name, None, {"sleep": 20})
        assert time.monotonic() - started < 10
        assert killed.error_type == "Runtime.ExitError"
        assert "signal: killed" in killed.payload["errorMessage"]
        assert runner.invoke(name, None, {"sleep": 0.6}).ok  # `times` is spent
        assert faults.fired(spec) == {"kill_worker": 1}
    finally:
        faults.clear(spec)
