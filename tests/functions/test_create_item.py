"""POST /items: creation, validation, conflicts, size limits."""

from __future__ import annotations

import json

from tests.support.events import body_of


def test_create_returns_201_with_the_item_and_generates_an_id(api):
    resp = api.create({"userId": "u1", "name": "first", "info": {"color": "red", "n": 1.5, "ok": True}})
    assert resp["statusCode"] == 201
    item = body_of(resp)
    assert set(item) == {"id", "userId", "name", "info", "version", "createdAt", "updatedAt"}
    assert item["version"] == 1 and item["info"] == {"color": "red", "n": 1.5, "ok": True}
    assert item["createdAt"].endswith("Z") and item["createdAt"] == item["updatedAt"]
    assert resp["headers"]["ETag"] == '"1"'
    assert body_of(api.get(item["id"])) == item


def test_create_with_client_id_and_default_info(api):
    item = body_of(api.create({"id": "abc-1", "userId": "u1", "name": "n"}))
    assert item["id"] == "abc-1" and item["info"] == {}


def test_existing_id_is_409_and_not_overwritten(api):
    api.create({"id": "dup", "userId": "u1", "name": "original"})
    resp = api.create({"id": "dup", "userId": "u2", "name": "overwrite"})
    assert resp["statusCode"] == 409
    assert "already exists" in body_of(resp)["message"]
    assert body_of(api.get("dup"))["name"] == "original"


def test_the_table_stores_keys_scoped_by_partner(api, aws):
    api.create({"id": "k1", "userId": "u1", "name": "n"})
    stored = aws.scan(TableName="items-test")["Items"][0]
    assert stored["PK"]["S"] == f"P#{api.partner}#I#k1"
    assert stored["SK"]["S"] == "ITEM"
    assert stored["GSI1PK"]["S"] == f"P#{api.partner}#U#u1"
    assert stored["GSI1SK"]["S"].endswith("#k1")
    assert stored["partnerId"]["S"] == api.partner and stored["entity"]["S"] == "item"


def test_validation_errors_list_every_field(api):
    resp = api.create({"id": "bad id!", "name": 5, "extra": 1})
    assert resp["statusCode"] == 400
    errors = body_of(resp)["errors"]
    assert {"field": "extra", "reason": "unknown field"} in errors
    assert {"field": "userId", "reason": "is required"} in errors
    assert {"field": "name", "reason": "must be of type string"} in errors
    assert any(e["field"] == "id" and e["reason"].startswith("must match") for e in errors)


def test_wrong_types_and_non_object_bodies_are_400(api):
    for body in ([1, 2], "text", 3, None):
        resp = api.create(body, raw_body=json.dumps(body))
        assert resp["statusCode"] == 400, body
    resp = api.create({"userId": "u1", "name": "n", "info": [1]})
    assert body_of(resp)["errors"] == [{"field": "info", "reason": "must be of type object"}]


def test_malformed_json_duplicate_keys_and_nan_are_400(api):
    for raw in (
        '{"userId": "u1", "name": ',
        '{"userId": "u1", "userId": "u2", "name": "n"}',
        '{"userId": "u1", "name": "n", "info": {"x": NaN}}',
        "",
    ):
        resp = api.create(None, raw_body=raw)
        assert resp["statusCode"] == 400, raw
        assert "message" in body_of(resp)


def test_numbers_dynamodb_cannot_store_are_400(api):
    resp = api.create(None, raw_body='{"userId": "u1", "name": "n", "info": {"big": 1' + "2" * 38 + "}}")
    assert resp["statusCode"] == 400
    assert body_of(resp)["errors"][0] == {"field": "info.big", "reason": "at most 38 significant digits"}
    resp = api.create(None, raw_body='{"userId": "u1", "name": "n", "info": {"big": 1e126}}')
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "info.big"
    # Trailing zeroes are not precision (DynamoDB trims them): 10**40 is one significant digit.
    resp = api.create(None, raw_body='{"userId": "u1", "name": "n", "info": {"big": 1' + "0" * 40 + "}}")
    assert resp["statusCode"] == 201 and body_of(resp)["info"]["big"] == 10**40


def test_content_type_must_be_json(api):
    body = {"userId": "u1", "name": "n"}
    assert api.create(body, content_type="text/plain")["statusCode"] == 415
    assert api.create(body, content_type=None)["statusCode"] == 415
    assert api.create(body, content_type="application/json; charset=latin-1")["statusCode"] == 415
    assert api.create(body, content_type="application/json; charset=UTF-8")["statusCode"] == 201
    assert (
        api.create(body, headers={"content-type": "Application/JSON"}, content_type=None)["statusCode"] == 201
    )


def test_base64_encoded_bodies_are_decoded(api):
    resp = api.create({"userId": "u1", "name": "héllo"}, base64_body=True)
    assert resp["statusCode"] == 201 and body_of(resp)["name"] == "héllo"
    resp = api.create(None, raw_body="%%%notbase64", base64_body=False)
    assert resp["statusCode"] == 400


def _body_of_size(size: int) -> str:
    base = json.dumps({"userId": "u1", "name": "n", "info": {"pad": ""}})
    return base.replace('"pad": ""', '"pad": "' + "x" * (size - len(base)) + '"')


def test_body_limit_is_64_kib(api):
    # info is capped at 32 KiB, so a 64 KiB body that is otherwise valid fails on info (413 either way);
    # the raw limit is checked before parsing.
    resp = api.create(None, raw_body=_body_of_size(64 * 1024 + 1))
    assert resp["statusCode"] == 413
    assert "body exceeds 65536 bytes" in body_of(resp)["message"]
    resp = api.create(None, raw_body=" " * (64 * 1024 - 30) + '{"userId":"u1","name":"n"}')
    assert resp["statusCode"] == 201


def test_info_limit_is_32_kib_serialized(api):
    def info_of(size: int) -> dict:
        return {"p": "x" * (size - len('{"p":""}'))}

    assert api.create({"userId": "u1", "name": "n", "info": info_of(32 * 1024)})["statusCode"] == 201
    resp = api.create({"userId": "u1", "name": "n", "info": info_of(32 * 1024 + 1)})
    assert resp["statusCode"] == 413
    assert body_of(resp)["errors"][0]["field"] == "info"


def test_missing_api_key_identity_is_403_json(api):
    resp = api.create({"userId": "u1", "name": "n"}, partner=None)
    assert resp["statusCode"] == 403
    assert body_of(resp) == {"message": "Forbidden"}


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_nesting_is_limited_to_dynamodbs_32_levels(api):
    """DynamoDB's 32 levels count the scalar at the bottom: 31 nested maps pass, 32 are refused."""
    assert api.create({"userId": "u1", "name": "n", "info": _nested(31)})["statusCode"] == 201
    resp = api.create({"userId": "u1", "name": "n", "info": _nested(32)})
    assert resp["statusCode"] == 400 and "at most 31 nested" in body_of(resp)["errors"][0]["reason"]
    resp = api.create(None, raw_body='{"userId": "u1", "name": "n", "info": ' + "[" * 5000 + "]" * 5000 + "}")
    assert resp["statusCode"] == 400


def test_empty_keys_and_lone_surrogates_are_400_not_5xx(api):
    resp = api.create({"userId": "u1", "name": "n", "info": {"": 1}})
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "info"
    resp = api.create(None, raw_body='{"userId": "u1", "name": "\\ud800"}')
    assert resp["statusCode"] == 400
    resp = api.create(None, raw_body='{"userId": "u1", "name": "ok \\ud83d\\ude00"}')
    assert resp["statusCode"] == 201 and body_of(resp)["name"] == "ok 😀"


def test_invalid_utf8_body_is_400(api):
    import base64

    raw = base64.b64encode(b'{"userId": "u1", "name": "\xff"}').decode()
    resp = api.create(None, raw_body=raw, base64_body=False, headers={})
    assert resp["statusCode"] == 400  # not base64-flagged: invalid JSON text
    from tests.support.events import FakeContext, api_event
    from tests.support.inprocess import load_handler

    event = api_event("POST", "/items", raw_body=raw)
    event["isBase64Encoded"] = True
    resp = load_handler("create_item")(event, FakeContext())
    assert resp["statusCode"] == 400 and "UTF-8" in body_of(resp)["message"]
