"""Listing with tamper-proof cursors, and the batch routes at their limits."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.e2e.client import message, new_item

pytestmark = pytest.mark.e2e


def _ids(n: int, prefix: str = "b") -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"{prefix}-{tag}-{i:03d}" for i in range(n)]


def test_pagination_returns_every_item_exactly_once_newest_first(api_a, user_id):
    created = []
    for n in range(7):
        response = api_a.create(new_item(user_id, name=f"item-{n}"))
        assert response.status_code == 201
        created.append(response.json())
    pages = api_a.list_all(user_id, limit=3)
    assert sorted(i["id"] for i in pages) == sorted(i["id"] for i in created)
    assert len(pages) == len({i["id"] for i in pages}) == 7
    order = [(i["createdAt"], i["id"]) for i in pages]
    assert order == sorted(order, reverse=True)


def test_list_defaults_and_limit_bounds(api_a, user_id):
    empty = api_a.list(user_id)
    assert empty.status_code == 200
    assert empty.json() == {"items": [], "nextCursor": None}
    for bad in ("0", "101", "-1", "ten"):
        response = api_a.list(user_id, limit=bad)
        assert response.status_code == 400, bad
        assert message(response)
    assert api_a.list(user_id, limit="100").status_code == 200
    assert api_a.request("GET", "/items").status_code == 400  # userId is required
    assert api_a.list(user_id, unexpected="1").status_code == 400


def _first_cursor(api, user_id) -> str:
    for n in range(3):
        assert api.create(new_item(user_id, name=f"c{n}")).status_code == 201
    page = api.list(user_id, limit=1)
    assert page.status_code == 200
    cursor = page.json()["nextCursor"]
    assert cursor
    return cursor


def test_tampered_cursor_is_rejected(api_a, user_id):
    cursor = _first_cursor(api_a, user_id)
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    forged = base64.urlsafe_b64encode(b'{"PK":"P#other#I#x","SK":"ITEM"}').decode().rstrip("=")
    for bad in (flipped, forged, "not-a-cursor", cursor + "x"):
        response = api_a.list(user_id, limit=1, cursor=bad)
        assert response.status_code == 400, bad
        assert "items" not in response.json()


def test_cursor_of_another_partner_or_user_is_rejected(api_a, api_b, user_id):
    cursor = _first_cursor(api_a, user_id)
    stolen = api_b.list(user_id, limit=1, cursor=cursor)
    assert stolen.status_code == 400
    assert "items" not in stolen.json()
    other_user = api_a.list(f"{user_id}-other", limit=1, cursor=cursor)
    assert other_user.status_code == 400


def test_batch_write_100_items_then_read_them(api_a, user_id):
    ids = _ids(100)
    written = api_a.batch_write([new_item(user_id, id=i) for i in ids])
    assert written.status_code == 201, written.text
    assert sorted(written.json()["written"]) == sorted(ids)
    assert written.json()["failed"] == []
    read = api_a.batch_get(ids)
    assert read.status_code == 200
    assert sorted(i["id"] for i in read.json()["items"]) == sorted(ids)
    assert read.json()["missing"] == []
    assert len(api_a.list_all(user_id, limit=100)) == 100


def test_batch_write_101_items_is_rejected_and_writes_nothing(api_a, user_id):
    ids = _ids(101)
    response = api_a.batch_write([new_item(user_id, id=i) for i in ids])
    assert response.status_code == 400
    assert message(response)
    assert api_a.batch_get(ids[:100]).json()["missing"] == ids[:100]


def test_batch_write_with_an_invalid_item_writes_nothing(api_a, user_id):
    ids = _ids(3)
    bodies = [new_item(user_id, id=i) for i in ids]
    bodies[1] = {"userId": user_id, "id": ids[1]}  # no name
    response = api_a.batch_write(bodies)
    assert response.status_code == 400
    assert api_a.batch_get(ids).json()["missing"] == ids


def test_batch_write_reports_existing_ids_as_failed(api_a, user_id):
    ids = _ids(3)
    assert api_a.create(new_item(user_id, id=ids[1], name="original")).status_code == 201
    response = api_a.batch_write([new_item(user_id, id=i, name="batch") for i in ids])
    assert response.status_code == 207, response.text
    body = response.json()
    assert sorted(body["written"]) == sorted([ids[0], ids[2]])
    assert [f["id"] for f in body["failed"]] == [ids[1]]
    assert api_a.get(ids[1]).json()["name"] == "original"


def test_atomic_batch_is_all_or_nothing(api_a, user_id):
    ids = _ids(4)
    assert api_a.create(new_item(user_id, id=ids[2])).status_code == 201
    refused = api_a.batch_write([new_item(user_id, id=i) for i in ids], atomic=True)
    assert refused.status_code == 409, refused.text
    assert message(refused)
    assert api_a.batch_get(ids).json()["missing"] == [ids[0], ids[1], ids[3]]
    fresh = _ids(4)
    accepted = api_a.batch_write([new_item(user_id, id=i) for i in fresh], atomic=True)
    assert accepted.status_code == 201
    assert sorted(accepted.json()["written"]) == sorted(fresh)
    assert api_a.batch_get(fresh).json()["missing"] == []


def test_batch_get_items_and_missing(api_a, user_id):
    ids = _ids(2)
    for i in ids:
        assert api_a.create(new_item(user_id, id=i)).status_code == 201
    absent = _ids(2, "absent")
    response = api_a.batch_get([ids[0], absent[0], ids[1], absent[1]])
    assert response.status_code == 200
    body = response.json()
    assert [i["id"] for i in body["items"]] == ids
    assert body["missing"] == absent


def test_batch_get_limits_and_bad_input(api_a):
    assert api_a.batch_get(_ids(100)).status_code == 200
    assert api_a.batch_get(_ids(101)).status_code == 400
    assert api_a.request("GET", "/batch").status_code == 400
    assert api_a.batch_get(["ok", "bad id!"]).status_code == 400
