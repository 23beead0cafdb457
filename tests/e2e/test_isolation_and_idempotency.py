"""Tenant isolation on every route, and Idempotency-Key replays over HTTP."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.client import new_item

pytestmark = pytest.mark.e2e


@pytest.fixture
def a_item(api_a, user_id) -> dict:
    response = api_a.create(new_item(user_id, id=f"iso-{uuid.uuid4().hex[:12]}", name="A's secret"))
    assert response.status_code == 201
    return response.json()


def test_other_partner_cannot_read_update_or_delete(api_a, api_b, a_item):
    assert api_b.get(a_item["id"]).status_code == 404
    assert api_b.patch(a_item["id"], {"name": "hijacked"}).status_code == 404
    assert api_b.patch(a_item["id"], {"name": "hijacked"}, if_match='"1"').status_code == 404
    assert api_b.delete(a_item["id"]).status_code == 404
    assert api_a.get(a_item["id"]).json() == a_item  # untouched


def test_other_partner_lists_nothing_and_batch_gets_missing(api_a, api_b, a_item):
    listed = api_b.list(a_item["userId"])
    assert listed.status_code == 200
    assert listed.json() == {"items": [], "nextCursor": None}
    got = api_b.batch_get([a_item["id"]])
    assert got.status_code == 200
    assert got.json() == {"items": [], "missing": [a_item["id"]]}


def test_same_client_id_is_a_different_item_per_partner(api_a, api_b, a_item):
    created = api_b.create(new_item(a_item["userId"], id=a_item["id"], name="B's own"))
    assert created.status_code == 201
    assert api_b.get(a_item["id"]).json()["name"] == "B's own"
    assert api_a.get(a_item["id"]).json()["name"] == "A's secret"
    batch = api_b.batch_write([new_item(a_item["userId"], id=f"{a_item['id']}-b")], atomic=True)
    assert batch.status_code == 201
    assert api_a.get(f"{a_item['id']}-b").status_code == 404


def test_no_response_to_b_mentions_a_data(api_a, api_b, a_item):
    for response in (
        api_b.get(a_item["id"]),
        api_b.patch(a_item["id"], {"name": "x"}),
        api_b.delete(a_item["id"]),
        api_b.list(a_item["userId"]),
        api_b.batch_get([a_item["id"]]),
    ):
        assert "A's secret" not in response.text
        assert api_a.partner.api_key not in response.text


def test_idempotent_create_replays_and_rejects_a_different_body(api_a, api_b, user_id):
    key = f"idem-{uuid.uuid4().hex}"
    body = new_item(user_id, name="once")
    first = api_a.create(body, **{"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    replay = api_a.create(body, **{"Idempotency-Key": key})
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert [i["id"] for i in api_a.list(user_id).json()["items"]] == [first.json()["id"]]
    different = api_a.create(new_item(user_id, name="twice"), **{"Idempotency-Key": key})
    assert different.status_code == 422
    # The key is scoped by partner: B's use of it is a separate, new request.
    other = api_b.create(body, **{"Idempotency-Key": key})
    assert other.status_code == 201
    assert other.headers.get("Idempotent-Replayed") is None
