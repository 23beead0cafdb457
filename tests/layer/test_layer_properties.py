"""Property-based tests (hypothesis) of the codec and the parsers of apikit.http (issue 11, finding 4).

The codec must refuse (400, naming the field) exactly what DynamoDB would refuse, judged by an
independent reading of AWS's limits (tests/support/strict_dynamodb.py), and round-trip the rest.
The parsers of what a client sends (If-Match, Idempotency-Key, bodies, whole proxy events) may only
answer or raise ApiError: anything else would reach the client as a 500.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import time

from apikit import codec, idempotency
from apikit.errors import ApiError, BadRequest
from apikit.http import Request, endpoint, response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import strategies as s
from tests.support import strict_dynamodb
from tests.support.events import PARTNER_A, FakeContext, api_event, authorizer_context

# Derandomized and without a database: the same examples on every run and machine (no flaky CI).
FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
EVENTS = settings(
    FAST, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


@FAST
@given(s.info_values)
def test_codec_refuses_exactly_what_dynamodb_refuses_and_round_trips_the_rest(info):
    try:
        wire = codec.to_wire(info, "info")
    except BadRequest as refused:
        assert refused.errors and refused.errors[0]["field"].startswith("info")
        return
    assert strict_dynamodb.value_error(wire) is None, "DynamoDB would refuse what the codec let through"
    assert _same(codec.from_wire(wire), info)


@FAST
@given(s.numbers)
def test_every_number_the_codec_accepts_dynamodb_accepts_and_the_converse(number):
    text = str(number) if isinstance(number, int) else repr(number)
    accepted = strict_dynamodb.number_error(text) is None
    try:
        codec.to_wire(number, "n")
    except BadRequest:
        assert not accepted, f"{text} is a valid DynamoDB number"
        return
    assert accepted, f"DynamoDB refuses {text}"


decimal_texts = st.builds(
    lambda sign, digits, exponent: f"{sign}{digits[0]}.{digits[1:]}E{exponent}",
    st.sampled_from(["", "-"]),
    st.from_regex(r"\A[1-9][0-9]{0,44}\Z"),
    st.integers(min_value=-135, max_value=130),
)


@FAST
@given(decimal_texts)
def test_number_limits_are_exact_decimals_not_floats(text):
    assert (codec.number_problem(text) is None) == (strict_dynamodb.number_error(text) is None)


@FAST
@given(s.header_values)
def test_if_match_parses_or_is_400(header):
    request = Request(event={}, context=None, partner="p1", headers={"if-match": header})
    try:
        version = request.if_match()
    except BadRequest:
        return
    assert version is None or (isinstance(version, int) and version >= 0)


@FAST
@given(st.text(max_size=200))
def test_idempotency_key_is_checked_or_400(key):
    with contextlib.suppress(BadRequest):
        assert idempotency.check_key(key) == key


@FAST
@given(s.raw_bodies, s.content_types, st.booleans())
def test_json_body_parses_or_is_a_4xx(body, content_type, as_base64):
    raw = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode() if as_base64 else body
    request = Request(
        event={"body": raw, "isBase64Encoded": as_base64},
        context=None,
        partner="p1",
        headers={"content-type": content_type},
    )
    try:
        document = request.json_body()
    except ApiError as refused:
        assert 400 <= refused.status < 500
        return
    json.dumps(document)


@endpoint
def _echo(request: Request) -> dict:
    """A route that reads everything a client controls, as the real handlers do."""
    request.if_match()
    key = request.header("idempotency-key")
    if key is not None:
        idempotency.check_key(key)
    request.query_params(allowed={"userId", "limit", "cursor", "ids"})
    if request.path_params:
        request.item_id()
    if request.event.get("body") is not None:
        request.json_body()
    return response(200, {"ok": True})


@EVENTS
@given(
    headers=st.dictionaries(
        st.sampled_from(["If-Match", "Idempotency-Key", "Content-Type", "Origin", "x-odd"]), s.header_values
    ),
    query=st.dictionaries(st.sampled_from(["userId", "limit", "cursor", "ids", "other"]), s.query_values),
    item_id=st.one_of(st.none(), s.ids),
    body=st.one_of(st.none(), s.raw_bodies),
    as_base64=st.booleans(),
)
def test_no_proxy_event_a_client_can_cause_is_a_5xx(headers, query, item_id, body, as_base64):
    event = api_event(
        "PATCH" if item_id is not None else "GET",
        "/items/{id}" if item_id is not None else "/items",
        path_params={"id": item_id} if item_id is not None else None,
        query=query,
        raw_body=body,
        headers=headers,
        content_type=None,
        base64_body=as_base64,
    )
    if as_base64 and body is not None:
        event["body"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    answer = _echo(event, FakeContext(5000))
    assert answer["statusCode"] < 500, answer
    assert json.loads(answer["body"])


def test_deadline_of_an_event_without_request_time_still_counts_lambdas():
    started = time.monotonic()
    assert (
        _echo(
            {"httpMethod": "GET", "requestContext": {"authorizer": authorizer_context(PARTNER_A)}},
            FakeContext(5000),
        )["statusCode"]
        == 200
    )
    assert time.monotonic() - started < 1
