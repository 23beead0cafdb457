"""GetUsage on the patched moto server over HTTP (boto3): AWS's request checks, response shape and
paging, with a stand-in for the gateway's counters (the gateway's own are tested in
tests/embedded_stack/apigateway/test_authorizer_http.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from botocore.exceptions import ClientError

from embedded_stack.moto_server import patches as moto_patches
from embedded_stack.moto_server import usage as moto_usage


class Recorder:
    """Answers like the gateway: the keys it was asked about that have usage, one entry per day."""

    def __init__(self, used: dict[str, int]) -> None:
        self.used = used
        self.queries: list[dict[str, Any]] = []

    def __call__(self, usage_plan_id: str, **query: Any) -> dict[str, list[list[int]]]:
        self.queries.append({"usage_plan_id": usage_plan_id, **query})
        days = (query["end"] - query["start"]).days + 1
        return {k: [[self.used[k], 100 - self.used[k]]] * days for k in query["key_ids"] if k in self.used}


@pytest.fixture
def plan(aws: Any) -> dict[str, Any]:
    client = aws("apigateway")
    api_id = client.create_rest_api(name="usage-test")["id"]
    plan_id = client.create_usage_plan(
        name="usage-test", apiStages=[], quota={"limit": 100, "period": "WEEK", "offset": 0}
    )["id"]
    keys = [client.create_api_key(name=f"usage-{i}", enabled=True)["id"] for i in range(3)]
    for key in keys:
        client.create_usage_plan_key(usagePlanId=plan_id, keyId=key, keyType="API_KEY")
    return {"client": client, "api_id": api_id, "plan_id": plan_id, "keys": sorted(keys)}


@pytest.fixture
def recorder(plan: dict[str, Any]) -> Iterator[Recorder]:
    recorder = Recorder({plan["keys"][0]: 5, plan["keys"][2]: 1})
    moto_usage.set_provider(recorder)
    yield recorder
    moto_usage.set_provider(None)


def test_usage_by_key_and_day_from_the_provider(plan, recorder):
    client, plan_id, keys = plan["client"], plan["plan_id"], plan["keys"]
    usage = client.get_usage(usagePlanId=plan_id, startDate="2026-11-01", endDate="2026-11-03")
    assert (usage["usagePlanId"], usage["startDate"], usage["endDate"]) == (
        plan_id,
        "2026-11-01",
        "2026-11-03",
    )
    assert usage["items"] == {keys[0]: [[5, 95]] * 3, keys[2]: [[1, 99]] * 3}  # keys[1] has no usage
    assert "position" not in usage
    query = recorder.queries[-1]
    assert query["quota"] == {"limit": 100, "period": "WEEK", "offset": 0}
    assert (query["start"], query["end"], query["key_ids"]) == (date(2026, 11, 1), date(2026, 11, 3), keys)
    one = client.get_usage(usagePlanId=plan_id, keyId=keys[2], startDate="2026-11-01", endDate="2026-11-01")
    assert one["items"] == {keys[2]: [[1, 99]]}


def test_usage_pages_by_position(plan, recorder):
    client, plan_id, keys = plan["client"], plan["plan_id"], plan["keys"]
    first = client.get_usage(usagePlanId=plan_id, startDate="2026-11-01", endDate="2026-11-01", limit=1)
    assert list(first["items"]) == [keys[0]]
    second = client.get_usage(
        usagePlanId=plan_id, startDate="2026-11-01", endDate="2026-11-01", limit=1, position=first["position"]
    )
    assert list(second["items"]) == [keys[2]]
    assert "position" not in second


def test_without_a_gateway_nothing_was_used(plan):
    usage = plan["client"].get_usage(
        usagePlanId=plan["plan_id"], startDate="2026-11-01", endDate="2026-11-30"
    )
    assert usage["items"] == {}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"startDate": "2026-11-1", "endDate": "2026-11-02"}, "BadRequestException"),
        ({"startDate": "20261101", "endDate": "2026-11-02"}, "BadRequestException"),
        ({"startDate": "2026-11-31", "endDate": "2026-12-02"}, "BadRequestException"),
        ({"startDate": "2026-11-03", "endDate": "2026-11-02"}, "BadRequestException"),
        ({"startDate": "2026-11-01", "endDate": "2026-11-02", "limit": 0}, "BadRequestException"),
        ({"startDate": "2026-11-01", "endDate": "2026-11-02", "limit": 501}, "BadRequestException"),
        ({"startDate": "2026-11-01", "endDate": "2026-11-02", "position": "x"}, "BadRequestException"),
        ({"startDate": "2026-11-01", "endDate": "2026-11-02", "usagePlanId": "nope"}, "NotFoundException"),
    ],
)
def test_bad_requests_are_refused_as_aws_does(plan, recorder, params, code):
    params = {"usagePlanId": plan["plan_id"], **params}
    with pytest.raises(ClientError) as raised:
        plan["client"].get_usage(**params)
    assert raised.value.response["Error"]["Code"] == code


def test_the_patch_refuses_a_moto_that_implements_get_usage(monkeypatch, moto_server):
    # Installed already (start_moto), so moto now "has" get_usage: what a future moto would look like.
    monkeypatch.setattr(moto_usage, "_installed", False)
    with pytest.raises(moto_patches.MotoPatchError, match="GetUsage"):
        moto_usage.install()
