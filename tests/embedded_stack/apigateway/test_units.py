"""Pure pieces of the gateway: token bucket math, quota periods, routing, response mapping, templates."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.accesslog import render
from embedded_stack.apigateway.controlplane import (
    ControlPlaneError,
    GatewayResponse,
    Method,
    parse_lambda_uri,
)
from embedded_stack.apigateway.limits import Quota, QuotaCounter, Throttle, TokenBucket, period_start
from embedded_stack.apigateway.routing import RouteTable
from embedded_stack.apigateway.validation import body_errors, select_model


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- token bucket ----------------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate_limit=2.0, burst_limit=4), clock)
    assert [bucket.try_acquire() for _ in range(5)] == [True] * 4 + [False]
    clock.now += 0.49  # 0.98 tokens: not yet one
    assert bucket.try_acquire() is False
    clock.now += 0.02  # now 1.02 tokens
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.now += 100  # refill is capped at the burst
    assert [bucket.try_acquire() for _ in range(5)] == [True] * 4 + [False]


def test_zero_rate_bucket_admits_nothing_and_tiny_burst_admits_one():
    clock = FakeClock()
    assert TokenBucket(Throttle(rate_limit=0.0, burst_limit=10), clock).try_acquire() is False
    one = TokenBucket(Throttle(rate_limit=1.0, burst_limit=0), clock)
    assert [one.try_acquire(), one.try_acquire()] == [True, False]


def test_clock_going_backwards_does_not_mint_tokens():
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate_limit=1.0, burst_limit=1), clock)
    assert bucket.try_acquire() is True
    clock.now -= 50
    assert bucket.try_acquire() is False


# -- quota periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "start"),
    [
        ("DAY", datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC), date(2026, 11, 25)),
        ("WEEK", datetime(2026, 11, 25, 12, tzinfo=UTC), date(2026, 11, 23)),  # a Wednesday -> Monday
        ("WEEK", datetime(2026, 11, 23, 0, 0, tzinfo=UTC), date(2026, 11, 23)),
        ("WEEK", datetime(2026, 11, 22, 23, 59, tzinfo=UTC), date(2026, 11, 16)),  # Sunday
        ("MONTH", datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2026, 12, 1)),
        ("month", datetime(2027, 1, 1, 0, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
)
def test_period_start_is_the_utc_calendar_period(period, now, start):
    assert period_start(period, now) == start


def test_period_start_converts_to_utc():
    tokyo = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).astimezone(
        tz=__import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    )
    assert period_start("DAY", tokyo) == date(2026, 11, 26)
    assert period_start("DAY", tokyo - timedelta(hours=9)) == date(2026, 11, 25)


def test_unknown_period_is_an_error():
    with pytest.raises(ValueError, match="unknown quota period"):
        period_start("YEAR", datetime.now(UTC))


def test_quota_resets_at_the_period_boundary_and_offset_applies_to_the_first_period_only():
    now = [datetime(2026, 11, 25, 23, 59, tzinfo=UTC)]
    counter = QuotaCounter(clock=lambda: now[0])
    quota = Quota(limit=3, period="DAY", offset=1)
    assert [counter.try_consume("p", "k", quota) for _ in range(3)] == [True, True, False]
    assert counter.used("p", "k", quota) == 2
    assert counter.try_consume("p", "other-key", quota) is True  # counted per key
    now[0] += timedelta(minutes=2)  # next UTC day: full limit, no offset
    assert counter.used("p", "k", quota) == 0
    assert [counter.try_consume("p", "k", quota) for _ in range(4)] == [True, True, True, False]


# -- routing ---------------------------------------------------------------------------------------


def _method(path: str, verb: str) -> Method:
    return Method(
        resource_id=path,
        resource_path=path,
        http_method=verb,
        api_key_required=True,
        integration_type="AWS_PROXY",
        target=None,
        timeout_ms=29000,
        validate_body=False,
        validate_parameters=False,
        request_models={},
        request_parameters={},
    )


def test_routing_prefers_literals_then_params_then_greedy():
    methods = {
        (p, v): _method(p, v)
        for p, v in [
            ("/", "GET"),
            ("/items", "GET"),
            ("/items/{id}", "GET"),
            ("/items/new", "GET"),
            ("/files/{proxy+}", "ANY"),
        ]
    }
    table = RouteTable(methods)
    assert table.match("/", "GET")[0].resource_path == "/"
    assert table.match("/items", "GET")[0].resource_path == "/items"
    assert table.match("/items/", "GET")[0].resource_path == "/items"
    found = table.match("/items/a%2Fb", "GET")
    assert found[0].resource_path == "/items/{id}" and found[1] == {"id": "a/b"}
    assert table.match("/items/new", "GET")[1] == {}
    assert table.match("/files/a/b/c.txt", "DELETE")[1] == {"proxy": "a/b/c.txt"}
    assert table.match("/items/x", "POST") is None
    assert table.match("/items/x/y", "GET") is None
    assert table.match("/other", "GET") is None


def test_parse_lambda_uri_with_alias_version_and_stage_variable():
    base = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/"
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:get_item"
    assert parse_lambda_uri(f"{base}{arn}:live/invocations", {}).qualifier == "live"
    target = parse_lambda_uri(f"{base}{arn}/invocations", {})
    assert (target.function_name, target.qualifier, target.region, target.account_id) == (
        "get_item",
        None,
        "eu-west-1",
        "111122223333",
    )
    staged = parse_lambda_uri(f"{base}{arn}:${{stageVariables.alias}}/invocations", {"alias": "blue"})
    assert staged.qualifier == "blue"
    with pytest.raises(ControlPlaneError):
        parse_lambda_uri("arn:aws:apigateway:eu-west-1:s3:path/bucket/key", {})


# -- response mapping ------------------------------------------------------------------------------


def test_map_proxy_response_minimal_and_full():
    assert r.map_proxy_response({"statusCode": 200}).body == b""
    full = r.map_proxy_response(
        {
            "statusCode": "201",
            "headers": {"A": "1", "N": 5, "B": True},
            "multiValueHeaders": {"C": ["x", "y"]},
            "body": base64.b64encode(b"\xff").decode(),
            "isBase64Encoded": True,
        }
    )
    assert full.status == 201
    assert full.headers == [("C", "x"), ("C", "y"), ("A", "1"), ("N", "5"), ("B", "true")]
    assert full.body == b"\xff"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "string",
        {},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "headers": []},
        {"statusCode": 200, "headers": {"a": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"a": "not-a-list"}},
        {"statusCode": 200, "isBase64Encoded": "yes"},
        {"statusCode": 200, "cookies": ["a=b"]},
    ],
)
def test_malformed_proxy_responses(payload):
    with pytest.raises(r.MalformedResponse):
        r.map_proxy_response(payload)


def test_gateway_error_defaults_and_customisation():
    default = r.render_gateway_error(r.THROTTLED, {}, context={}, request_headers={}, request_query={})
    assert default.status == 429
    assert json.loads(default.body) == {"message": "Too Many Requests"}
    custom = {
        "DEFAULT_4XX": GatewayResponse(
            status_code=None,
            parameters={
                "gatewayresponse.header.Access-Control-Allow-Origin": "method.request.header.Origin",
                "gatewayresponse.header.X-Static": "'yes'",
            },
            templates={
                "application/json": '{"error":$context.error.messageString,"id":"$context.requestId"}'
            },
        )
    }
    rendered = r.render_gateway_error(
        r.INVALID_API_KEY,
        custom,
        context={"requestId": "req-1"},
        request_headers={"origin": "https://partner.example"},
        request_query={},
    )
    assert rendered.status == 403
    assert json.loads(rendered.body) == {"error": "Forbidden", "id": "req-1"}
    assert ("Access-Control-Allow-Origin", "https://partner.example") in rendered.headers
    assert ("X-Static", "yes") in rendered.headers


def test_template_variable_at_the_end_of_an_object():
    custom = {
        "DEFAULT_4XX": GatewayResponse(
            None, {}, {"application/json": '{"message":$context.error.messageString}'}
        )
    }
    rendered = r.render_gateway_error(
        r.INVALID_API_KEY, custom, context={}, request_headers={}, request_query={}
    )
    assert json.loads(rendered.body) == {"message": "Forbidden"}
    braced = {
        "DEFAULT_4XX": GatewayResponse(None, {}, {"application/json": '{"m":"${context.error.message}"}'})
    }
    rendered = r.render_gateway_error(r.THROTTLED, braced, context={}, request_headers={}, request_query={})
    assert json.loads(rendered.body) == {"m": "Too Many Requests"}


def test_validation_details_stay_valid_json_in_templates():
    custom = {
        "BAD_REQUEST_BODY": GatewayResponse(
            status_code="400",
            parameters={},
            templates={
                "application/json": '{"message":"$context.error.message",'
                '"details":"$context.error.validationErrorString"}'
            },
        )
    }
    errors = body_errors({"type": "object", "required": ["name"]}, b"{}")
    rendered = r.render_gateway_error(
        r.BAD_REQUEST_BODY,
        custom,
        context={},
        request_headers={},
        request_query={},
        validation_errors="[" + ", ".join(errors) + "]",
    )
    body = json.loads(rendered.body)
    assert body["message"] == "Invalid request body"
    assert "'name' is a required property" in body["details"]


def test_model_selection_by_content_type():
    models = {"application/json": "Item"}
    assert select_model(models, None) == "Item"
    assert select_model(models, "application/json; charset=utf-8") == "Item"
    assert select_model(models, "text/plain") is None
    assert select_model({"$default": "Any"}, "text/plain") == "Any"


def test_access_log_render_never_logs_key_values():
    line = render(
        '{"k":"$context.identity.apiKey","id":"$context.identity.apiKeyId","m":"$context.x","s":$context.status}',
        {"identity.apiKey": "secret", "identity.apiKeyId": "kid", "status": "200"},
    )
    assert json.loads(line) == {"k": "-", "id": "kid", "s": 200, "m": "-"}
