"""Unit tests of the REST proxy event builder (embedded_stack.apigateway.events): plain values in, no server.

The expected event follows the example event AWS documents for API Gateway's Lambda proxy
integration (payload format 1.0): the same keys in the same order, the same nulls. Values are ours.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from benchmarks.events import rest_event
from embedded_stack.apigateway.events import (
    authorizer_context,
    is_binary,
    rest_authorizer_event,
    rest_proxy_event,
)
from tests.support.events import api_event

RECEIVED_AT = datetime(2020, 3, 10, 0, 3, 59, 428000, tzinfo=UTC)
DOMAIN = "h7xmpl2k1q.execute-api.eu-west-1.amazonaws.com"
HEADERS = [
    ("Accept", "application/json"),
    ("Host", DOMAIN),
    ("User-Agent", "curl/8.5.0"),
    ("X-Amzn-Trace-Id", "Root=1-5e66d96f-0123456789abcdef01234567"),
    ("X-Forwarded-For", "198.51.100.20"),
    ("X-Forwarded-Port", "443"),
    ("X-Forwarded-Proto", "https"),
]


def _event(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "http_method": "GET",
        "resource_path": "/",
        "resource_id": "r00t1d",
        "path": "/",
        "path_parameters": None,
        "headers": HEADERS,
        "query": [],
        "body": b"",
        "base64_encoded": False,
        "stage": "Prod",
        "stage_variables": None,
        "api_id": "h7xmpl2k1q",
        "account_id": "123456789012",
        "deployment_id": "d3p1oy",
        "domain_name": DOMAIN,
        "protocol": "HTTP/1.1",
        "request_id": "5e1f0b4c-0d6e-4c55-9a51-0b1c2d3e4f50",
        "extended_request_id": "IRfxmplHYosFWdQ=",
        "received_at": RECEIVED_AT,
        "source_ip": "198.51.100.20",
        "user_agent": "curl/8.5.0",
        "api_key": None,
        "api_key_id": None,
    }
    return rest_proxy_event(**{**values, **overrides})


def _keys(value: Any) -> Any:
    """The nested key structure (names and order), without values."""
    if isinstance(value, dict):
        return [(k, _keys(v)) for k, v in value.items() if k not in ("headers", "multiValueHeaders")]
    return None


def test_event_matches_the_documented_example():
    documented = {
        "resource": "/",
        "path": "/",
        "httpMethod": "GET",
        "headers": dict(HEADERS),
        "multiValueHeaders": {name: [value] for name, value in HEADERS},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "r00t1d",
            "resourcePath": "/",
            "httpMethod": "GET",
            "extendedRequestId": "IRfxmplHYosFWdQ=",
            "requestTime": "10/Mar/2020:00:03:59 +0000",
            "path": "/Prod/",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "Prod",
            "domainPrefix": "h7xmpl2k1q",
            "requestTimeEpoch": 1583798639428,
            "requestId": "5e1f0b4c-0d6e-4c55-9a51-0b1c2d3e4f50",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "198.51.100.20",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "curl/8.5.0",
                "user": None,
                # Not in the documented example (an API without keys or mutual TLS), sent by API Gateway:
                "apiKey": None,
                "apiKeyId": None,
                "clientCert": None,
            },
            "domainName": DOMAIN,
            "deploymentId": "d3p1oy",  # likewise
            "apiId": "h7xmpl2k1q",
        },
        "body": None,
        "isBase64Encoded": False,
    }
    # Serialised, so that the order of the keys is compared too.
    assert json.dumps(_event()) == json.dumps(documented)


def test_repeated_headers_and_query_parameters_keep_every_value_and_the_last_single_one():
    event = _event(
        headers=[("X-Tag", "a"), ("x-tag", "b"), ("X-Tag", "c")],
        query=[("tag", "a"), ("tag", "b"), ("empty", "")],
        path_parameters={},
        stage_variables={},
    )
    assert event["headers"] == {"X-Tag": "c", "x-tag": "b"}
    assert event["multiValueHeaders"] == {"X-Tag": ["a", "c"], "x-tag": ["b"]}
    assert event["queryStringParameters"] == {"tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""]}
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert _event(headers=[])["headers"] is None and _event(headers=[])["multiValueHeaders"] is None


def test_body_is_text_or_base64_and_no_body_is_null():
    text = _event(body='{"name": "é"}'.encode())
    assert (text["body"], text["isBase64Encoded"]) == ('{"name": "é"}', False)
    raw = bytes(range(256))
    binary = _event(body=raw, base64_encoded=True)
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (raw, True)
    empty = _event(body=b"", base64_encoded=True)
    assert (empty["body"], empty["isBase64Encoded"]) == (None, False)


def test_binary_is_a_binary_media_type_or_bytes_that_are_not_utf8():
    assert is_binary("image/png", b"png", ("image/*",))
    assert is_binary("IMAGE/PNG; q=1", b"png", ("image/*",))
    assert not is_binary("application/json", b"{}", ("image/*",))
    assert is_binary("application/json", b"\xff", ())
    assert not is_binary(None, b"", ())


def test_unit_test_and_benchmark_events_are_the_builders():
    built = _keys(_event(path_parameters={"id": "1"}))
    unit = api_event("GET", "/items/{id}", path_params={"id": "1"})
    bench = rest_event("GET", "/items/{id}", "/items/1", path_parameters={"id": "1"}, partner="p1")
    # Both stand behind the API key authorizer: the partner is in its context, nowhere else.
    assert unit["requestContext"].pop("authorizer")["partner"] == "a1b2c3d4e5"
    assert bench["requestContext"].pop("authorizer")["partner"] == "p1"
    assert _keys(unit) == built and _keys(bench) == built
    assert unit["path"] == "/items/1" and unit["requestContext"]["path"] == "/test/items/1"


def test_authorizer_context_goes_into_request_context():
    context = authorizer_context("partner-a", {"partner": "a", "scope": "read-only", "none": None}, 12)
    event = _event(api_key="k-value", api_key_id="k1d", authorizer=context)
    assert event["requestContext"]["authorizer"] == {
        "partner": "a",
        "scope": "read-only",
        "none": None,
        "principalId": "partner-a",
        "integrationLatency": 12,
    }
    assert "authorizer" not in _event()["requestContext"]  # no authorizer, no key: as in AWS


def test_request_authorizer_input_is_the_request_without_body():
    proxy = _event(
        http_method="POST",
        resource_path="/items/{id}",
        path="/items/a b",
        path_parameters={"id": "a b"},
        query=[("q", "1"), ("q", "2")],
        body=b'{"secret": "body"}',
        stage_variables={"alias": "live"},
    )
    arn = "arn:aws:execute-api:eu-west-1:123456789012:h7xmpl2k1q/Prod/POST/items/a b"
    event = rest_authorizer_event(arn, proxy)
    assert list(event)[:2] == ["type", "methodArn"]
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == arn
    assert "body" not in event and "isBase64Encoded" not in event
    for key in ("resource", "path", "httpMethod", "headers", "multiValueHeaders", "pathParameters"):
        assert event[key] == proxy[key], key
    assert event["queryStringParameters"] == {"q": "2"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert event["stageVariables"] == {"alias": "live"}
    assert event["requestContext"]["resourcePath"] == "/items/{id}"
    # The input is its own copy: adding the authorizer's result to the request later leaves it alone.
    proxy["requestContext"]["identity"]["apiKeyId"] = "later"
    assert event["requestContext"]["identity"]["apiKeyId"] is None
