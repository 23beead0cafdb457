"""Unit tests of apigateway.responses: Lambda proxy responses mapped to HTTP, and gateway responses."""

from __future__ import annotations

import base64
import json

import pytest

from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.controlplane import GatewayResponse
from embedded_stack.apigateway.validation import body_errors


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
