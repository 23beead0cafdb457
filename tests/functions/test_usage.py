"""GET /usage (functions/usage, apikit.usage): the plan from moto's GetUsagePlan, the usage from a
stubbed GetUsage (moto lacks it), the period arithmetic, the cache and the control-plane budget."""

from __future__ import annotations

from datetime import UTC, date, datetime

import boto3
import pytest
from apikit import usage

from tests.support.events import FakeContext, api_event, body_of
from tests.support.inprocess import load_handler


@pytest.fixture
def plan(aws):
    """A usage plan in moto (GetUsagePlan is real); the authorizer's context names it."""
    usage.reset_cache()
    apigw = boto3.client("apigateway", region_name="eu-west-1")
    created = apigw.create_usage_plan(
        name="items-test-generous",
        throttle={"rateLimit": 100.0, "burstLimit": 200},
        quota={"limit": 1000, "period": "DAY"},
    )
    yield created["id"]
    usage.reset_cache()


class FakeUsage:
    """GetUsage as AWS documents it: per key id, one [used, remaining] per day of the range."""

    def __init__(self, items: dict[str, list[list[int]]]) -> None:
        self.items = items
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return {
            "usagePlanId": kwargs["usagePlanId"],
            "startDate": kwargs["startDate"],
            "endDate": kwargs["endDate"],
            "items": self.items,
        }


@pytest.fixture
def get_usage(monkeypatch, plan):
    from apikit import clients

    fake = FakeUsage({"key-1": [[12, 988]], "key-other": [[500, 500]]})
    monkeypatch.setattr(clients.client("apigateway"), "get_usage", fake)
    return fake


def _call(plan_id: str, *, scope: str = "read-write", key_id: str = "key-1", query=None) -> dict:
    event = api_event("GET", "/usage", query=query, scope=scope)
    event["requestContext"]["authorizer"].update({"apiKeyId": key_id, "usagePlanId": plan_id})
    return load_handler("usage")(event, FakeContext())


def test_usage_reports_the_plan_throttle_and_the_keys_quota_use(plan, get_usage):
    answer = _call(plan)
    assert answer["statusCode"] == 200, answer
    body = body_of(answer)
    today = datetime.now(UTC).date()
    assert body["partner"] == "a1b2c3d4e5"
    assert body["key"] == {"name": "primary", "scope": "read-write"}
    assert body["plan"] == {"id": plan, "name": "items-test-generous"}
    assert body["throttle"] == {"rateLimit": 100.0, "burstLimit": 200}
    quota = body["quota"]
    assert {k: quota[k] for k in ("limit", "period", "used", "remaining")} == {
        "limit": 1000,
        "period": "DAY",
        "used": 12,
        "remaining": 988,
    }
    assert quota["periodStart"] == f"{today.isoformat()}T00:00:00Z"
    assert quota["resetsAt"] > quota["periodStart"] and quota["asOf"].endswith("Z")
    (call,) = get_usage.calls
    assert call["usagePlanId"] == plan and call["keyId"] == "key-1"
    assert call["startDate"] == call["endDate"] == today.isoformat()


def test_any_scope_may_call_it(plan, get_usage):
    assert _call(plan, scope="read-only")["statusCode"] == 200


def test_it_takes_no_query_parameters(plan, get_usage):
    answer = _call(plan, query={"keyId": "key-other"})
    assert answer["statusCode"] == 400
    assert body_of(answer)["errors"] == [{"field": "keyId", "reason": "unknown parameter"}]
    assert get_usage.calls == []


def test_without_the_key_and_plan_in_the_authorizers_context_it_is_403(plan, get_usage):
    event = api_event("GET", "/usage")
    for name in ("apiKeyId", "usagePlanId"):
        del event["requestContext"]["authorizer"][name]
    assert load_handler("usage")(event, FakeContext())["statusCode"] == 403


def test_a_key_without_usage_yet_has_its_whole_quota(plan, monkeypatch):
    from apikit import clients

    monkeypatch.setattr(clients.client("apigateway"), "get_usage", FakeUsage({}))
    quota = body_of(_call(plan))["quota"]
    assert (quota["used"], quota["remaining"]) == (0, 1000)


def test_answers_are_cached_briefly_per_container(plan, get_usage, monkeypatch):
    for _ in range(5):
        assert _call(plan)["statusCode"] == 200
    assert len(get_usage.calls) == 1
    clock = usage.time.monotonic
    monkeypatch.setattr(usage.time, "monotonic", lambda: clock() + usage.USAGE_SECONDS + 1)
    get_usage.items["key-1"] = [[20, 980]]
    assert body_of(_call(plan))["quota"]["used"] == 20
    assert len(get_usage.calls) == 2


def test_the_control_plane_is_called_at_a_bounded_rate(plan, get_usage):
    """Many keys polling at once: past the burst, nothing cached -> 503 with Retry-After."""
    statuses = [_call(plan, key_id=f"key-{i}")["statusCode"] for i in range(10)]
    assert statuses.count(200) <= int(usage.CALLS_BURST)
    refused = _call(plan, key_id="key-99")
    assert refused["statusCode"] == 503 and 1 <= int(refused["headers"]["Retry-After"]) <= 3
    calls = len(get_usage.calls)
    assert _call(plan, key_id="key-0")["statusCode"] == 200  # cached: costs no call
    assert len(get_usage.calls) == calls


def test_a_throttled_control_plane_is_503(plan, monkeypatch):
    from apikit import clients
    from botocore.exceptions import ClientError

    def throttled(**_kw):
        raise ClientError({"Error": {"Code": "TooManyRequestsException"}}, "GetUsage")

    monkeypatch.setattr(clients.client("apigateway"), "get_usage", throttled)
    answer = _call(plan)
    assert answer["statusCode"] == 503 and "Retry-After" in answer["headers"]


def test_used_sums_the_days_of_the_period_and_remaining_is_the_latest(plan, monkeypatch):
    from apikit import clients

    fake = FakeUsage({"key-1": [[10, 990], [0, 990], [5, 985]]})
    monkeypatch.setattr(clients.client("apigateway"), "get_usage", fake)
    report = usage.report(plan, "key-1", now=datetime(2026, 12, 3, 9, tzinfo=UTC))
    assert (report["quota"]["used"], report["quota"]["remaining"]) == (15, 985)


@pytest.mark.parametrize(
    ("period", "now", "start", "resets"),
    [
        ("DAY", datetime(2026, 11, 25, 23, 59, tzinfo=UTC), date(2026, 11, 25), "2026-11-26T00:00:00"),
        ("WEEK", datetime(2026, 11, 25, 12, tzinfo=UTC), date(2026, 11, 22), "2026-11-29T00:00:00"),
        ("WEEK", datetime(2026, 11, 22, 0, 0, tzinfo=UTC), date(2026, 11, 22), "2026-11-29T00:00:00"),
        ("MONTH", datetime(2026, 12, 31, 12, tzinfo=UTC), date(2026, 12, 1), "2027-01-01T00:00:00"),
        ("MONTH", datetime(2027, 2, 1, 0, 0, tzinfo=UTC), date(2027, 2, 1), "2027-03-01T00:00:00"),
    ],
)
def test_quota_periods_in_utc(period, now, start, resets):
    found = usage.period_of(period, now)
    assert found.start == start and found.resets_at.isoformat() == f"{resets}+00:00"


def test_a_plan_without_quota_or_throttle_reports_null(aws, monkeypatch):
    usage.reset_cache()
    apigw = boto3.client("apigateway", region_name="eu-west-1")
    bare = apigw.create_usage_plan(name="bare")["id"]
    report = usage.report(bare, "key-1")
    assert report["quota"] is None and report["throttle"] is None
