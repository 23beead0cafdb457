"""POST /batch and GET /batch: validation before writing, 25-chunks, 207s, atomic, 100-id limits."""

from __future__ import annotations

import json

import pytest

from tests.support.events import body_of


def _items(n, prefix="b", user="u1", with_ids=True):
    return [
        {"id": f"{prefix}{i}", "userId": user, "name": f"n{i}"}
        if with_ids
        else {"userId": user, "name": f"n{i}"}
        for i in range(n)
    ]


def _count(aws):
    return len([i for i in aws.scan(TableName="items-test")["Items"] if i["entity"]["S"] == "item"])


@pytest.mark.parametrize("count", [1, 25, 26, 100])
def test_batch_write_all_written_is_201(api, aws, count):
    resp = api.batch_write({"items": _items(count)})
    assert resp["statusCode"] == 201
    body = body_of(resp)
    assert body == {"written": [f"b{i}" for i in range(count)], "failed": []}
    assert _count(aws) == count


def test_batch_write_generates_ids(api):
    body = body_of(api.batch_write({"items": _items(3, with_ids=False)}))
    assert len(set(body["written"])) == 3
    got = body_of(api.batch_get(",".join(body["written"])))
    assert [i["name"] for i in got["items"]] == ["n0", "n1", "n2"]


def test_101_items_is_400_and_nothing_written(api, aws):
    resp = api.batch_write({"items": _items(101)})
    assert resp["statusCode"] == 400
    assert body_of(resp)["errors"] == [{"field": "items", "reason": "must have at most 100 entries"}]
    assert _count(aws) == 0


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [{"field": "items", "reason": "is required"}]),
        ({"items": []}, [{"field": "items", "reason": "must have at least 1 entries"}]),
        ({"items": _items(1), "atomic": "yes"}, [{"field": "atomic", "reason": "must be of type boolean"}]),
        ({"items": _items(1), "more": 1}, [{"field": "more", "reason": "unknown field"}]),
        ({"items": [1]}, [{"field": "items[0]", "reason": "must be of type object"}]),
    ],
)
def test_batch_body_errors(api, body, errors):
    resp = api.batch_write(body)
    assert resp["statusCode"] == 400 and body_of(resp)["errors"] == errors


def test_every_item_is_validated_before_anything_is_written(api, aws):
    items = _items(5)
    items[3]["name"] = 7
    del items[4]["userId"]
    items[1]["bogus"] = True
    resp = api.batch_write({"items": items})
    assert resp["statusCode"] == 400
    assert body_of(resp)["errors"] == [
        {"field": "items[1].bogus", "reason": "unknown field"},
        {"field": "items[3].name", "reason": "must be of type string"},
        {"field": "items[4].userId", "reason": "is required"},
    ]
    assert _count(aws) == 0


def test_duplicate_ids_in_a_batch_are_400(api, aws):
    items = _items(3)
    items[2]["id"] = "b0"
    resp = api.batch_write({"items": items})
    assert resp["statusCode"] == 400
    assert body_of(resp)["errors"] == [{"field": "items[2].id", "reason": "duplicates items[0].id"}]
    assert _count(aws) == 0


def test_batch_info_limit_names_the_item(api, aws):
    items = _items(2)
    items[1]["info"] = {"p": "x" * (32 * 1024)}
    resp = api.batch_write({"items": items})
    assert resp["statusCode"] == 413 and body_of(resp)["errors"][0]["field"] == "items[1].info"
    assert _count(aws) == 0


def test_batch_body_limit_is_1_mib(api):
    filler = " " * (1024 * 1024 - len(json.dumps({"items": _items(1)})))
    raw = json.dumps({"items": _items(1)}) + filler
    assert api.batch_write(None, raw_body=raw)["statusCode"] == 201
    assert api.batch_write(None, raw_body=raw + " ")["statusCode"] == 413


def test_batch_write_content_type(api):
    assert api.batch_write({"items": _items(1)}, content_type="text/csv")["statusCode"] == 415


def test_existing_ids_are_reported_failed_and_others_written(api, aws):
    api.create({"id": "b1", "userId": "u1", "name": "original"})
    resp = api.batch_write({"items": _items(3)})
    assert resp["statusCode"] == 207
    failed = [{"index": 1, "id": "b1", "reason": "exists"}]
    assert body_of(resp) == {"written": ["b0", "b2"], "failed": failed}
    assert body_of(api.get("b1"))["name"] == "original"


def test_atomic_writes_all(api, aws):
    resp = api.batch_write({"items": _items(100), "atomic": True})
    assert resp["statusCode"] == 201 and len(body_of(resp)["written"]) == 100
    assert _count(aws) == 100


def test_atomic_conflict_is_409_naming_ids_and_writes_nothing(api, aws):
    api.create({"id": "b2", "userId": "u1", "name": "original"})
    api.create({"id": "b4", "userId": "u1", "name": "original"})
    resp = api.batch_write({"items": _items(5), "atomic": True})
    assert resp["statusCode"] == 409
    body = body_of(resp)
    assert "b2" in body["message"] and "b4" in body["message"]
    assert body["errors"] == [
        {"field": "items[2].id", "reason": "already exists"},
        {"field": "items[4].id", "reason": "already exists"},
    ]
    assert _count(aws) == 2


def test_unprocessed_items_are_retried(api, aws):
    """DynamoDB may return UnprocessedItems; they are sent again until written (server ids)."""
    from apikit import clients

    ddb = clients.client("dynamodb")
    # moto never returns UnprocessedItems: drop the second half of the first call and report it.
    original = ddb.batch_write_item
    calls = []

    def flaky(**params):
        calls.append(params)
        table, requests = next(iter(params["RequestItems"].items()))
        if len(calls) == 1:
            keep, back = requests[: len(requests) // 2], requests[len(requests) // 2 :]
            out = original(RequestItems={table: keep})
            out["UnprocessedItems"] = {table: back}
            return out
        return original(**params)

    ddb.batch_write_item = flaky
    try:
        resp = api.batch_write({"items": _items(10, with_ids=False)})
    finally:
        del ddb.batch_write_item
    assert resp["statusCode"] == 201 and _count(aws) == 10
    assert len(calls) == 2 and len(calls[1]["RequestItems"]["items-test"]) == 5


def test_unprocessed_items_past_the_deadline_are_reported_failed_503_when_none_written(api, aws):
    from apikit import clients

    ddb = clients.client("dynamodb")

    def never(**params):
        return {"UnprocessedItems": params["RequestItems"]}

    ddb.batch_write_item = never
    try:
        resp = api.batch_write({"items": _items(30, with_ids=False)}, remaining_ms=1700)
    finally:
        del ddb.batch_write_item
    assert resp["statusCode"] == 503 and resp["headers"]["Retry-After"] in {"1", "2", "3"}
    body = body_of(resp)
    assert body["written"] == [] and len(body["failed"]) == 30
    assert [f["index"] for f in body["failed"]] == list(range(30))
    assert {f["reason"] for f in body["failed"]} == {"throttled"}


@pytest.mark.parametrize("count", [1, 100])
def test_batch_get_found_and_missing_in_request_order(api, count):
    api.batch_write({"items": _items(count)})
    ids = [f"b{i}" for i in reversed(range(count))]
    body = body_of(api.batch_get(",".join([*ids[:-1], "ghost"]) if count > 1 else "b0,ghost"))
    if count == 1:
        assert [i["id"] for i in body["items"]] == ["b0"] and body["missing"] == ["ghost"]
    else:
        assert [i["id"] for i in body["items"]] == ids[:-1] and body["missing"] == ["ghost"]
    assert "PK" not in body["items"][0] and "partnerId" not in body["items"][0]


def test_batch_get_101_ids_is_400(api):
    assert api.batch_get(",".join(f"b{i}" for i in range(100)))["statusCode"] == 200
    resp = api.batch_get(",".join(f"b{i}" for i in range(101)))
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "ids"


def test_batch_get_deduplicates(api):
    api.batch_write({"items": _items(2)})
    body = body_of(api.batch_get("b1,b0,b1,ghost,ghost"))
    assert [i["id"] for i in body["items"]] == ["b1", "b0"] and body["missing"] == ["ghost"]


@pytest.mark.parametrize(
    ("ids", "field"), [("", "ids"), ("a,,b", "ids[1]"), ("a,b c", "ids[1]"), ("x" * 65, "ids[0]")]
)
def test_batch_get_bad_ids_are_400(api, ids, field):
    resp = api.batch_get(ids)
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == field


def test_batch_get_unknown_parameter_is_400(api):
    resp = api.call("batch_get", "GET", "/batch", query={"ids": "a", "x": "1"})
    assert resp["statusCode"] == 400


def test_batch_get_retries_unprocessed_keys(api):
    from apikit import clients

    api.batch_write({"items": _items(4)})
    ddb = clients.client("dynamodb")
    original = ddb.batch_get_item
    calls = []

    def flaky(**params):
        calls.append(params)
        table, spec = next(iter(params["RequestItems"].items()))
        if len(calls) == 1:
            out = original(RequestItems={table: {**spec, "Keys": spec["Keys"][:1]}})
            out["UnprocessedKeys"] = {table: {**spec, "Keys": spec["Keys"][1:]}}
            return out
        return original(**params)

    ddb.batch_get_item = flaky
    try:
        body = body_of(api.batch_get("b0,b1,b2,b3"))
    finally:
        del ddb.batch_get_item
    assert [i["id"] for i in body["items"]] == ["b0", "b1", "b2", "b3"] and len(calls) == 2


def test_batch_get_unprocessed_past_deadline_is_503(api):
    from apikit import clients

    ddb = clients.client("dynamodb")
    ddb.batch_get_item = lambda **p: {"Responses": {}, "UnprocessedKeys": p["RequestItems"]}
    try:
        resp = api.batch_get("b0", remaining_ms=1600)
    finally:
        del ddb.batch_get_item
    assert resp["statusCode"] == 503 and resp["headers"]["Retry-After"] in {"1", "2", "3"}
