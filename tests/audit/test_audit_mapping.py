"""Stream record -> audit event: the three event names, plain JSON images, skipped entities, oversize."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from apikit import audit
from audit_helpers import idempotency_record, item, stream_record


def test_insert_maps_every_field() -> None:
    record = stream_record("INSERT", new=item("a1", version=1), sequence="111")
    event = audit.audit_event(record, "dev")
    assert event == {
        "eventId": "ev-111",
        "eventName": "INSERT",
        "partnerId": "p1",
        "itemId": "a1",
        "userId": "u1",
        "version": 1,
        "approximateCreationTime": "2025-11-25T12:00:00Z",
        "sequenceNumber": "111",
        "stage": "dev",
        "oldImage": None,
        "newImage": {**item("a1", version=1)},
    }


def test_modify_carries_both_images_and_the_new_version() -> None:
    old, new = item("a1", version=1), item("a1", version=2, name="renamed")
    event = audit.audit_event(stream_record("MODIFY", new=new, old=old), "dev")
    assert event is not None
    assert (event["eventName"], event["version"]) == ("MODIFY", 2)
    assert event["oldImage"]["name"] == "name"
    assert event["newImage"]["name"] == "renamed"


def test_remove_takes_ids_from_the_old_image() -> None:
    event = audit.audit_event(stream_record("REMOVE", old=item("gone", partner="p9", version=4)), "dev")
    assert event is not None
    assert (event["partnerId"], event["itemId"], event["version"]) == ("p9", "gone", 4)
    assert event["newImage"] is None


def test_non_item_entities_are_skipped() -> None:
    assert audit.audit_event(stream_record("INSERT", new=idempotency_record()), "dev") is None
    assert audit.audit_event(stream_record("REMOVE", old=idempotency_record()), "dev") is None


def test_wire_values_become_plain_exact_json() -> None:
    values = {
        "i": Decimal("12345678901234567890"),
        "f": Decimal("1.5"),
        "exact": Decimal("0.1000000000000000000000001"),
        "ss": {"b", "a"},
        "ns": {Decimal("2"), Decimal("1.25")},
        "bin": b"\x00\xff",
        "bs": {b"\x01", b"\x00"},
        "nested": {"l": [True, None, "x", Decimal("3")]},
    }
    event = audit.audit_event(stream_record("INSERT", new=item(info=values)), "dev")
    assert event is not None
    info = event["newImage"]["info"]
    assert info == {
        "i": 12345678901234567890,
        "f": 1.5,
        "exact": "0.1000000000000000000000001",
        "ss": ["a", "b"],
        "ns": [1.25, 2],
        "bin": "AP8=",
        "bs": ["AA==", "AQ=="],
        "nested": {"l": [True, None, "x", 3]},
    }
    json.dumps(event)  # everything is plain JSON


def test_creation_time_from_the_streams_api_datetime() -> None:
    record = stream_record("INSERT", new=item())
    record["dynamodb"]["ApproximateCreationDateTime"] = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = audit.audit_event(record, "dev")
    assert event is not None
    assert event["approximateCreationTime"] == "2026-01-02T03:04:05Z"


def test_unknown_wire_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB type"):
        audit.plain({"XX": "1"})


def test_encode_is_one_json_line() -> None:
    event = audit.audit_event(stream_record("INSERT", new=item()), "dev")
    assert event is not None
    line, truncated = audit.encode(event)
    assert not truncated
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == event


def test_oversize_event_becomes_a_flagged_summary_never_dropped() -> None:
    big = "x" * 600_000  # old + new image together exceed Firehose's 1,000 KiB record limit
    record = stream_record("MODIFY", new=item(info={"blob": big}, version=2), old=item(info={"blob": big}))
    event = audit.audit_event(record, "dev")
    assert event is not None
    full = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    line, truncated = audit.encode(event)
    assert truncated
    assert len(line) <= audit.MAX_RECORD_BYTES
    summary = json.loads(line)
    assert summary["truncated"] is True
    assert summary["eventId"] == event["eventId"] and summary["eventName"] == "MODIFY"
    assert (summary["partnerId"], summary["itemId"], summary["version"]) == ("p1", "i1", 2)
    assert summary["originalSizeBytes"] == len(full)
    assert summary["sha256"] == hashlib.sha256(full).hexdigest()
    assert summary["oldImageSizeBytes"] > 600_000 and summary["newImageSizeBytes"] > 600_000
    assert "oldImage" not in summary and "newImage" not in summary


def test_event_just_under_the_limit_is_kept_whole() -> None:
    event = audit.audit_event(stream_record("INSERT", new=item()), "dev")
    assert event is not None
    size = len(audit.encode(event)[0])
    event["newImage"]["info"] = {"pad": "y" * (audit.MAX_RECORD_BYTES - size - 10)}
    line, truncated = audit.encode(event)
    assert len(line) <= audit.MAX_RECORD_BYTES and not truncated
