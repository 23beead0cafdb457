"""Partners, not keys, over HTTP: several keys of one partner share its data, a read-only key cannot
write, disabling a key cuts off that key only, GET /usage counts, and cursors survive a key rotation.

The stage must give one partner two read-write keys and a read-only one (terraform/stages/local.json).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.e2e.client import Api, message, new_item
from tests.e2e.targets import Key, Partner, StackInfo

pytestmark = pytest.mark.e2e

POLL_S = 0.25


def _until(check: Any, deadline_s: float, what: str) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}", pytrace=False)
        time.sleep(POLL_S)


@pytest.fixture(scope="module")
def keyed(stack: StackInfo) -> Partner:
    """The partner with two read-write keys and a read-only one."""
    for partner in stack.partners.values():
        if len(partner.with_scope("read-write")) >= 2 and partner.with_scope("read-only"):
            return partner
    pytest.skip(f"{stack.target}: no partner has two read-write keys and a read-only key")


def _as(stack: StackInfo, partner: Partner, key: Key) -> Api:
    return Api(stack.api_url, partner, key_override=key.api_key)


@pytest.fixture(scope="module")
def first(stack, keyed) -> Api:
    return _as(stack, keyed, keyed.with_scope("read-write")[0])


@pytest.fixture(scope="module")
def second(stack, keyed) -> Api:
    return _as(stack, keyed, keyed.with_scope("read-write")[1])


@pytest.fixture(scope="module")
def reader(stack, keyed) -> Api:
    return _as(stack, keyed, keyed.with_scope("read-only")[0])


@pytest.fixture(scope="module")
def stranger(stack, keyed) -> Api:
    other = next(p for p in stack.partners.values() if p.name != keyed.name and p.burst_limit >= 20)
    return Api(stack.api_url, other)


def _aws(stack: StackInfo, service: str) -> Any:
    if stack.target != "aws" and not stack.aws_endpoint_url:
        pytest.skip(f"{stack.target}: no AWS endpoint to reach the control plane")
    return boto3.client(
        service,
        endpoint_url=stack.aws_endpoint_url,
        region_name=stack.region,
        **({"aws_access_key_id": "e2e", "aws_secret_access_key": "e2e"} if stack.aws_endpoint_url else {}),
    )


def test_two_keys_of_one_partner_see_the_same_items_and_another_partner_none(
    first, second, stranger, user_id
):
    created = first.create(new_item(user_id, name="shared"))
    assert created.status_code == 201, created.text
    item = created.json()
    assert second.get(item["id"]).json() == item
    patched = second.patch(item["id"], {"name": "changed by the second key"}, if_match='"1"')
    assert patched.status_code == 200, patched.text
    assert first.get(item["id"]).json()["name"] == "changed by the second key"
    assert [i["id"] for i in second.list(user_id).json()["items"]] == [item["id"]]
    assert stranger.get(item["id"]).status_code == 404
    assert stranger.list(user_id).json() == {"items": [], "nextCursor": None}
    assert second.delete(item["id"]).status_code == 204
    assert first.get(item["id"]).status_code == 404


def test_a_read_only_key_reads_and_every_write_is_refused_with_nothing_written(first, reader, user_id):
    item = first.create(new_item(user_id, name="before")).json()
    assert reader.get(item["id"]).json() == item
    assert reader.list(user_id).json()["items"] == [item]
    assert reader.batch_get([item["id"]]).json() == {"items": [item], "missing": []}
    writes = [
        reader.create(new_item(user_id, name="written by a reader")),
        reader.patch(item["id"], {"name": "written by a reader"}),
        reader.delete(item["id"]),
        reader.batch_write([new_item(user_id, name="written by a reader")]),
        reader.batch_write([new_item(user_id, name="written by a reader")], atomic=True),
    ]
    for response in writes:
        assert response.status_code == 403, (response.request.method, response.request.url, response.text)
        assert isinstance(message(response), str) and message(response)
    assert first.get(item["id"]).json() == item
    assert first.list(user_id).json()["items"] == [item]


def test_disabling_a_key_refuses_it_within_seconds_and_the_partners_other_key_keeps_working(
    stack, keyed, first, user_id
):
    """The operator's 3 a.m. command, aws apigateway update-api-key ... /enabled false, with boto3."""
    victim = keyed.with_scope("read-write")[1]
    assert victim.api_key_id, "stack.json names each key's id"
    apigw = _aws(stack, "apigateway")
    doomed = _as(stack, keyed, victim)
    item = first.create(new_item(user_id, name="survives")).json()
    assert doomed.get(item["id"]).status_code == 200  # the authorizer's answer is now cached
    patch = [{"op": "replace", "path": "/enabled", "value": "false"}]
    apigw.update_api_key(apiKey=victim.api_key_id, patchOperations=patch)
    try:
        disabled_at = time.monotonic()
        _until(lambda: doomed.get(item["id"]).status_code == 403, 5 if stack.target == "local" else 60, "403")
        assert time.monotonic() - disabled_at <= (5 if stack.target == "local" else 60)
        refused = doomed.get(item["id"])
        assert refused.status_code == 403 and message(refused)
        assert first.get(item["id"]).json() == item  # the partner's other key, and its data, untouched
        assert first.create(new_item(user_id, name="still writing")).status_code == 201
    finally:
        patch = [{"op": "replace", "path": "/enabled", "value": "true"}]
        apigw.update_api_key(apiKey=victim.api_key_id, patchOperations=patch)
    _until(lambda: doomed.get(item["id"]).status_code == 200, 60, "the re-enabled key to work again")


def _usage(api: Api) -> dict[str, Any]:
    response = api.request("GET", "/usage")
    assert response.status_code == 200, response.text
    return response.json()


def test_usage_counts_requests_and_reports_the_remaining_quota(keyed, first, reader):
    before = _usage(first)
    assert before["partner"] == keyed.name
    assert before["key"] == {"name": keyed.with_scope("read-write")[0].name, "scope": "read-write"}
    assert before["throttle"] == {"rateLimit": keyed.rate_limit, "burstLimit": keyed.burst_limit}
    quota = before["quota"]
    assert (quota["limit"], quota["period"]) == (keyed.quota_limit, keyed.quota_period)
    assert quota["used"] + quota["remaining"] == quota["limit"]
    if quota["period"] == "DAY":
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        assert quota["resetsAt"] in (f"{tomorrow}T00:00:00Z", f"{tomorrow + timedelta(days=1)}T00:00:00Z")
    made = 5
    for _ in range(made):
        first.get("usage-probe")

    def counted() -> dict[str, Any] | None:
        now = _usage(first)["quota"]
        return now if now["used"] >= quota["used"] + made else None

    after = _until(counted, 60, f"GET /usage to count {made} more requests")
    assert after["remaining"] == after["limit"] - after["used"] < quota["remaining"]
    # Quotas are per key: the read-only key has its own counters, and may call /usage too.
    assert _usage(reader)["key"]["scope"] == "read-only"


def _kid(cursor: str) -> str:
    return cursor.split(".", maxsplit=1)[0]


def test_a_cursor_in_flight_survives_a_cursor_key_rotation(stack, first, user_id):
    from scripts import cursor_key

    secret_id = stack.raw.get("cursor_secret_id")
    if not secret_id:
        pytest.skip(f"{stack.target}: no cursor_secret_id in the stack description")
    secrets = _aws(stack, "secretsmanager")
    wait_s = 30 if stack.target == "local" else 330  # the stage's cursor_key.cache_seconds, plus slack
    for i in range(4):
        assert first.create(new_item(user_id, name=f"page {i}")).status_code == 201
    in_flight = first.list(user_id, limit=1).json()["nextCursor"]
    rotated = cursor_key.rotate(secrets, secret_id, min_age_s=0)
    assert rotated["previous"] == _kid(in_flight)

    def signed_with_the_new_key() -> str | None:
        cursor = first.list(user_id, limit=1).json()["nextCursor"]
        return cursor if _kid(cursor) == rotated["current"] else None

    fresh = _until(signed_with_the_new_key, wait_s, "new cursors signed with the new key")
    page = first.list(user_id, limit=1, cursor=in_flight)
    assert page.status_code == 200, page.text  # the previous key still verifies
    assert len(page.json()["items"]) == 1 and _kid(page.json()["nextCursor"]) == rotated["current"]
    assert cursor_key.retire(secrets, secret_id, min_age_s=0)["retired"] == _kid(in_flight)
    _until(
        lambda: first.list(user_id, limit=1, cursor=in_flight).status_code == 400,
        wait_s,
        "the retired key's cursor to be refused",
    )
    assert first.list(user_id, limit=1, cursor=fresh).status_code == 200
