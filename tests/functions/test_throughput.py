"""Throughput exceeded after botocore's retries -> 503 with Retry-After on every route."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from tests.support.events import body_of


@pytest.fixture
def throttled(aws):
    """Every DynamoDB call answers ProvisionedThroughputExceededException (retries included)."""
    from apikit import clients

    ddb = clients.client("dynamodb")
    stubber = Stubber(ddb)
    for _ in range(50):
        stubber.add_client_error(
            "get_item", service_error_code="ProvisionedThroughputExceededException", http_status_code=400
        )
    with stubber:
        yield stubber


def test_get_throttled_is_503_with_retry_after(api, throttled):
    resp = api.get("any")
    assert resp["statusCode"] == 503
    assert resp["headers"]["Retry-After"] in {"1", "2", "3"}
    assert "message" in body_of(resp)


@pytest.mark.parametrize(
    ("code", "route"),
    [
        ("ProvisionedThroughputExceededException", "create"),
        ("ThrottlingException", "patch"),
        ("RequestLimitExceeded", "delete"),
        ("ProvisionedThroughputExceededException", "list"),
        ("ThrottlingException", "batch_write"),
        ("ProvisionedThroughputExceededException", "batch_get"),
        ("InternalServerError", "get"),
    ],
)
def test_every_route_maps_throttling_to_503(api, aws, code, route):
    from apikit import clients

    ddb = clients.client("dynamodb")
    attempts = []

    def throttle(**kwargs):
        from botocore.exceptions import ClientError

        attempts.append(1)
        raise ClientError({"Error": {"Code": code, "Message": "slow down"}}, "Op")

    ddb.meta.events.register("before-call.dynamodb", throttle)
    try:
        resp = {
            "create": lambda: api.create({"userId": "u1", "name": "n"}),
            "patch": lambda: api.patch("x", {"name": "n"}),
            "delete": lambda: api.delete("x"),
            "list": lambda: api.list({"userId": "u1"}),
            "batch_write": lambda: api.batch_write({"items": [{"id": "a", "userId": "u1", "name": "n"}]}),
            "batch_get": lambda: api.batch_get("a"),
            "get": lambda: api.get("x"),
        }[route]()
    finally:
        ddb.meta.events.unregister("before-call.dynamodb", throttle)
    assert resp["statusCode"] == 503 and resp["headers"]["Retry-After"] in {"1", "2", "3"}


def test_botocore_retries_throttling_before_giving_up(api, aws):
    """Standard retry mode: a transient throttle is absorbed, the client sees 200."""
    from apikit import clients

    api.create({"id": "a", "userId": "u1", "name": "n"})
    ddb = clients.client("dynamodb")
    sent = []

    def throttle_once(request, **kwargs):
        sent.append(1)
        if len(sent) == 1:
            from botocore.awsrequest import AWSResponse

            class Raw:
                def stream(self, **kw):
                    yield b""

            error = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
            body = json.dumps({"__type": error, "message": "x"}).encode()
            resp = AWSResponse(
                request.url, 400, {"x-amzn-ErrorType": "ProvisionedThroughputExceededException"}, Raw()
            )
            resp._content = body
            return resp
        return None

    ddb.meta.events.register_first("before-send.dynamodb.GetItem", throttle_once)
    try:
        resp = api.get("a")
    finally:
        ddb.meta.events.unregister("before-send.dynamodb.GetItem", throttle_once)
    assert resp["statusCode"] == 200 and len(sent) == 2


def test_unexpected_errors_are_opaque_500(api, aws, monkeypatch):
    from apikit import items

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(items, "get", boom)
    resp = api.get("x")
    assert resp["statusCode"] == 500 and body_of(resp) == {"message": "internal error"}
