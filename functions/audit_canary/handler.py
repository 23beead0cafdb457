"""Audit canary: on its schedule, write one heartbeat item whose audit record must reach S3.

The heartbeat lives under ``CANARY`` (apikit.keys), outside every partner's keys, and expires by the
table's TTL a day later. Its INSERT travels the audit path like any item change (stream -> mapping ->
audit_stream -> Firehose -> S3); audit_stream emits the ``CanaryAuditDelivered`` metric when it hands
the heartbeat's record to Firehose, and the audit-canary alarm fires when that metric goes missing
(docs/operations.md). A heartbeat every few minutes also keeps the stream busy, which is what makes a
silent consumer (a disabled mapping, a permission or KMS failure) an alarm instead of a quiet graph.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from apikit import keys, logs
from apikit.clients import client, table_name

log = logs.get_logger("audit_canary")
TTL_S = 24 * 3600  # long enough to look at a day's heartbeats; TTL removes them without a write


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now = time.time()
    heartbeat_id = f"{datetime.fromtimestamp(now, UTC):%Y-%m-%dT%H:%M:%S.%fZ}-{context.aws_request_id}"
    item = {
        **keys.canary_key(heartbeat_id),
        "entity": {"S": "canary"},
        "heartbeatId": {"S": heartbeat_id},
        "writtenAt": {"N": str(int(now * 1000))},
        "scheduledAt": {"S": str(event.get("time", ""))},
        keys.TTL_ATTRIBUTE: {"N": str(int(now) + TTL_S)},
    }
    client("dynamodb").put_item(TableName=table_name(), Item=item)
    log.info(
        "canary heartbeat written", extra={"heartbeat_id": heartbeat_id, "scheduled_at": event.get("time")}
    )
    return {"heartbeatId": heartbeat_id}
