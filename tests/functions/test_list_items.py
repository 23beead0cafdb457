"""GET /items: newest first, limits, pagination exactly once, tamper-proof cursors."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.events import body_of


def _seed(api, user: str, count: int) -> list[str]:
    ids = [f"{user}-{n:03d}" for n in range(count)]
    for i in ids:
        assert api.create({"id": i, "userId": user, "name": i})["statusCode"] == 201
    return ids


def _all_pages(api, user: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        query = {"userId": user, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        resp = api.list(query)
        assert resp["statusCode"] == 200
        body = body_of(resp)
        pages.append([i["id"] for i in body["items"]])
        cursor = body["nextCursor"]
        if cursor is None:
            return pages


def test_newest_first_and_default_limit_25(api):
    ids = _seed(api, "u1", 27)
    _seed(api, "u2", 2)
    body = body_of(api.list({"userId": "u1"}))
    assert [i["id"] for i in body["items"]] == list(reversed(ids))[:25]
    assert body["nextCursor"]
    assert set(body["items"][0]) == {"id", "userId", "name", "info", "version", "createdAt", "updatedAt"}


@pytest.mark.parametrize("limit", [1, 3, 7, 10, 11])
def test_pagination_returns_every_item_exactly_once(api, limit):
    ids = _seed(api, "u1", 10)
    pages = _all_pages(api, "u1", limit)
    flat = [i for page in pages for i in page]
    assert flat == list(reversed(ids))
    assert all(pages), "no empty trailing page"
    assert len(pages) == -(-10 // limit)


def test_limit_100_boundary(api):
    _seed(api, "u1", 101)
    body = body_of(api.list({"userId": "u1", "limit": "100"}))
    assert len(body["items"]) == 100 and body["nextCursor"]
    last = body_of(api.list({"userId": "u1", "limit": "100", "cursor": body["nextCursor"]}))
    assert [i["id"] for i in last["items"]] == ["u1-000"] and last["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
def test_bad_limit_is_400(api, limit):
    resp = api.list({"userId": "u1", "limit": limit})
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("query", [{}, {"userId": ""}, {"userId": "a#b"}, {"userId": "x" * 129}])
def test_user_id_is_required_and_validated(api, query):
    resp = api.list(query)
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "userId"


def test_unknown_query_parameter_is_400(api):
    resp = api.list({"userId": "u1", "sort": "asc"})
    assert resp["statusCode"] == 400 and body_of(resp)["errors"] == [
        {"field": "sort", "reason": "unknown parameter"}
    ]


def test_empty_list(api):
    assert body_of(api.list({"userId": "nobody"})) == {"items": [], "nextCursor": None}


def _cursor(api, user="u1"):
    _seed(api, user, 3)
    return body_of(api.list({"userId": user, "limit": "1"}))["nextCursor"]


def test_forged_and_truncated_cursors_are_400(api):
    good = _cursor(api)
    kid, payload, sig = good.split(".")
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["k"]["GSI1SK"]["S"] = "9999"
    forged = f"{kid}.{base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b'=').decode()}.{sig}"
    other_kid = f"{'0' if kid[0] != '0' else '1'}{kid[1:]}.{payload}.{sig}"
    for bad in (
        forged,
        other_kid,
        good[:-3],
        f"{payload}.{sig}",
        "x",
        "a.b.c",
        good + "A",
        "!!!.???.***",
        f"{kid}.\u00e9t\u00e9.{sig}",
        "A" * 3000,
    ):
        resp = api.list({"userId": "u1", "cursor": bad})
        assert resp["statusCode"] == 400, bad
        assert body_of(resp)["errors"] == [
            {"field": "cursor", "reason": "is not a cursor issued for this query"}
        ]


def test_cursor_of_another_user_is_400(api):
    cursor = _cursor(api, "u1")
    _seed(api, "u2", 2)
    assert api.list({"userId": "u2", "cursor": cursor})["statusCode"] == 400


def test_cursor_of_another_partner_is_400_and_leaks_nothing(api, other):
    cursor = _cursor(api, "u1")
    resp = other.list({"userId": "u1", "cursor": cursor})
    assert resp["statusCode"] == 400
    assert "u1-" not in resp["body"]
    assert body_of(other.list({"userId": "u1"})) == {"items": [], "nextCursor": None}


def test_cursor_key_is_read_once_per_container(api, monkeypatch):
    from apikit import clients, cursor

    _seed(api, "u1", 3)
    calls = []
    secrets = clients.client("secretsmanager")
    original = secrets.get_secret_value

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(secrets, "get_secret_value", spy)
    cursor.reset_cache()
    first = body_of(api.list({"userId": "u1", "limit": "1"}))["nextCursor"]
    second = body_of(api.list({"userId": "u1", "limit": "1", "cursor": first}))["nextCursor"]
    body_of(api.list({"userId": "u1", "limit": "1", "cursor": second}))
    assert calls == [{"SecretId": "items-test-cursor-key", "VersionStage": "AWSCURRENT"}]
