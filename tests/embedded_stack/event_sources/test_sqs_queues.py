"""The embedded SQS event source mapping: Lambda's event shape and its partial batch response rules."""

from __future__ import annotations

from embedded_stack.event_sources.sqs_queues import failed_ids, is_sqs_queue, lambda_record

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
