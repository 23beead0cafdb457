"""The gateway over real HTTP, configured from a moto control plane, with a fake Lambda runner."""

from __future__ import annotations

import base64
import json
import threading
import time

import requests

from embedded_stack.lambda_runtime import InvokeResult
from tests.embedded_stack.apigateway.support import STAGE, FakeRunner, ok


def _get(gateway, path, key=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["x-api-key"] = key
    return requests.get(f"{gateway.url}{path}", headers=headers, timeout=10, **kwargs)


def _event(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


# -- keys ------------------------------------------------------------------------------------------


def test_url_includes_the_stage(gateway):
    assert gateway.url == f"http://127.0.0.1:{gateway.port}/{STAGE}"


def test_valid_key_reaches_the_alias_with_path_parameters(gateway, api, runner):
    event = _event(_get(gateway, "/items/abc%20d", api.keys["alpha"]))
    function, qualifier, _ = runner.calls[-1]
    assert (function, qualifier) == ("get_item", "live")
    assert event["resource"] == "/items/{id}"
    assert event["pathParameters"] == {"id": "abc d"}
    assert event["requestContext"]["identity"]["apiKeyId"] == api.key_ids["alpha"]
    assert event["requestContext"]["identity"]["apiKey"] == api.keys["alpha"]


def test_missing_unknown_disabled_and_planless_keys_are_forbidden(gateway, api, runner):
    for key in (None, "not-a-key-at-all-000000000000", api.keys["off"], api.keys["orphan"]):
        response = _get(gateway, "/items/abc", key)
        assert response.status_code == 403, key
        assert response.json() == {"message": "Forbidden"}
        assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert runner.calls == []


def test_unknown_path_or_method_is_missing_authentication_token(gateway, api, runner):
    for method, path in (("GET", "/nope"), ("PUT", "/items/abc"), ("GET", "/items/a/b"), ("GET", "")):
        response = requests.request(
            method, f"{gateway.url}{path}", headers={"x-api-key": api.keys["alpha"]}, timeout=10
        )
        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Missing Authentication Token"}
    assert runner.calls == []


def test_unknown_stage_is_forbidden(gateway, api):
    response = requests.get(
        f"http://127.0.0.1:{gateway.port}/prod/items/abc",
        headers={"x-api-key": api.keys["alpha"]},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_encoded_slash_stays_in_one_path_parameter(gateway, api):
    event = _event(_get(gateway, "/items/a%2Fb%25c", api.keys["alpha"]))
    assert event["pathParameters"] == {"id": "a/b%c"}
    assert event["path"] == "/items/a/b%c"


def test_literal_resource_beats_path_parameter(gateway, api, runner):
    _event(_get(gateway, "/items/new", api.keys["alpha"]))
    assert runner.calls[-1][0] == "new_item"


def test_method_without_key_requirement_needs_no_key(gateway, runner):
    event = _event(_get(gateway, "/health"))
    assert runner.calls[-1][0] == "health"
    assert event["requestContext"]["identity"]["apiKeyId"] is None


# -- limits ----------------------------------------------------------------------------------------


def test_burst_then_too_many_requests(gateway, api):
    statuses = [_get(gateway, "/items/x", api.keys["tight"]).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    response = _get(gateway, "/items/x", api.keys["tight"])
    assert response.json() == {"message": "Too Many Requests"}
    # Another partner's bucket is untouched.
    assert _get(gateway, "/items/x", api.keys["alpha"]).status_code == 200


def test_quota_then_limit_exceeded(gateway, api):
    statuses = [_get(gateway, "/items/x", api.keys["quota"]).status_code for _ in range(4)]
    assert statuses == [200] * 4
    response = _get(gateway, "/items/x", api.keys["quota"])
    assert response.status_code == 429
    assert response.json() == {"message": "Limit Exceeded"}


def test_throttle_is_thread_safe(gateway, api):
    results: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        status = _get(gateway, "/items/x", api.keys["tight"]).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 3 + [429] * 9


# -- validation ------------------------------------------------------------------------------------


def test_body_failing_the_model_is_rejected_as_aws_renders_it(gateway, api, runner):
    """The validator's wording, substituted raw: this template (quotes around the string) breaks JSON."""
    response = requests.post(
        f"{gateway.url}/items",
        headers={"x-api-key": api.keys["alpha"]},
        json={"userId": "u1", "extra": 1},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.text == (
        '{"message":"Invalid request body","details":"[object has missing required properties (["name"]), '
        'object instance has properties which are not allowed by the schema: ["extra"]]"}'
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert runner.calls == []


def test_malformed_json_is_rejected_by_the_validator(gateway, api, runner):
    response = requests.post(
        f"{gateway.url}/items",
        headers={"x-api-key": api.keys["alpha"], "Content-Type": "application/json"},
        data=b"{not json",
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid request body"
    assert runner.calls == []


def test_valid_body_and_unmapped_content_type_reach_the_function(gateway, api, runner):
    good = requests.post(
        f"{gateway.url}/items", headers={"x-api-key": api.keys["alpha"]}, json={"userId": "u", "name": "n"}
    )
    assert good.status_code == 200
    # No model is mapped to text/plain, so API Gateway does not validate: the function decides (415).
    plain = requests.post(
        f"{gateway.url}/items",
        headers={"x-api-key": api.keys["alpha"], "Content-Type": "text/plain"},
        data="hello",
        timeout=10,
    )
    assert plain.status_code == 200
    assert [c[0] for c in runner.calls] == ["create_item", "create_item"]


def test_required_query_parameter(gateway, api, runner):
    missing = _get(gateway, "/items", api.keys["alpha"])
    assert missing.status_code == 400
    assert missing.json() == {"message": "Missing required request parameters: [userId]"}
    assert _get(gateway, "/items?userId=u1", api.keys["alpha"]).status_code == 200


# -- payload limits and integration failures -------------------------------------------------------


def test_payload_over_10_mb_is_413_without_invoking(gateway, api, runner):
    body = b"x" * (10 * 1024 * 1024 + 1)
    response = requests.patch(
        f"{gateway.url}/items/a", headers={"x-api-key": api.keys["alpha"]}, data=body, timeout=30
    )
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
    assert runner.calls == []


def test_payload_over_lambdas_6_mb_fails_the_integration(gateway, api, runner):
    body = b"x" * (7 * 1024 * 1024)
    response = requests.patch(
        f"{gateway.url}/items/a", headers={"x-api-key": api.keys["alpha"]}, data=body, timeout=30
    )
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    assert runner.calls == []


def test_chunked_body_is_read(gateway, api):
    def chunks():
        yield b'{"name":'
        yield b'"chunked"}'

    response = requests.patch(
        f"{gateway.url}/items/a", headers={"x-api-key": api.keys["alpha"]}, data=chunks(), timeout=10
    )
    assert _event(response)["body"] == '{"name":"chunked"}'


def test_chunked_body_over_10_mb_is_413(gateway, api, runner):
    def chunks():
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    response = requests.patch(
        f"{gateway.url}/items/a", headers={"x-api-key": api.keys["alpha"]}, data=chunks(), timeout=30
    )
    assert response.status_code == 413
    assert runner.calls == []


def test_function_error_and_malformed_response_are_502(gateway, api, runner: FakeRunner):
    runner.behaviour["get_item"] = lambda _e: InvokeResult(
        ok=False,
        payload={"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []},
        error_type="ValueError",
        duration_ms=1.0,
        status="error",
        function_error="Unhandled",
    )
    failed = _get(gateway, "/items/a", api.keys["alpha"])
    assert failed.status_code == 502
    assert failed.json() == {"message": "Internal server error"}
    for bad in (
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": "abc"},
        {"statusCode": 200, "unexpected": 1},
        ["not", "an", "object"],
        {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
    ):
        runner.behaviour["get_item"] = lambda _e, bad=bad: ok(bad)
        response = _get(gateway, "/items/a", api.keys["alpha"])
        assert response.status_code == 502, bad
        assert response.json() == {"message": "Internal server error"}


def test_function_timeout_is_502_as_lambda_reports_it(gateway, api, runner):
    runner.behaviour["get_item"] = lambda _e: InvokeResult(
        ok=False,
        payload={"errorMessage": "Task timed out after 10.00 seconds", "errorType": "Sandbox.Timedout"},
        error_type="Sandbox.Timedout",
        duration_ms=10000.0,
        status="timeout",
        function_error="Unhandled",
    )
    assert _get(gateway, "/items/a", api.keys["alpha"]).status_code == 502


def test_lambda_throttle_is_500(gateway, api, runner):
    runner.behaviour["get_item"] = lambda _e: InvokeResult(
        ok=False, payload=None, error_type="TooManyRequestsException", duration_ms=0.0, status="throttled"
    )
    response = _get(gateway, "/items/a", api.keys["alpha"])
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_integration_timeout_is_504(gateway, api, runner):
    release = threading.Event()

    def slow(_event):
        release.wait(5)
        return ok({"statusCode": 200, "body": "late"})

    runner.behaviour["slow"] = slow
    started = time.monotonic()
    response = _get(gateway, "/slow", api.keys["alpha"])
    release.set()
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    assert 0.25 <= time.monotonic() - started < 3


# -- the event and the response --------------------------------------------------------------------


def test_event_shape(gateway, api):
    response = requests.get(
        f"{gateway.url}/items/abc?tag=a&tag=b&single=1&empty",
        headers={"x-api-key": api.keys["alpha"], "X-Multi": "one", "User-Agent": "pytest-agent"},
        timeout=10,
    )
    event = _event(response)
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/items/abc"
    assert event["queryStringParameters"] == {"tag": "b", "single": "1", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "single": ["1"], "empty": [""]}
    assert event["headers"]["X-Multi"] == "one"
    assert event["multiValueHeaders"]["X-Multi"] == ["one"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["stageVariables"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == STAGE
    assert ctx["path"] == f"/{STAGE}/items/abc"
    assert ctx["resourcePath"] == "/items/{id}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["apiId"] == api.api_id
    assert ctx["accountId"] == "123456789012"
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "pytest-agent"
    assert abs(ctx["requestTimeEpoch"] / 1000 - time.time()) < 60
    for name in ("requestId", "extendedRequestId", "resourceId", "requestTime"):
        assert ctx[name], name
    assert response.headers["x-amzn-RequestId"] == ctx["requestId"]
    assert response.headers["X-Amzn-Trace-Id"] == event["headers"]["X-Amzn-Trace-Id"]


def test_binary_body_is_base64_encoded(gateway, api):
    raw = bytes(range(256))
    event = _event(
        requests.patch(
            f"{gateway.url}/items/a",
            headers={"x-api-key": api.keys["alpha"], "Content-Type": "application/octet-stream"},
            data=raw,
            timeout=10,
        )
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_response_mapping(gateway, api, runner):
    runner.behaviour["get_item"] = lambda _e: ok(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "X-Both": "from-headers"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["m1", "m2"]},
            "body": base64.b64encode(b"\x00\x01binary").decode(),
            "isBase64Encoded": True,
        }
    )
    response = _get(gateway, "/items/a", api.keys["alpha"])
    assert response.status_code == 201
    assert response.content == b"\x00\x01binary"
    assert response.headers["X-One"] == "1"
    assert response.headers["X-Both"] == "m1, m2"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    runner.behaviour["get_item"] = lambda _e: ok({"statusCode": 204})
    empty = _get(gateway, "/items/a", api.keys["alpha"])
    assert empty.status_code == 204 and empty.content == b""


def test_keep_alive_serves_many_requests_on_one_connection(gateway, api):
    with requests.Session() as session:
        for _ in range(5):
            response = session.get(
                f"{gateway.url}/items/a", headers={"x-api-key": api.keys["alpha"]}, timeout=10
            )
            assert response.status_code == 200


def test_access_log_is_json_without_key_values(gateway, api, tmp_path):
    _get(gateway, "/items/a", api.keys["alpha"])
    _get(gateway, "/items/a", "wrong-key-000000000000000000")
    lines = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert [line["status"] for line in lines] == ["200", "403"]
    assert lines[0]["apiKeyId"] == api.key_ids["alpha"]
    assert lines[0]["resourcePath"] == "/items/{id}"
    assert lines[1]["error"] == "Forbidden"
    text = (tmp_path / "access.log").read_text()
    assert api.keys["alpha"] not in text and "wrong-key" not in text


def test_new_key_is_served_after_refresh(gateway, apigw, api):
    value = "late-partner-key-0123456789abcdef"
    key_id = apigw.create_api_key(name="late", enabled=True, value=value)["id"]
    try:
        assert _get(gateway, "/items/a", value).status_code == 403
        apigw.create_usage_plan_key(usagePlanId=api.plans["standard"], keyId=key_id, keyType="API_KEY")
        assert gateway.refresh() is True
        assert gateway.refresh() is False  # nothing changed since
        assert _get(gateway, "/items/a", value).status_code == 200
    finally:
        apigw.delete_usage_plan_key(usagePlanId=api.plans["standard"], keyId=key_id)
        apigw.delete_api_key(apiKey=key_id)


def test_background_refresh_picks_up_disabled_key(apigw, api, runner, tmp_path):
    from embedded_stack.apigateway import Gateway

    value = "soon-disabled-key-0123456789abcdef"
    key_id = apigw.create_api_key(name="soon-disabled", enabled=True, value=value)["id"]
    apigw.create_usage_plan_key(usagePlanId=api.plans["standard"], keyId=key_id, keyType="API_KEY")
    with Gateway(apigw, runner, rest_api_id=api.api_id, stage=STAGE, refresh_interval_s=0.1) as gw:
        assert _get(gw, "/items/a", value).status_code == 200
        apigw.update_api_key(
            apiKey=key_id, patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
        )
        deadline = time.monotonic() + 10
        while _get(gw, "/items/a", value).status_code != 403:
            assert time.monotonic() < deadline, "the disabled key was still accepted"
            time.sleep(0.05)
    apigw.delete_usage_plan_key(usagePlanId=api.plans["standard"], keyId=key_id)
    apigw.delete_api_key(apiKey=key_id)
