"""Single-item routes over HTTP: create, get, patch, delete; every success and error path."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.e2e.client import message, new_item

pytestmark = pytest.mark.e2e

PRIVATE_FIELDS = {"PK", "SK", "GSI1PK", "GSI1SK", "entity", "partnerId", "expiresAt"}


def _created(api, body) -> dict:
    response = api.create(body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_item(api_a, user_id):
    response = api_a.create(new_item(user_id, name="first", info={"colour": "blue", "n": [1, 2]}))
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["userId"] == user_id
    assert item["name"] == "first"
    assert item["info"] == {"colour": "blue", "n": [1, 2]}
    assert item["version"] == 1
    assert item["id"] and item["createdAt"] and item["updatedAt"]
    assert not PRIVATE_FIELDS & set(item)
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Content-Type"].startswith("application/json")


def test_create_with_client_id_then_conflict(api_a, user_id):
    item_id = f"cid-{uuid.uuid4().hex[:12]}"
    assert _created(api_a, new_item(user_id, id=item_id))["id"] == item_id
    again = api_a.create(new_item(user_id, id=item_id, name="other"))
    assert again.status_code == 409
    assert message(again)
    assert api_a.get(item_id).json()["name"] == "widget"  # never overwritten


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no user"},
        {"userId": "u1"},
        {"userId": "u1", "name": ""},
        {"userId": "u1", "name": "n", "unknown": True},
        {"userId": "u1", "name": 5},
        {"userId": "u1", "name": "n", "info": "not-an-object"},
        {"userId": "u1", "name": "n", "id": "bad id!"},
        {"userId": "has space", "name": "n"},
        [],
    ],
)
def test_create_rejects_invalid_bodies(api_a, body):
    response = api_a.create(body)
    assert response.status_code == 400, response.text
    assert message(response)


def test_create_rejects_malformed_json(api_a):
    response = api_a.request(
        "POST", "/items", data=b'{"userId": "u1", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert message(response)


def test_create_rejects_a_wrong_content_type(api_a, user_id):
    response = api_a.request(
        "POST", "/items", data='{"userId": "u1", "name": "n"}', headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert message(response)


def test_create_rejects_oversized_info_and_body(api_a, user_id):
    big_info = api_a.create(new_item(user_id, info={"blob": "x" * (33 * 1024)}))
    assert big_info.status_code == 413, big_info.text
    huge_body = api_a.create(new_item(user_id, info={"blob": "x" * (70 * 1024)}))
    assert huge_body.status_code == 413, huge_body.text
    listed = api_a.list(user_id)
    assert listed.status_code == 200 and listed.json()["items"] == []  # nothing half-written


def test_get_found_missing_and_bad_id(api_a, user_id):
    item = _created(api_a, new_item(user_id))
    found = api_a.get(item["id"])
    assert found.status_code == 200
    assert found.json() == item
    assert found.headers["ETag"] == '"1"'
    missing = api_a.get(f"missing-{uuid.uuid4().hex}")
    assert missing.status_code == 404
    assert message(missing)
    assert api_a.get("bad!id").status_code == 400


def test_patch_updates_with_optimistic_locking(api_a, user_id):
    item = _created(api_a, new_item(user_id, name="before"))
    updated = api_a.patch(item["id"], {"name": "after", "info": {"k": "v"}}, if_match='"1"')
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["name"], body["info"], body["version"]) == ("after", {"k": "v"}, 2)
    assert body["createdAt"] == item["createdAt"]
    assert body["userId"] == user_id
    assert updated.headers["ETag"] == '"2"'
    stale = api_a.patch(item["id"], {"name": "lost update"}, if_match="1")
    assert stale.status_code == 412
    assert message(stale)
    unconditional = api_a.patch(item["id"], {"name": "third"})
    assert unconditional.status_code == 200 and unconditional.json()["version"] == 3
    assert api_a.get(item["id"]).json()["name"] == "third"


@pytest.mark.parametrize(
    "body", [{}, {"userId": "someone-else"}, {"name": ""}, {"version": 7}, {"id": "x"}, {"name": 1}]
)
def test_patch_rejects_invalid_bodies(api_a, user_id, body):
    item = _created(api_a, new_item(user_id))
    response = api_a.patch(item["id"], body)
    assert response.status_code == 400, response.text
    assert api_a.get(item["id"]).json() == item


def test_patch_bad_if_match_and_missing_item(api_a, user_id):
    item = _created(api_a, new_item(user_id))
    assert api_a.patch(item["id"], {"name": "x"}, if_match="not-a-version").status_code == 400
    assert api_a.patch(f"missing-{uuid.uuid4().hex}", {"name": "x"}).status_code == 404


def test_racing_patches_with_the_same_if_match_have_one_winner(api_a, user_id):
    item = _created(api_a, new_item(user_id))
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def race(n: int) -> None:
        start.wait()
        status = api_a.patch(item["id"], {"name": f"racer-{n}"}, if_match='"1"').status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [412] * 5, statuses
    final = api_a.get(item["id"]).json()
    assert final["version"] == 2 and final["name"].startswith("racer-")


def test_delete_then_gone(api_a, user_id):
    item = _created(api_a, new_item(user_id))
    deleted = api_a.delete(item["id"])
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api_a.get(item["id"]).status_code == 404
    assert api_a.delete(item["id"]).status_code == 404
