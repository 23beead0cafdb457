"""PutRecordBatch chunking at AWS's limits and retries of only the records that failed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from apikit import firehose
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

KIB = 1024


def test_500_records_per_call() -> None:
    payloads = [b"x\n"] * 1001
    sizes = [len(b) for b in firehose.batches(payloads)]
    assert sizes == [500, 500, 1]


def test_4_mib_per_call() -> None:
    record = b"x" * (1000 * KIB)  # the largest record Firehose accepts
    calls = list(firehose.batches([record] * 9))
    assert [len(c) for c in calls] == [4, 4, 1]  # 5 x 1,000 KiB would exceed 4 MiB
    exact = [b"y" * (1024 * KIB)] * 4  # exactly 4 MiB fits in one call
    assert [len(c) for c in firehose.batches(exact)] == [4]
    assert [len(c) for c in firehose.batches([*exact, b"z"])] == [4, 1]


def test_batches_keep_order_over_a_subset() -> None:
    payloads = [b"a", b"b", b"c", b"d"]
    assert list(firehose.batches(payloads, [3, 1])) == [[3, 1]]


class FakeFirehose:
    """Answers each call from a script: a callable per call deciding which records fail."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.calls: list[list[bytes]] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls.append([r["Data"] for r in Records])
        step = self.script.pop(0) if self.script else (lambda data: False)
        if isinstance(step, Exception):
            raise step
        results = [
            {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}
            if step(r["Data"])
            else {"RecordId": "r"}
            for r in Records
        ]
        return {"FailedPutCount": sum("ErrorCode" in r for r in results), "RequestResponses": results}


def run(client: Any, payloads: list[bytes], **kwargs: Any) -> tuple[firehose.Outcome, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("deadline", float("inf"))
    outcome = firehose.put_all(client, "s", payloads, sleep=sleeps.append, **kwargs)
    return outcome, sleeps


def test_only_failed_records_are_sent_again() -> None:
    payloads = [f"{i}\n".encode() for i in range(6)]
    client = FakeFirehose([lambda d: d in (b"1\n", b"4\n"), lambda d: d == b"4\n"])
    outcome, sleeps = run(client, payloads)
    assert client.calls == [payloads, [b"1\n", b"4\n"], [b"4\n"]]
    assert outcome.failed == set() and outcome.attempts == 3
    assert outcome.errors["ServiceUnavailableException"] == 3
    assert len(sleeps) == 2 and all(0 <= s <= 2.0 for s in sleeps)


def test_whole_call_errors_are_retried() -> None:
    throttled = ClientError({"Error": {"Code": "ServiceUnavailableException"}}, "PutRecordBatch")
    client = FakeFirehose([throttled, EndpointConnectionError(endpoint_url="http://x")])
    outcome, _ = run(client, [b"a\n", b"b\n"])
    assert outcome.failed == set() and len(client.calls) == 3
    assert outcome.errors == {"ServiceUnavailableException": 2, "EndpointConnectionError": 2}


def test_records_still_failing_after_max_attempts_are_reported() -> None:
    client = FakeFirehose([lambda d: d == b"poison\n"] * 10)
    outcome, sleeps = run(client, [b"ok\n", b"poison\n", b"ok2\n"], max_attempts=4)
    assert outcome.failed == {1}
    assert len(client.calls) == 4 and all(c == [b"poison\n"] for c in client.calls[1:])
    assert len(sleeps) == 3


def test_backoff_grows_exponentially_under_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(firehose.random, "uniform", lambda low, high: high)  # the jitter's ceiling
    client = FakeFirehose([lambda d: True] * 10)
    _, sleeps = run(client, [b"a\n"], max_attempts=6, base_delay=0.1, max_delay=1.0)
    assert sleeps == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0])


def test_no_call_and_no_sleep_past_the_deadline() -> None:
    now = [100.0]
    client = FakeFirehose([lambda d: True] * 10)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    outcome = firehose.put_all(
        client, "s", [b"a\n"], deadline=100.5, clock=lambda: now[0], sleep=sleep, max_attempts=50
    )
    assert outcome.failed == {0}
    assert now[0] < 100.5
    expired = firehose.put_all(client, "s", [b"a\n"], deadline=99.0, clock=lambda: now[0], sleep=sleep)
    assert expired.failed == {0} and expired.calls == 0


def test_failed_put_count_with_a_botocore_stub() -> None:
    """The real client's response parsing: FailedPutCount and per-record ErrorCode."""
    client = boto3.client("firehose", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "put_record_batch",
            {
                "FailedPutCount": 1,
                "RequestResponses": [
                    {"RecordId": "1"},
                    {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "busy"},
                ],
            },
            {"DeliveryStreamName": "s", "Records": [{"Data": b"a\n"}, {"Data": b"b\n"}]},
        )
        stub.add_response(
            "put_record_batch",
            {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "2"}]},
            {"DeliveryStreamName": "s", "Records": [{"Data": b"b\n"}]},
        )
        outcome, _ = run(client, [b"a\n", b"b\n"])
        stub.assert_no_pending_responses()
    assert outcome.failed == set() and outcome.calls == 2


class ShortAnswer(FakeFirehose):
    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        self.calls.append([r["Data"] for r in Records])
        if len(self.calls) == 1:
            return {"FailedPutCount": 1, "RequestResponses": [{"RecordId": "only one"}]}
        return {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"} for _ in Records]}


def test_a_response_that_does_not_match_the_records_resends_them_all() -> None:
    client = ShortAnswer([])
    outcome, _ = run(client, [b"a\n", b"b\n"])
    assert outcome.failed == set() and client.calls == [[b"a\n", b"b\n"]] * 2
    assert outcome.errors == {"MalformedResponse": 2}
