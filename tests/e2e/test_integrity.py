"""Integrity at the edges over HTTP (issue 11): batches never write over an item, Idempotency-Key on
POST /batch, and DynamoDB's limits answered with 400 rather than a 5xx."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.client import Api, new_item

pytestmark = pytest.mark.e2e


def _ids(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"race-{tag}-{i:03d}" for i in range(n)]


def test_creates_racing_a_batch_leave_exactly_one_winner_per_id(api_a, user_id):
    ids = _ids(40)
    fresh = lambda: Api(api_a.api_url, api_a.partner)  # noqa: E731 - one HTTP session per thread

    def batch():
        response = fresh().batch_write([new_item(user_id, id=i, name="batch") for i in ids])
        assert response.status_code in (201, 207), response.text
        assert {f["reason"] for f in response.json()["failed"]} <= {"exists"}
        return {i: "batch" for i in response.json()["written"]}

    def create(item_id):
        response = fresh().create(new_item(user_id, id=item_id, name=f"single-{item_id}"))
        assert response.status_code in (201, 409), response.text
        return {item_id: f"single-{item_id}"} if response.status_code == 201 else {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(batch)] + [pool.submit(create, i) for i in reversed(ids)]
        results = [job.result() for job in jobs]
    winners: dict[str, list[str]] = {i: [] for i in ids}
    for result in results:
        for item_id, who in result.items():
            winners[item_id].append(who)
    assert all(len(who) == 1 for who in winners.values()), winners
    stored = {i["id"]: i["name"] for i in api_a.batch_get(ids).json()["items"]}
    assert stored == {i: who[0] for i, who in winners.items()}
    assert all(i["version"] == 1 for i in api_a.batch_get(ids).json()["items"])


def test_a_batch_with_an_idempotency_key_is_replayed(api_a, user_id):
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    items = [new_item(user_id, name=f"k{i}") for i in range(30)]
    first = api_a.batch_write(items, **key)
    assert first.status_code == 201, first.text
    again = api_a.batch_write(items, **key)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert api_a.batch_write(items[:29], **key).status_code == 422
    assert api_a.batch_get(first.json()["written"]).json()["missing"] == []


def test_values_dynamodb_refuses_are_400_and_what_it_accepts_is_stored(api_a, user_id):
    for info in ({"x": 1e126}, {"x": 12345678901234567890123456789012345678901}, {"x": _nested(32)}):
        response = api_a.create(new_item(user_id, info=info))
        assert response.status_code == 400, (info, response.text)
    for info in ({"x": 9.99999999999999e125}, {"x": 10**40}, {"x": _nested(31)}):
        response = api_a.create(new_item(user_id, info=info))
        assert response.status_code == 201, (info, response.text)
        assert api_a.get(response.json()["id"]).json()["info"] == info


def test_a_limit_in_other_digits_is_400(api_a, user_id):
    for limit in ("²", "٣"):
        response = api_a.list(user_id, limit=limit)
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "limit"


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 2):  # ``info`` itself is the first level, this dict the second
        value = {"a": value}
    return value
