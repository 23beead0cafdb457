"""apikit.http: the partner and the key's scope come only from the authorizer's context
(``requestContext.authorizer``), and a read-only scope can never write (defence in depth)."""

from __future__ import annotations

import pytest
from apikit import scopes
from apikit.http import Request, caller_of, endpoint, response

from tests.support.events import API_KEY_ID, PARTNER_A, PARTNER_B, FakeContext, api_event, body_of

WRITES = [
    ("create_item", "POST", "/items", {"body": {"userId": "u1", "name": "n"}}),
    ("update_item", "PATCH", "/items/{id}", {"path_params": {"id": "i1"}, "body": {"name": "m"}}),
    ("delete_item", "DELETE", "/items/{id}", {"path_params": {"id": "i1"}}),
    ("batch_write", "POST", "/batch", {"body": {"items": [{"id": "i2", "userId": "u1", "name": "n"}]}}),
]


@endpoint
def _whoami(request: Request) -> dict:
    assert request.caller is not None
    return response(200, {"partner": request.partner, "scope": request.caller.scope})


def test_the_partner_and_scope_are_the_authorizers():
    event = api_event("GET", "/items", partner=PARTNER_B, scope="read-only")
    assert body_of(_whoami(event, FakeContext())) == {"partner": PARTNER_B, "scope": "read-only"}


def test_the_key_id_in_identity_is_never_the_partner():
    event = api_event("GET", "/items", partner=None)
    assert event["requestContext"]["identity"]["apiKeyId"] == API_KEY_ID
    answer = _whoami(event, FakeContext())
    assert (answer["statusCode"], body_of(answer)) == (403, {"message": "Forbidden"})


def test_nothing_the_client_sends_names_the_partner():
    event = api_event(
        "GET",
        "/items",
        partner=PARTNER_A,
        headers={"x-partner": PARTNER_B},
        query={"partner": PARTNER_B},
    )
    event["body"] = f'{{"partner": "{PARTNER_B}"}}'
    assert body_of(_whoami(event, FakeContext()))["partner"] == PARTNER_A


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"partner": PARTNER_A},  # no scope
        {"partner": PARTNER_A, "scope": "admin"},  # a scope we do not know
        {"partner": "has#hash", "scope": "read-write"},
        {"partner": "", "scope": "read-write"},
        {"partner": 7, "scope": "read-write"},
        "not a map",
    ],
)
def test_an_unusable_authorizer_context_is_403(context):
    event = api_event("GET", "/items")
    event["requestContext"]["authorizer"] = context
    assert caller_of(event) is None
    assert _whoami(event, FakeContext())["statusCode"] == 403


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_read_only_scope_is_403_on_anything_but_get(method):
    answer = _whoami(api_event(method, "/items", scope="read-only"), FakeContext())
    assert answer["statusCode"] == 403
    assert body_of(answer) == {"message": f"this API key is read-only: {method} is not allowed"}


def test_a_read_write_scope_may_call_every_method():
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        assert _whoami(api_event(method, "/items", scope="read-write"), FakeContext())["statusCode"] == 200


def test_the_scope_table():
    assert scopes.allows("read-only", "get") and not scopes.allows("read-only", "POST")
    assert not scopes.allows(None, "GET") and not scopes.allows("admin", "GET")
    assert set(scopes.METHODS) == {scopes.READ_WRITE, scopes.READ_ONLY}


@pytest.mark.parametrize(("fn", "method", "resource", "kwargs"), WRITES, ids=[w[0] for w in WRITES])
def test_read_only_writes_reach_no_table(api, aws, fn, method, resource, kwargs):
    """Even if an authorizer's policy let a write through, the handler refuses it and writes nothing."""
    api.create({"id": "i1", "userId": "u1", "name": "before"})
    before = aws.scan(TableName="items-test")["Items"]
    answer = api.call(fn, method, resource, scope="read-only", **kwargs)
    assert answer["statusCode"] == 403, answer
    assert aws.scan(TableName="items-test")["Items"] == before
