"""The embedded SQS event source mapping: Lambda's event shape and its partial batch response rules."""

from __future__ import annotations

from embedded_stack.event_sources.sqs_queues import failed_ids, is_sqs_queue, lambda_record
from tests.embedded_stack.conftest import REGION

IDS = {"m1", "m2"}


def test_partial_batch_responses_are_read_as_lambda_reads_them() -> None:
    assert failed_ids(None, IDS) == set()
    assert failed_ids({}, IDS) == set()
    assert failed_ids({"batchItemFailures": []}, IDS) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "m2"}]}, IDS) == {"m2"}
    # An identifier outside the batch, a malformed entry or list: the whole batch failed.
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, IDS) is None
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": ""}]}, IDS) is None
    assert failed_ids({"batchItemFailures": "m1"}, IDS) is None
    assert failed_ids("ok", IDS) is None


def test_records_carry_what_lambda_puts_in_an_sqs_event() -> None:
    message = {
        "MessageId": "m1", "ReceiptHandle": "r1", "Body": "{}", "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "3", "MessageGroupId": "p#i", "Policy": "not passed"},
        "MessageAttributes": {"partner": {"DataType": "String", "StringValue": "p"}},
    }  # fmt: skip
    arn = "arn:aws:sqs:us-east-1:123456789012:items-local-webhook_delivery.fifo"
    record = lambda_record(message, arn, "us-east-1")
    assert record["attributes"] == {"ApproximateReceiveCount": "3", "MessageGroupId": "p#i"}
    assert record["messageAttributes"]["partner"]["stringValue"] == "p"
    assert (record["eventSource"], record["eventSourceARN"], record["receiptHandle"]) == (
        "aws:sqs",
        arn,
        "r1",
    )
    assert is_sqs_queue(arn) and not is_sqs_queue("arn:aws:dynamodb:us-east-1:1:table/t/stream/x")


# ---- against the patched moto server and real workers ---------------------------------------------

HANDLER = """
import json, os

def handler(event, context):
    failures = []
    for r in event["Records"]:
        body = json.loads(r["body"])
        if body.get("fail_until", 0) >= int(r["attributes"]["ApproximateReceiveCount"]):
            failures.append({"itemIdentifier": r["messageId"]})
        else:
            print(json.dumps({"done": body["n"], "receives": r["attributes"]["ApproximateReceiveCount"]}))
    return {"batchItemFailures": failures}
"""


def _queues(aws, name: str, max_receives: int) -> tuple[str, str, str]:
    import json

    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            # At least the function's timeout, as Lambda requires of a mapped queue: a slow invocation
            # then never sees its batch handed out again while it runs.
            "VisibilityTimeout": "3",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def _wait(predicate, timeout_s: float = 30.0):
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_partial_failures_are_retried_then_redriven_and_moto_never_consumes_the_queue_itself(
    aws, deploy, runner
) -> None:
    from embedded_stack.event_sources import QueuePollers

    name = deploy({"handler.py": HANDLER}, timeout=3)
    url, arn, dlq = _queues(aws, f"q-{name}", max_receives=2)
    mapping = aws("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName=name, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    sqs = aws("sqs")
    try:
        for n, fail_until in ((1, 0), (2, 1), (3, 99)):
            sqs.send_message(QueueUrl=url, MessageBody=f'{{"n": {n}, "fail_until": {fail_until}}}')
        # Patched moto leaves the messages alone although a mapping exists (no Docker push, no delete).
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "3"
        pollers = QueuePollers(aws("sqs").meta.endpoint_url, REGION, runner.invoke).start()
        try:
            # n=3 never succeeds: after 2 receives SQS moves it to the DLQ; n=2 succeeds on its second.
            dead = _wait(lambda: sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages"), 60)
            assert [m["Body"] for m in dead] == ['{"n": 3, "fail_until": 99}']
            stats = _wait(lambda: (s := pollers.stats[mapping["UUID"]]).deleted >= 2 and s)
            assert stats.deleted == 2
        finally:
            pollers.stop()
    finally:
        aws("lambda").delete_event_source_mapping(UUID=mapping["UUID"])
