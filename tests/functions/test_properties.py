"""Property-based tests (hypothesis) of the handlers: no client input is a 5xx, and a refused write
leaves nothing behind (issue 11, finding 4).

Against moto in process, made as strict as DynamoDB about what it stores
(tests/support/strict_dynamodb.py): a value our validation lets through and DynamoDB refuses shows
up here as a 400 from the ValidationException mapping, or as a stored item that DynamoDB would not
hold; both fail the properties below.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import strategies as s
from tests.support.events import PARTNER_A, body_of

HANDLERS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _snapshot(aws, ids=()) -> tuple[int, list]:
    """How many records the table holds, and the named items as stored (COUNT: no O(n) transfer)."""
    count = aws.scan(TableName="items-test", Select="COUNT", ConsistentRead=True)["Count"]
    named = [
        aws.get_item(
            TableName="items-test",
            Key={"PK": {"S": f"P#{PARTNER_A}#I#{i}"}, "SK": {"S": "ITEM"}},
            ConsistentRead=True,
        ).get("Item")
        for i in ids
        if isinstance(i, str) and i
    ]
    return count, named


def _refused_or_stored(response, before, after) -> None:
    assert response["statusCode"] < 500, response
    assert isinstance(body_of(response) or {}, dict)
    if response["statusCode"] >= 400:
        assert after == before, "a refused request changed the table"


def _ids_in(body) -> list:
    try:
        document = json.loads(body) if isinstance(body, str) else body
    except (ValueError, RecursionError):
        return []
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        return [i.get("id") for i in document["items"] if isinstance(i, dict)]
    return [document.get("id")] if isinstance(document, dict) else []


@HANDLERS
@given(body=s.raw_bodies, content_type=s.content_types, key=st.one_of(st.none(), s.header_values))
def test_create_item(api, aws, body, content_type, key):
    before = _snapshot(aws, _ids_in(body))
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = api.create(None, raw_body=body, content_type=content_type, headers=headers)
    _refused_or_stored(response, before, _snapshot(aws, _ids_in(body)))


@HANDLERS
@given(body=s.valid_item_bodies)
def test_create_item_well_formed_bodies(api, aws, body):
    """JSON-shaped bodies reach deeper: numbers, nesting, sizes at DynamoDB's limits."""
    before = _snapshot(aws, _ids_in(body))
    response = api.create(body)
    _refused_or_stored(response, before, _snapshot(aws, _ids_in(body)))
    if response["statusCode"] == 201:
        assert body_of(api.get(body_of(response)["id"]))["info"] == body.get("info", {})


@settings(HANDLERS, max_examples=30)
@given(
    if_match=st.one_of(st.none(), s.header_values),
    body=st.one_of(
        s.raw_bodies,
        st.fixed_dictionaries({}, optional={"name": st.text(), "info": s.info_values}).map(json.dumps),
    ),
)
def test_update_item(api, aws, if_match, body):
    api.create({"id": "p1", "userId": "u1", "name": "n"})  # 409 from the second example on
    before = _snapshot(aws, ["p1"])
    headers = {"If-Match": if_match} if if_match is not None else {}
    response = api.patch("p1", None, raw_body=body, headers=headers)
    _refused_or_stored(response, before, _snapshot(aws, ["p1"]))


@HANDLERS
@given(
    items=st.lists(s.item_bodies, min_size=1, max_size=4),
    atomic=st.booleans(),
    key=st.one_of(st.none(), s.header_values),
)
def test_batch_write(api, aws, items, atomic, key):
    body = {"items": items, "atomic": atomic}
    before = _snapshot(aws, _ids_in(body))
    headers = {"Idempotency-Key": key} if key is not None else {}
    response = api.batch_write(body, headers=headers)
    _refused_or_stored(response, before, _snapshot(aws, _ids_in(body)))


@HANDLERS
@given(query=st.dictionaries(st.sampled_from(["userId", "limit", "cursor", "other"]), s.query_values))
def test_list_items(api, query):
    response = api.list(query)
    assert response["statusCode"] < 500, response


@HANDLERS
@given(ids=st.text(max_size=300))
def test_batch_get(api, ids):
    assert api.batch_get(ids)["statusCode"] < 500


def test_a_unicode_digit_limit_is_400_not_500(api):
    """``"²".isdigit()`` is true and ``int("²")`` fails; ``"٣"`` was read as 3."""
    for limit in ("²", "٣", "1²", "\uff11\uff10"):  # the last: fullwidth "10"
        response = api.list({"userId": "u1", "limit": limit})
        assert response["statusCode"] == 400, limit
        assert body_of(response)["errors"] == [{"field": "limit", "reason": "must be an integer 1-100"}]
