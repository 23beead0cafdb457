"""Every request ends with our JSON answer before its deadline, whatever DynamoDB does (issue 11, finding 3).

The handlers run with their real botocore client against a loopback DynamoDB that hangs or throttles
every call (tests/support/slow_dynamodb.py). The deadline is the earlier of Lambda's remaining time
and API Gateway's 29 s counted from ``requestTimeEpoch``, less a reserve (apikit.retry); botocore's
attempts, timeouts and backoff stay inside it (apikit.clients).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apikit import clients, retry

from tests.support.events import FakeContext, api_event, body_of
from tests.support.inprocess import load_handler
from tests.support.slow_dynamodb import slow_dynamodb

ROOT = Path(__file__).resolve().parents[2]
SLACK_S = 0.75  # building and returning the answer, on a loaded machine


@pytest.fixture
def endpoint_env(monkeypatch):
    """Point the layer's clients at whatever endpoint the test starts (fresh clients before and after)."""

    def use(url: str) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        clients.client.cache_clear()
        clients._session.cache_clear()
        clients.client("dynamodb")  # a warm container's client: its creation is not what is timed

    yield use
    clients.client.cache_clear()
    clients._session.cache_clear()


def _call(fn: str, event: dict, remaining_ms: int) -> tuple[dict, float]:
    started = time.monotonic()
    response = load_handler(fn)(event, FakeContext(remaining_ms))
    return response, time.monotonic() - started


def _assert_our_503(response: dict) -> None:
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] in {"1", "2", "3"}
    assert body_of(response)["message"]


def test_a_hanging_dynamodb_gets_our_503_before_the_deadline(endpoint_env):
    with slow_dynamodb("hang") as dynamodb:
        endpoint_env(dynamodb.url)
        response, took = _call("get_item", api_event("GET", "/items/{id}", path_params={"id": "a"}), 6500)
    _assert_our_503(response)
    assert took < 6.5 - retry.RESERVE_S + SLACK_S  # botocore alone: 5 attempts of a 5 s read timeout
    assert dynamodb.requests == ["GetItem"]  # a second attempt could not have ended in time


def test_a_batch_against_a_hanging_dynamodb_answers_in_time_saying_what_is_unknown(endpoint_env):
    items = [{"userId": "u1", "name": f"n{i}"} for i in range(100)]
    with slow_dynamodb("hang") as dynamodb:
        endpoint_env(dynamodb.url)
        response, took = _call("batch_write", api_event("POST", "/batch", body={"items": items}), 6500)
    assert took < 6.5 - retry.RESERVE_S + SLACK_S
    assert response["statusCode"] == 207 and response["headers"]["Retry-After"] in {"1", "2", "3"}
    body = body_of(response)
    assert body["written"] == []
    reasons = [f["reason"] for f in body["failed"]]
    # The first chunk was sent and never answered: its items may exist. The rest never left.
    assert reasons[:25] == ["unknown"] * 25 and set(reasons[25:]) == {"throttled"}
    assert set(dynamodb.requests) == {"BatchWriteItem"}


@pytest.mark.parametrize("remaining_ms", [6500, 10_000])
def test_a_throttling_dynamodb_gets_our_503_before_the_deadline(endpoint_env, remaining_ms):
    event = api_event("POST", "/items", body={"userId": "u1", "name": "n"})
    with slow_dynamodb("throttle") as dynamodb:
        endpoint_env(dynamodb.url)
        response, took = _call("create_item", event, remaining_ms)
    _assert_our_503(response)
    assert took < remaining_ms / 1000 - retry.RESERVE_S + SLACK_S
    assert 1 <= len(dynamodb.requests) <= clients.MAX_ATTEMPTS


def test_botocore_retries_throttling_while_time_allows(endpoint_env):
    """Away from the deadline, botocore's standard mode keeps its attempts (the bound is not a cap)."""
    with slow_dynamodb("throttle") as dynamodb:
        endpoint_env(dynamodb.url)
        response, _ = _call("get_item", api_event("GET", "/items/{id}", path_params={"id": "a"}), 25_000)
    _assert_our_503(response)
    assert len(dynamodb.requests) == clients.MAX_ATTEMPTS


def test_nothing_is_written_once_api_gateway_is_about_to_give_up(api, aws):
    """26 s after API Gateway received the request, Lambda's time is irrelevant: no write may start."""
    received = datetime.now(UTC) - timedelta(seconds=26)
    event = api_event(
        "POST", "/items", body={"id": "late", "userId": "u1", "name": "n"}, received_at=received
    )
    response, took = _call("create_item", event, 10_000)
    _assert_our_503(response)
    assert took < 1.0
    assert "Item" not in aws.get_item(
        TableName="items-test", Key={"PK": {"S": "P#a1b2c3d4e5#I#late"}, "SK": {"S": "ITEM"}}
    )


def test_deadline_is_the_earlier_of_lambda_and_api_gateway():
    now_ms = int(time.time() * 1000)
    lambda_bound = retry.Deadline.for_request(
        {"requestContext": {"requestTimeEpoch": now_ms}}, FakeContext(5000)
    )
    assert 5.0 - retry.RESERVE_S - 0.5 < lambda_bound.remaining() <= 5.0 - retry.RESERVE_S
    late = {"requestContext": {"requestTimeEpoch": now_ms - 20_000}}
    gateway_bound = retry.Deadline.for_request(late, FakeContext(25_000))
    assert 9.0 - retry.RESERVE_S - 0.5 < gateway_bound.remaining() <= 9.0 - retry.RESERVE_S
    for odd in ({}, {"requestContext": None}, {"requestContext": {"requestTimeEpoch": "soon"}}):
        assert retry.Deadline.for_request(odd, FakeContext(5000)).remaining() > 3.5


@pytest.mark.parametrize(
    "manifest", sorted((ROOT / "functions").glob("*/function.json")), ids=lambda p: p.parent.name
)
def test_routed_functions_time_out_before_api_gateway_does(manifest):
    """A function still running when API Gateway answers 504 could write after the client gave up."""
    spec = json.loads(manifest.read_text())
    if "route" in spec:
        assert spec["timeout"] < retry.GATEWAY_TIMEOUT_S
