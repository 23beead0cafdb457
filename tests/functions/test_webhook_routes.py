"""PUT/GET/DELETE /webhook and the delivery function, in process (moto: table, KMS, SQS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from standardwebhooks import Webhook

from tests.support.events import PARTNER_A, PARTNER_B
from tests.support.inprocess import Api, load_handler
from tests.support.webhook_receiver import Receiver


@pytest.fixture
def hooks(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    key = boto3.client("kms", region_name="eu-west-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("WEBHOOK_KMS_KEY_ID", key)
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK_HTTP", "true")
    yield Api(PARTNER_A)


def put(api: Api, body: Any, **kw: Any) -> dict[str, Any]:
    return api.call("put_webhook", "PUT", "/webhook", body=body, **kw)


def test_register_read_rotate_and_delete(hooks: Api) -> None:
    first = put(hooks, {"url": "http://127.0.0.1:9/hook"})
    assert first["statusCode"] == 201, first
    registered = json.loads(first["body"])
    assert registered["url"] == "http://127.0.0.1:9/hook" and registered["secret"].startswith("whsec_")
    shown = hooks.call("get_webhook", "GET", "/webhook")
    assert shown["statusCode"] == 200 and "secret" not in json.loads(shown["body"])
    again = put(hooks, {"url": "http://127.0.0.1:9/other"})
    assert again["statusCode"] == 200 and json.loads(again["body"])["secret"] != registered["secret"]
    assert hooks.call("delete_webhook", "DELETE", "/webhook")["statusCode"] == 204
    assert hooks.call("get_webhook", "GET", "/webhook")["statusCode"] == 404
    assert hooks.call("delete_webhook", "DELETE", "/webhook")["statusCode"] == 404


def test_the_secret_is_stored_only_as_a_kms_ciphertext_bound_to_the_partner(hooks: Api, aws: Any) -> None:
    from apikit import webhooks

    secret = json.loads(put(hooks, {"url": "http://127.0.0.1:9/hook"})["body"])["secret"]
    stored = aws.get_item(TableName="items-test", Key=webhooks.key(PARTNER_A))["Item"]
    assert secret.encode() not in json.dumps(stored, default=repr).encode()
    assert webhooks.endpoint_of(PARTNER_A) == ("http://127.0.0.1:9/hook", secret)
    copied = {**stored, **webhooks.key(PARTNER_B), "partnerId": {"S": PARTNER_B}}
    aws.put_item(TableName="items-test", Item=copied)  # another partner's item holding A's ciphertext
    with pytest.raises(Exception, match="InvalidCiphertext"):
        webhooks.endpoint_of(PARTNER_B)


def test_partners_see_only_their_own_webhook(hooks: Api) -> None:
    put(hooks, {"url": "http://127.0.0.1:9/hook"})
    assert Api(PARTNER_B).call("get_webhook", "GET", "/webhook")["statusCode"] == 404


def test_read_only_keys_may_only_read(hooks: Api) -> None:
    assert put(hooks, {"url": "http://127.0.0.1:9/x"}, scope="read-only")["statusCode"] == 403
    assert hooks.call("delete_webhook", "DELETE", "/webhook", scope="read-only")["statusCode"] == 403
    assert hooks.call("get_webhook", "GET", "/webhook", scope="read-only")["statusCode"] == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"url": "file:///etc/passwd"}, "must use https"),
        ({"url": "http://example.com/"}, "must use https"),
        ({"url": "https://10.0.0.1/"}, "non-public"),
        ({"url": "https://169.254.169.254/latest"}, "non-public"),
        ({"url": "https://[::ffff:127.0.0.1]/"}, "non-public"),
        ({"url": 5}, None),
        ({}, None),
        ({"url": "https://x.example.com", "extra": 1}, None),
    ],
)
def test_bad_urls_get_400_naming_the_field_and_the_reason(hooks: Api, body: Any, reason: str | None) -> None:
    answer = put(hooks, body)
    assert answer["statusCode"] == 400, answer
    errors = json.loads(answer["body"])["errors"]
    if reason:
        assert errors[0]["field"] == "url" and reason in errors[0]["reason"]


def test_outside_local_http_on_loopback_is_refused(hooks: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK_HTTP", "false")
    answer = put(hooks, {"url": "http://127.0.0.1:9/hook"})
    assert answer["statusCode"] == 400 and "https" in answer["body"]


# ---- delivery -------------------------------------------------------------------------------------


def _sqs_records(queue_url: str, arn: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    for i, body in enumerate(bodies):
        sqs.send_message(
            QueueUrl=queue_url, MessageBody=json.dumps(body), MessageGroupId=body["group"],
            MessageDeduplicationId=f"d{i}",
        )  # fmt: skip
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    return [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m["Attributes"], "eventSourceARN": arn}
        for m in got
    ]  # fmt: skip


def _envelope(partner: str, item: str, version: int) -> dict[str, Any]:
    return {
        "partner": partner, "webhookId": f"msg_{item}_{version}", "group": f"{partner}#{item}",
        "event": {"type": "item.updated", "timestamp": "2026-11-29T00:00:00Z",
                  "data": {"id": item, "userId": "u", "version": version, "item": {"id": item}}},
    }  # fmt: skip


@pytest.fixture
def queue(hooks: Api) -> tuple[str, str]:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    url = sqs.create_queue(QueueName="hooks.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_events_are_posted_signed_and_a_failing_group_holds_back_only_itself(
    hooks: Api, queue: tuple[str, str]
) -> None:
    handler = load_handler("webhook_delivery")
    good, bad = Receiver(), Receiver(statuses=[500] * 5)
    try:
        secret_a = json.loads(put(hooks, {"url": good.url})["body"])["secret"]
        put(Api(PARTNER_B), {"url": bad.url})
        records = _sqs_records(
            *queue,
            [_envelope(PARTNER_A, "i1", 1), _envelope(PARTNER_B, "j1", 1), _envelope(PARTNER_B, "j1", 2),
             _envelope(PARTNER_A, "i1", 2)],
        )  # fmt: skip
        from tests.support.events import FakeContext

        answer = handler({"Records": records}, FakeContext(30_000))
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        assert failed == {r["messageId"] for r in records if PARTNER_B in r["body"]}
        assert len(bad.received) == 1  # j1 v2 is not attempted after j1 v1 failed: it would overtake it
        versions = [d.event()["data"]["version"] for d in good.received]
        assert versions == [1, 2]
        for d in good.received:
            Webhook(secret_a).verify(d.body, d.headers)
            assert "partner" not in d.event()
        attributes = boto3.client("sqs", region_name="eu-west-1").receive_message(
            QueueUrl=queue[0], AttributeNames=["All"]
        )
        assert "Messages" not in attributes  # both held back (backoff >= 27 s), not visible again
    finally:
        good.close()
        bad.close()


def test_an_event_for_a_partner_without_a_webhook_is_dropped_not_retried(
    hooks: Api, queue: tuple[str, str]
) -> None:
    from tests.support.events import FakeContext

    records = _sqs_records(*queue, [_envelope("nobody", "i9", 1)])
    assert load_handler("webhook_delivery")({"Records": records}, FakeContext(30_000)) == {
        "batchItemFailures": []
    }


def test_a_malformed_message_fails_alone(hooks: Api, queue: tuple[str, str]) -> None:
    from tests.support.events import FakeContext

    receiver = Receiver()
    try:
        put(hooks, {"url": receiver.url})
        records = _sqs_records(*queue, [_envelope(PARTNER_A, "i1", 1), _envelope(PARTNER_A, "i2", 1)])
        records[1]["body"] = "not json"
        answer = load_handler("webhook_delivery")({"Records": records}, FakeContext(30_000))
        assert answer == {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
        assert [d.event()["data"]["id"] for d in receiver.received] == ["i1"]
    finally:
        receiver.close()
