"""Webhooks end to end over HTTP: a partner's receiver on 127.0.0.1 gets its own changes, signed.

Runs against the embedded stack (the `local` stage accepts http://127.0.0.1 endpoints): stream ->
webhook_fanout -> SNS FIFO -> SQS FIFO -> webhook_delivery -> the receiver below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.e2e.client import Api
from tests.e2e.targets import StackInfo
from tests.support.webhook_receiver import Delivery, Receiver

pytestmark = pytest.mark.e2e
ARRIVAL_S = 30
DRAIN_S = 300  # a loaded machine after the batch suites: thousands of events ahead of ours


@pytest.fixture(autouse=True)
def _receivers_reachable(stack: StackInfo) -> None:
    if stack.target != "local":
        pytest.skip(f"receivers listen on 127.0.0.1, which {stack.target} cannot reach")


@pytest.fixture(scope="module", autouse=True)
def _pipeline_drained(stack: StackInfo, api_a: Api, user_id_module: str) -> None:
    """Wait until the writes of the suites before this one have gone through the pipeline (they are
    dropped: no partner had a webhook), so the 30 s bounds below time our events, not a backlog."""
    if stack.target != "local":
        return
    receiver = Receiver()
    try:
        register(api_a, receiver)
        item_id = api_a.create({"userId": user_id_module, "name": "drain"}).json()["id"]
        receiver.wait_for(lambda got: of(got, item_id), DRAIN_S)
    finally:
        api_a.request("DELETE", "/webhook")
        receiver.close()


@pytest.fixture(scope="module")
def user_id_module() -> str:
    import uuid

    return f"e2e-webhooks-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def register(api: Api, receiver: Receiver) -> str:
    answer = api.request("PUT", "/webhook", json={"url": receiver.url})
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    assert body["url"] == receiver.url and body["secret"].startswith("whsec_")
    return str(body["secret"])


def about(item_id: str) -> Any:
    return lambda got: [d for d in got if d.event()["data"]["id"] == item_id]


def of(got: list[Delivery], item_id: str) -> list[Delivery]:
    return [d for d in got if d.event()["data"]["id"] == item_id]


def test_create_patch_delete_arrive_in_version_order_signed_and_only_to_their_partner(
    api_a: Api, api_b: Api, user_id: str, receivers: list[Receiver]
) -> None:
    mine, theirs = Receiver(), Receiver()
    receivers += [mine, theirs]
    secret = register(api_a, mine)
    register(api_b, theirs)

    created = api_a.create({"userId": user_id, "name": "hooked"})
    assert created.status_code == 201, created.text
    item_id = created.json()["id"]
    assert api_a.patch(item_id, {"name": "renamed"}).status_code == 200
    assert api_a.delete(item_id).status_code == 204

    got = of(mine.wait_for(lambda g: len(of(g, item_id)) >= 3, ARRIVAL_S), item_id)
    events = [d.event() for d in got]
    assert [e["type"] for e in events] == ["item.created", "item.updated", "item.deleted"], events
    assert [e["data"]["version"] for e in events] == [1, 2, 2]
    assert events[0]["data"]["item"]["name"] == "hooked" and events[1]["data"]["item"]["name"] == "renamed"
    assert events[2]["data"]["item"] is None and events[2]["data"]["userId"] == user_id
    for delivery in got:
        assert Webhook(secret).verify(delivery.body, delivery.headers) == delivery.event()
    assert len({d.headers["webhook-id"] for d in got}) == 3
    assert len(of(mine.received, item_id)) == 3  # exactly those three, each once
    assert of(theirs.received, item_id) == []  # the other partner's receiver got nothing of A's


def test_a_failing_receiver_still_gets_the_event_with_the_same_webhook_id(
    api_b: Api, user_id: str, receivers: list[Receiver]
) -> None:
    flaky = Receiver(statuses=[500, 503])
    receivers.append(flaky)
    secret = register(api_b, flaky)
    item_id = api_b.create({"userId": user_id, "name": "retried"}).json()["id"]
    got = of(flaky.wait_for(lambda g: len(of(g, item_id)) >= 1, 60), item_id)
    attempts = of(flaky.received, item_id)
    assert [a.status for a in attempts][:3] == [500, 503, 200]
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    assert len({a.headers["webhook-timestamp"] for a in attempts}) >= 2  # each attempt signs anew
    Webhook(secret).verify(got[0].body, got[0].headers)


def test_replacing_the_webhook_rotates_the_secret(
    api_a: Api, user_id: str, receivers: list[Receiver]
) -> None:
    receiver = Receiver()
    receivers.append(receiver)
    old = register(api_a, receiver)
    new = register(api_a, receiver)
    assert new != old
    shown = api_a.request("GET", "/webhook")
    assert shown.status_code == 200 and "secret" not in shown.json()
    item_id = api_a.create({"userId": user_id, "name": "rotated"}).json()["id"]
    (delivery,) = of(receiver.wait_for(lambda g: len(of(g, item_id)) >= 1, ARRIVAL_S), item_id)
    Webhook(new).verify(delivery.body, delivery.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(delivery.body, delivery.headers)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "https"),
        ("http://example.com/hook", "https"),
        ("https://10.1.2.3/hook", "non-public"),
        ("https://169.254.169.254/latest/meta-data/", "non-public"),
        ("https://localhost/hook", "non-public"),
    ],
)
def test_unsafe_urls_are_refused_with_the_field_and_the_reason(api_a: Api, url: str, reason: str) -> None:
    answer = api_a.request("PUT", "/webhook", json={"url": url})
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()["errors"]
    assert error["field"] == "url" and reason in error["reason"]


def test_read_only_keys_may_only_read_the_webhook(stack: StackInfo) -> None:
    partner = next(p for p in stack.partners.values() if any(k.scope == "read-only" for k in p.keys))
    key = next(k for k in partner.keys if k.scope == "read-only")
    reader = Api(stack.api_url, partner, key_override=key.api_key)
    assert reader.request("PUT", "/webhook", json={"url": "http://127.0.0.1:9/x"}).status_code == 403
    assert reader.request("DELETE", "/webhook").status_code == 403
    assert reader.request("GET", "/webhook").status_code in (200, 404)


def test_the_replay_tool_sends_dead_lettered_events_back_with_their_webhook_id(
    stack: StackInfo, api_a: Api, receivers: list[Receiver]
) -> None:
    import json

    import boto3

    from scripts import webhook_replay

    receiver = Receiver()
    receivers.append(receiver)
    secret = register(api_a, receiver)
    queues = stack.raw["event_queues"]["webhook_delivery"]
    sqs = boto3.client(
        "sqs", endpoint_url=stack.aws_endpoint_url, region_name=stack.region,
        aws_access_key_id="e2e", aws_secret_access_key="e2e",
    )  # fmt: skip
    partner = api_a.partner.name if api_a.partner else ""
    envelope = {
        "partner": partner, "webhookId": "msg_replayed0001", "group": f"{partner}#replayed",
        "event": {"type": "item.deleted", "timestamp": "2026-11-29T00:00:00.000000Z",
                  "data": {"id": "replayed", "userId": "u", "version": 3, "item": None}},
    }  # fmt: skip
    sqs.send_message(
        QueueUrl=queues["dlq_url"], MessageBody=json.dumps(envelope), MessageGroupId=envelope["group"],
        MessageDeduplicationId="replayed0001",
    )  # fmt: skip
    assert webhook_replay.replay_dlq(sqs, queues["url"], queues["dlq_url"], dry_run=True, limit=None) == 1
    assert of(receiver.received, "replayed") == []
    assert webhook_replay.replay_dlq(sqs, queues["url"], queues["dlq_url"], dry_run=False, limit=None) == 1
    (delivery,) = of(receiver.wait_for(lambda g: of(g, "replayed"), ARRIVAL_S), "replayed")
    assert delivery.headers["webhook-id"] == "msg_replayed0001"
    Webhook(secret).verify(delivery.body, delivery.headers)
    left = sqs.receive_message(QueueUrl=queues["dlq_url"], WaitTimeSeconds=1).get("Messages", [])
    assert left == []
