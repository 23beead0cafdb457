"""Record shapes Lambda delivers and sends for DynamoDB stream sources.

``lambda_record``: a GetRecords record as it appears in the function's ``{"Records": [...]}`` event.
``failure_record``: the invocation record an on-failure destination receives for records given up on
(``DDBStreamBatchInfo`` describes them). SQS and SNS destinations get just that; an S3 destination
also gets the whole invocation event, as an escaped JSON string in ``payload`` (``s3_failure_record``),
in an object named as Lambda names them (``s3_failure_key``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from embedded_stack.lambda_runtime import InvokeResult


def _wire_value(value: Any) -> Any:
    """An AttributeValue as DynamoDB JSON puts it on the wire (boto3 decoded binary into bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_value(v) for v in value]
    if isinstance(value, set):
        return [_wire_value(v) for v in sorted(value)]
    return value


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record reshaped into a record of Lambda's DynamoDB stream event."""
    ddb = record["dynamodb"]
    out: dict[str, Any] = {
        "ApproximateCreationDateTime": int(_epoch(ddb["ApproximateCreationDateTime"])),
        "Keys": _wire_value(ddb["Keys"]),
    }
    for image in ("NewImage", "OldImage"):
        if image in ddb:
            out[image] = _wire_value(ddb[image])
    out["SequenceNumber"] = ddb["SequenceNumber"]
    out["SizeBytes"] = ddb["SizeBytes"]
    out["StreamViewType"] = ddb["StreamViewType"]
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record["awsRegion"],
        "dynamodb": out,
        "eventSourceARN": stream_arn,
    }


def _iso(epoch_s: float, millis: bool = False) -> str:
    stamp = datetime.fromtimestamp(epoch_s, UTC)
    if millis:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    records: list[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    last: InvokeResult | None,
    executed_version: str,
) -> dict[str, Any]:
    """The JSON Lambda sends to an on-failure destination for a stream batch it gave up on."""
    first, final = records[0]["dynamodb"], records[-1]["dynamodb"]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
    if last is not None and last.function_error:
        response["functionError"] = last.function_error
    elif last is not None and last.status == "throttled":
        response = {"statusCode": 429, "executedVersion": executed_version}
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(time.time(), millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": final["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(final["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def s3_failure_record(message: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The record Lambda writes to an S3 destination: the metadata plus ``payload``, the original
    invocation event (``{"Records": [...]}``) as an escaped JSON string."""
    return {**message, "payload": json.dumps({"Records": records}, separators=(",", ":"))}


def s3_failure_key(mapping_uuid: str, shard_id: str, when: float | None = None) -> str:
    """``aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`` (UTC)."""
    stamp = datetime.fromtimestamp(time.time() if when is None else when, UTC)
    return f"aws/lambda/{mapping_uuid}/{shard_id}/{stamp:%Y/%m/%d}/{stamp:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
