"""webhook_fanout: stream records -> the SNS FIFO topic, in order, one group per partner's item."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.events import FakeContext
from tests.support.inprocess import load_handler


def _item(partner: str, item_id: str, version: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"P#{partner}#I#{item_id}"}, "SK": {"S": "ITEM"}, "entity": {"S": "item"},
        "partnerId": {"S": partner}, "id": {"S": item_id}, "userId": {"S": "u"}, "name": {"S": "n"},
        "version": {"N": str(version)}, "updatedAt": {"S": f"2026-11-29T00:00:0{version}.000000Z"},
    }  # fmt: skip


def _record(seq: int, name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict:
    change: dict[str, Any] = {"SequenceNumber": str(seq), "ApproximateCreationDateTime": 1764460800}
    if new:
        change["NewImage"] = new
    if old:
        change["OldImage"] = old
    return {"eventID": f"ev{seq}", "eventName": name, "dynamodb": change}


RECORDS = [
    _record(1, "INSERT", _item("pa", "i1", 1)),
    _record(2, "INSERT", {"PK": {"S": "P#pa#WEBHOOK"}, "SK": {"S": "WEBHOOK"}, "entity": {"S": "webhook"}}),
    _record(3, "MODIFY", _item("pa", "i1", 2), _item("pa", "i1", 1)),
    _record(4, "INSERT", _item("pb", "j1", 1)),
    _record(5, "REMOVE", None, _item("pa", "i1", 2)),
]


@pytest.fixture
def topic(aws: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    sns, sqs = boto3.client("sns", region_name="eu-west-1"), boto3.client("sqs", region_name="eu-west-1")
    arn = sns.create_topic(Name="events.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url = sqs.create_queue(QueueName="sub.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})
    monkeypatch.setenv("ITEM_EVENTS_TOPIC_ARN", arn)
    return url


def test_item_changes_are_published_in_stream_order_with_a_group_per_item(topic: str) -> None:
    answer = load_handler("webhook_fanout")({"Records": RECORDS}, FakeContext())
    assert answer == {"batchItemFailures": []}
    sqs = boto3.client("sqs", region_name="eu-west-1")
    got = sqs.receive_message(QueueUrl=topic, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    envelopes = [json.loads(m["Body"]) for m in got]
    assert [(e["event"]["type"], e["event"]["data"]["id"]) for e in envelopes] == [
        ("item.created", "i1"), ("item.updated", "i1"), ("item.created", "j1"), ("item.deleted", "i1"),
    ]  # fmt: skip
    assert [m["Attributes"]["MessageGroupId"] for m in got] == ["pa#i1", "pa#i1", "pb#j1", "pa#i1"]
    assert [e["webhookId"] for e in envelopes] == ["msg_ev1", "msg_ev3", "msg_ev4", "msg_ev5"]


def test_a_record_not_published_is_reported_with_everything_after_it(
    topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apikit.clients import client

    sns = client("sns")
    original = sns.publish_batch

    def refuse_the_second(**kwargs: Any) -> dict[str, Any]:
        entries = kwargs["PublishBatchRequestEntries"]
        original(**{**kwargs, "PublishBatchRequestEntries": entries[:1]})
        return {"Successful": [{"Id": entries[0]["Id"]}], "Failed": [{"Id": entries[1]["Id"], "Code": "x"}]}

    monkeypatch.setattr(sns, "publish_batch", refuse_the_second)
    answer = load_handler("webhook_fanout")({"Records": RECORDS}, FakeContext())
    # Record 3 (i1 v2) failed: it and every later record are retried, so nothing overtakes it.
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == ["3", "4", "5"]
