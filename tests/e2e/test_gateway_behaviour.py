"""API Gateway's own behaviour in front of the functions: keys, routes, usage plans, payload limit."""

from __future__ import annotations

import time

import pytest

from tests.e2e.client import Api, message

pytestmark = pytest.mark.e2e

ROUTES = [
    ("POST", "/items"),
    ("GET", "/items"),
    ("GET", "/items/some-id"),
    ("PATCH", "/items/some-id"),
    ("DELETE", "/items/some-id"),
    ("POST", "/batch"),
    ("GET", "/batch"),
]


@pytest.mark.parametrize(("method", "path"), [*ROUTES, ("GET", "/usage")])
def test_every_route_needs_a_key(anonymous, method, path):
    """No x-api-key header: API Gateway answers 401 without calling the authorizer."""
    response = anonymous.request(method, path, json={"userId": "u", "name": "n"})
    assert response.status_code == 401
    assert message(response) == "Unauthorized"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unknown_key_is_unauthorized(stack, method, path):
    stranger = Api(stack.api_url, None, key_override="this-key-does-not-exist-0123456789")
    response = stranger.request(method, path, json={"userId": "u", "name": "n"})
    assert response.status_code == 401
    assert message(response) == "Unauthorized"


def test_unknown_route_is_missing_authentication_token(api_a):
    for method, path in (("GET", "/nothing-here"), ("PUT", "/items/x"), ("DELETE", "/items")):
        response = api_a.request(method, path)
        assert response.status_code == 403, (method, path)
        assert message(response) == "Missing Authentication Token"


def test_responses_carry_a_request_id(api_a, anonymous):
    assert api_a.get("no-such-item").headers.get("x-amzn-RequestId")
    assert anonymous.get("no-such-item").headers.get("x-amzn-RequestId")


def test_payload_over_10_mb_is_rejected_by_the_gateway(api_a):
    response = api_a.request(
        "POST", "/items", data=b"x" * (10 * 1024 * 1024 + 16), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_tight_partner_is_throttled_after_its_burst_then_recovers(stack, needs_usage_plans):
    tight = min(stack.partners.values(), key=lambda p: p.burst_limit)
    assert 0 < tight.burst_limit <= 5, f"the local stage needs a partner with a burst of 5 or fewer: {tight}"
    api = Api(stack.api_url, tight)
    started = time.monotonic()
    statuses = [api.get("throttle-probe").status_code for _ in range(tight.burst_limit + 6)]
    elapsed = time.monotonic() - started
    passed = [s for s in statuses if s != 429]
    assert 429 in statuses, statuses
    # At most the burst plus what the bucket refilled while we were sending.
    assert len(passed) <= tight.burst_limit + int(elapsed * tight.rate_limit) + 1, (statuses, elapsed)
    throttled = api.get("throttle-probe")
    if throttled.status_code == 429:
        assert message(throttled) == "Too Many Requests"
    deadline = time.monotonic() + 5 + 2 / max(tight.rate_limit, 0.01)
    while (response := api.get("throttle-probe")).status_code == 429:
        assert time.monotonic() < deadline, "the bucket never refilled"
        time.sleep(0.1)
    assert response.status_code == 404  # through the gateway to the function again


def test_quota_partner_hits_limit_exceeded(stack, needs_usage_plans):
    small = [p for p in stack.partners.values() if p.quota_limit is not None and p.quota_limit <= 50]
    assert small, "the local stage needs a partner with a small quota"
    partner = min(small, key=lambda p: p.quota_limit or 0)
    api = Api(stack.api_url, partner)
    statuses: list[int] = []
    for _ in range((partner.quota_limit or 0) + 2):
        response = api.get("quota-probe")
        statuses.append(response.status_code)
        if response.status_code == 429 and message(response) == "Limit Exceeded":
            break
    assert statuses[-1] == 429, statuses
    assert sum(1 for s in statuses if s == 404) <= (partner.quota_limit or 0)
    again = api.get("quota-probe")
    assert again.status_code == 429 and message(again) == "Limit Exceeded"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no user"},  # the validator quotes the missing property: (["userId"])
        {"userId": "u 1", "name": "n"},  # it quotes the pattern and the value
        {"userId": "u", "name": "n", 'quote"in-key': 1},  # a client-chosen name with a quote in it
    ],
)
def test_a_body_failing_the_model_is_a_json_400(api_a, body):
    """API Gateway substitutes validation messages raw: the BAD_REQUEST_BODY body must stay JSON."""
    response = api_a.create(body)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert message(response) == "Invalid request body"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "PUT"])
def test_a_method_no_route_defines_is_missing_authentication_token(api_a, method):
    response = api_a.request(method, "/items")
    assert response.status_code == 403, response.text
    assert message(response) == "Missing Authentication Token"
