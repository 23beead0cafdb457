"""The stream consumer end to end in-process: moto Firehose -> S3, partial batch failures."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apikit import clients
from audit_helpers import ROOT, Context, idempotency_record, item, load_module, s3_events, stream_record
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError


@pytest.fixture
def consumer(delivery: dict[str, Any]) -> Any:
    return load_module(ROOT / "functions/audit_stream/handler.py", "audit_stream_handler")


def test_every_item_change_lands_in_s3_once(consumer: Any) -> None:
    records = [
        stream_record("INSERT", new=item("a", version=1)),
        stream_record("INSERT", new=idempotency_record()),
        stream_record("MODIFY", old=item("a", version=1), new=item("a", version=2)),
        stream_record("REMOVE", old=item("a", version=2)),
    ]
    response = consumer.handler({"Records": records}, Context())
    assert response == {"batchItemFailures": []}
    events = s3_events()
    assert sorted(e["eventId"] for e in events) == sorted(
        r["eventID"] for r in records if r is not records[1]
    )
    assert [e["eventName"] for e in sorted(events, key=lambda e: e["sequenceNumber"])] == [
        "INSERT",
        "MODIFY",
        "REMOVE",
    ]
    assert {e["stage"] for e in events} == {"test"}


def test_a_large_batch_is_split_into_calls_within_the_limits(consumer: Any, monkeypatch: Any) -> None:
    calls: list[int] = []
    real = clients.client("firehose")
    original = real.put_record_batch

    def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["Records"]))
        return original(**kwargs)

    monkeypatch.setattr(real, "put_record_batch", counting)
    records = [stream_record("INSERT", new=item(f"i{n}")) for n in range(1200)]
    assert consumer.handler({"Records": records}, Context()) == {"batchItemFailures": []}
    assert calls == [500, 500, 200]
    assert len({e["eventId"] for e in s3_events()}) == 1200


class PoisonClient:
    """Rejects records containing a marker every time, as a record Firehose cannot take would be."""

    def __init__(self, real: Any, marker: bytes) -> None:
        self.real, self.marker, self.calls = real, marker, 0

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> Any:
        self.calls += 1
        good = [r for r in Records if self.marker not in r["Data"]]
        if good:
            self.real.put_record_batch(DeliveryStreamName=DeliveryStreamName, Records=good)
        results = [
            {"ErrorCode": "InvalidArgumentException", "ErrorMessage": "no"}
            if self.marker in r["Data"]
            else {"RecordId": "ok"}
            for r in Records
        ]
        return {"FailedPutCount": len(Records) - len(good), "RequestResponses": results}


def test_only_the_records_not_delivered_are_reported(consumer: Any, monkeypatch: Any) -> None:
    poison = PoisonClient(clients.client("firehose"), b"POISON")
    monkeypatch.setattr(consumer, "client", lambda service: poison)
    monkeypatch.setattr(consumer.firehose.random, "uniform", lambda low, high: 0.0)
    records = [
        stream_record("INSERT", new=item("ok1")),
        stream_record("INSERT", new=item("bad", name="POISON")),
        stream_record("INSERT", new=item("ok2")),
    ]
    response = consumer.handler({"Records": records}, Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert sorted(e["itemId"] for e in s3_events()) == ["ok1", "ok2"]
    assert poison.calls == 6  # the first call and five retries of the poison record alone


def test_a_whole_failed_batch_is_a_function_error_so_lambda_bisects(consumer: Any, monkeypatch: Any) -> None:
    poison = PoisonClient(clients.client("firehose"), b"POISON")
    monkeypatch.setattr(consumer, "client", lambda service: poison)
    monkeypatch.setattr(consumer.firehose.random, "uniform", lambda low, high: 0.0)
    records = [stream_record("INSERT", new=item("bad", name="POISON"))]
    with pytest.raises(BatchProcessingError):
        consumer.handler({"Records": records}, Context())


def test_an_unmappable_record_fails_alone(consumer: Any) -> None:
    good = stream_record("INSERT", new=item("y"))
    broken = stream_record("INSERT", new=item("x"))
    broken["dynamodb"]["NewImage"]["name"] = {"ZZ": "?"}
    response = consumer.handler({"Records": [good, broken]}, Context())
    assert response == {"batchItemFailures": [{"itemIdentifier": broken["dynamodb"]["SequenceNumber"]}]}
    assert [e["itemId"] for e in s3_events()] == ["y"]


def test_a_failing_first_record_fails_the_invocation_so_lambda_bisects(
    consumer: Any, monkeypatch: Any
) -> None:
    """Nothing to checkpoint before it: a function error makes the mapping split the batch."""
    poison = PoisonClient(clients.client("firehose"), b"POISON")
    monkeypatch.setattr(consumer, "client", lambda service: poison)
    monkeypatch.setattr(consumer.firehose.random, "uniform", lambda low, high: 0.0)
    records = [
        stream_record("INSERT", new=item("bad", name="POISON")),
        stream_record("INSERT", new=item("ok")),
    ]
    with pytest.raises(consumer.HeadOfBatchFailed):
        consumer.handler({"Records": records}, Context())
    assert [e["itemId"] for e in s3_events()] == ["ok"]  # the others were delivered all the same


def test_retries_stop_before_the_lambda_timeout(consumer: Any, monkeypatch: Any) -> None:
    poison = PoisonClient(clients.client("firehose"), b"POISON")
    monkeypatch.setattr(consumer, "client", lambda service: poison)
    monkeypatch.setattr(consumer.firehose.random, "uniform", lambda low, high: high)  # slowest backoff
    records = [
        stream_record("INSERT", new=item("a")),
        stream_record("INSERT", new=item("bad", name="POISON")),
    ]
    # 5.75 s left and a 5 s safety margin: backoffs of 0.2 s and 0.4 s fit, the 0.8 s one does not.
    started = time.monotonic()
    response = consumer.handler({"Records": records}, Context(timeout_s=5.75))
    assert time.monotonic() - started < 0.8
    assert response == {"batchItemFailures": [{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert poison.calls == 3


def canary_heartbeat(heartbeat_id: str, written_ms: int) -> dict[str, Any]:
    """The item functions/audit_canary writes (keys.canary_key: outside every partner's keys)."""
    return {
        "PK": "CANARY",
        "SK": f"HEARTBEAT#{heartbeat_id}",
        "entity": "canary",
        "heartbeatId": heartbeat_id,
        "writtenAt": written_ms,
        "expiresAt": 1_800_000_000,
    }


def test_a_canary_heartbeat_is_audited_and_measured_once_firehose_has_it(
    consumer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    written = int(time.time() * 1000) - 2_000
    heartbeat = canary_heartbeat("hb-1", written)
    records = [
        stream_record("INSERT", new=heartbeat),
        stream_record("INSERT", new=item("a")),
        stream_record("REMOVE", old=heartbeat),  # the TTL's removal is not audited
    ]
    assert consumer.handler({"Records": records}, Context()) == {"batchItemFailures": []}
    canary = [e for e in s3_events() if e.get("canary")]
    assert [(e["heartbeatId"], e["writtenAt"], e["eventName"]) for e in canary] == [
        ("hb-1", written, "INSERT")
    ]
    assert "partnerId" not in canary[0]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(metrics) == 1
    (directive,) = metrics[0]["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "items-test" and directive["Dimensions"] == [["service"]]
    assert metrics[0]["CanaryAuditDelivered"] in (1, 1.0, [1.0])
    assert min(metrics[0]["CanaryAuditLatency"] if isinstance(metrics[0]["CanaryAuditLatency"], list)
               else [metrics[0]["CanaryAuditLatency"]]) >= 2_000  # fmt: skip


def test_no_metric_when_firehose_did_not_take_the_heartbeat(
    consumer: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = PoisonClient(clients.client("firehose"), b"hb-2")
    monkeypatch.setattr(consumer, "client", lambda service: poison)
    monkeypatch.setattr(consumer.firehose.random, "uniform", lambda low, high: 0.0)
    records = [stream_record("INSERT", new=canary_heartbeat("hb-2", 1))]
    with pytest.raises(BatchProcessingError):
        consumer.handler({"Records": records}, Context())
    assert '"CanaryAuditDelivered"' not in capsys.readouterr().out
