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


def _bad_body(template: str, errors: list[str]) -> bytes:
    custom = {"BAD_REQUEST_BODY": GatewayResponse("400", {}, {"application/json": template})}
    return r.render_gateway_error(
        r.BAD_REQUEST_BODY,
        custom,
        context={},
        request_headers={},
        request_query={},
        validation_errors="[" + ", ".join(errors) + "]",
    ).body


def test_substitution_escapes_nothing_as_in_api_gateway():
    """A gateway response template is plain text substitution: quotes in a value end a JSON string."""
    errors = body_errors({"type": "object", "required": ["name"]}, b"{}")
    assert errors == ['object has missing required properties (["name"])']
    # The template the api module used to deploy: invalid JSON on AWS, and so here too.
    body = _bad_body(
        '{"message":$context.error.messageString,"validationErrors":"$context.error.validationErrorString"}',
        errors,
    )
    assert body == (
        b'{"message":"Invalid request body",'
        b'"validationErrors":"[object has missing required properties (["name"])]"}'
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    # messageString is the message between quotes, nothing more; message is the bare text.
    plain = _bad_body('{"m":$context.error.messageString,"t":"$context.error.message"}', errors)
    assert json.loads(plain) == {"m": "Invalid request body", "t": "Invalid request body"}


def test_stage_variables_and_unknown_variables_in_templates():
    custom = {
        "DEFAULT_4XX": GatewayResponse(
            None, {}, {"application/json": '{"v":"$stageVariables.tier","x":"${context.nothing}"}'}
        )
    }
    rendered = r.render_gateway_error(
        r.THROTTLED,
        custom,
        context={},
        request_headers={},
        request_query={},
        stage_variables={"tier": "gold"},
    )
    assert json.loads(rendered.body) == {"v": "gold", "x": ""}
