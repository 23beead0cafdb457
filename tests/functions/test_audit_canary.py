"""The audit canary's heartbeat: outside every partner's keys, expiring, one per run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.support.events import FakeContext
from tests.support.inprocess import TABLE, Api, load_handler

ROOT = Path(__file__).resolve().parents[2]


def test_a_heartbeat_is_written_under_the_canary_key_with_a_ttl(aws: Any) -> None:
    before = time.time()
    result = load_handler("audit_canary")({"time": "2026-11-25T12:00:00Z"}, FakeContext())
    after = time.time()
    items = aws.scan(TableName=TABLE)["Items"]
    assert len(items) == 1
    (heartbeat,) = items
    assert heartbeat["PK"] == {"S": "CANARY"}
    assert heartbeat["SK"] == {"S": f"HEARTBEAT#{result['heartbeatId']}"}
    assert heartbeat["entity"] == {"S": "canary"}
    assert int(before * 1000) <= int(heartbeat["writtenAt"]["N"]) <= after * 1000  # whole ms, floored
    # A day after it was written (bounded by the call, however long a loaded machine made it).
    assert int(before) + 24 * 3600 <= int(heartbeat["expiresAt"]["N"]) <= after + 24 * 3600 + 1
    load_handler("audit_canary")({}, FakeContext())
    assert len(aws.scan(TableName=TABLE)["Items"]) == 2  # one item per run, never overwritten


def test_no_partner_can_see_a_heartbeat(aws: Any, api: Api) -> None:
    load_handler("audit_canary")({}, FakeContext())
    listed = api.list({"userId": "u1"})
    assert json.loads(listed["body"])["items"] == []


def test_its_role_may_write_the_canary_partition_only() -> None:
    manifest = json.loads((ROOT / "functions" / "audit_canary" / "function.json").read_text())
    (permission,) = manifest["permissions"]
    assert permission["actions"] == ["dynamodb:PutItem"]
    assert permission["condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["CANARY"]}}
    assert manifest["events"]["schedule"] == "rate(5 minutes)"
