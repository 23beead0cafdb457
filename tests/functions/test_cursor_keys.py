"""Rotating the cursor key (scripts/cursor_key.py on moto): cursors in flight keep working while the
previous key verifies, new cursors use the new key, and a retired key's cursors are 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from scripts import cursor_key
from tests.support.events import body_of
from tests.support.inprocess import CURSOR_SECRET


@pytest.fixture
def secrets(aws):
    return boto3.client("secretsmanager", region_name="eu-west-1")


def _seed(api, user: str, n: int) -> None:
    for i in range(n):
        assert api.create({"userId": user, "name": f"n{i}"})["statusCode"] == 201


def _page(api, cursor: str | None = None, user: str = "u1") -> dict:
    query = {"userId": user, "limit": "1"}
    if cursor:
        query["cursor"] = cursor
    return api.list(query)


def _new_container() -> None:
    """What a cold start sees: no cached key."""
    from apikit import cursor

    cursor.reset_cache()


def _rotate(secrets) -> dict:
    return cursor_key.rotate(secrets, CURSOR_SECRET, min_age_s=0)


def test_a_cursor_in_flight_survives_a_rotation_and_new_cursors_use_the_new_key(api, secrets):
    _seed(api, "u1", 3)
    before = body_of(_page(api))["nextCursor"]
    rotated = _rotate(secrets)
    assert rotated["previous"] == before.split(".")[0] and rotated["retired"] is None
    _new_container()
    page = _page(api, before)
    assert page["statusCode"] == 200, page
    after = body_of(page)["nextCursor"]
    assert after.split(".")[0] == rotated["current"] != rotated["previous"]
    assert len(body_of(_page(api, after))["items"]) == 1


def test_a_retired_key_no_longer_verifies_but_the_current_one_does(api, secrets):
    _seed(api, "u1", 3)
    old = body_of(_page(api))["nextCursor"]
    _rotate(secrets)
    _new_container()
    new = body_of(_page(api))["nextCursor"]
    assert cursor_key.retire(secrets, CURSOR_SECRET, min_age_s=0)["retired"] == old.split(".")[0]
    _new_container()
    refused = _page(api, old)
    assert refused["statusCode"] == 400
    assert body_of(refused)["errors"][0]["field"] == "cursor"
    assert _page(api, new)["statusCode"] == 200


def test_a_second_rotation_retires_the_first_key(api, secrets):
    _seed(api, "u1", 3)
    first = body_of(_page(api))["nextCursor"]
    assert _rotate(secrets)["retired"] is None
    assert _rotate(secrets)["retired"] == first.split(".")[0]
    _new_container()
    assert _page(api, first)["statusCode"] == 400


def test_a_container_that_missed_the_rotation_accepts_the_new_keys_cursors(api, secrets, monkeypatch):
    """A warm container still caches the old key; a cursor from a container that has the new one
    names a kid it does not know, so it re-reads the keys once instead of refusing the cursor."""
    from apikit import cursor

    _seed(api, "u1", 3)
    body_of(_page(api))  # this "container" caches the current key
    stale = cursor._keys
    _rotate(secrets)
    monkeypatch.setattr(cursor, "_keys", cursor._KeyCache())  # another container, started after it
    fresh = body_of(_page(api))["nextCursor"]
    monkeypatch.setattr(cursor, "_keys", stale)
    assert _page(api, fresh)["statusCode"] == 200


def test_unknown_kids_reread_the_keys_at_most_once_a_second(api, secrets, monkeypatch):
    from apikit import clients, cursor

    _seed(api, "u1", 3)
    good = body_of(_page(api))["nextCursor"]
    _kid, body, mac = good.split(".")
    calls = []
    client = clients.client("secretsmanager")
    original = client.get_secret_value
    monkeypatch.setattr(client, "get_secret_value", lambda **kw: calls.append(kw) or original(**kw))
    for i in range(20):
        forged = f"{i:08x}.{body}.{mac}"
        assert _page(api, forged)["statusCode"] == 400
    assert len(calls) <= 3, calls  # one re-read (current + previous), not one per forged cursor
    assert cursor._MIN_REFRESH_SECONDS >= 1


def test_a_warm_container_signs_with_the_new_key_once_its_cache_expires(api, secrets, monkeypatch):
    from apikit import cursor

    _seed(api, "u1", 3)
    old_kid = body_of(_page(api))["nextCursor"].split(".")[0]
    new_kid = _rotate(secrets)["current"]
    assert body_of(_page(api))["nextCursor"].split(".")[0] == old_kid  # cached (300 s)
    clock = cursor.time.monotonic
    monkeypatch.setattr(cursor.time, "monotonic", lambda: clock() + 301)
    assert body_of(_page(api))["nextCursor"].split(".")[0] == new_kid


def test_rotation_and_retirement_refuse_while_the_current_key_is_young(api, secrets):
    now = datetime.now(UTC)
    with pytest.raises(cursor_key.RotationRefused, match="younger than 3600 s"):
        cursor_key.rotate(secrets, CURSOR_SECRET, min_age_s=3600, now=now)
    _rotate(secrets)
    with pytest.raises(cursor_key.RotationRefused):
        cursor_key.retire(secrets, CURSOR_SECRET, min_age_s=3600, now=now)
    later = now + timedelta(hours=2)
    assert cursor_key.retire(secrets, CURSOR_SECRET, min_age_s=3600, now=later)["retired"]
    assert cursor_key.retire(secrets, CURSOR_SECRET, min_age_s=3600, now=later)["retired"] is None


def test_status_names_versions_by_kid_and_never_prints_a_value(api, secrets, capsys):
    rotated = _rotate(secrets)
    assert cursor_key.main(["status", "--secret-id", CURSOR_SECRET, "--region", "eu-west-1"]) == 0
    out = capsys.readouterr().out
    assert rotated["current"] in out and rotated["previous"] in out
    assert "unit-test-cursor-secret" not in out
    assert "AWSCURRENT" in out and "AWSPREVIOUS" in out
