"""Replay webhook events that were given up on, with a dry run that only lists them.

Two places hold them:

- the delivery queue's dead-letter queue (``terraform output event_queues``, webhook_delivery's
  ``dlq_url``): events whose endpoint failed for the whole retry schedule (over a day). Each is sent
  back to the delivery queue itself (not to the topic: other subscribers already have it) in its
  message group, with its ``webhook-id`` unchanged so receivers deduplicate, then deleted from the
  DLQ. Fix or ask the partner to fix the endpoint first, or they come back here a day later.
- webhook_fanout's failed stream batches, which its mapping parks whole in the audit failure bucket
  (``aws/lambda/...`` objects whose record names the fanout function): their item changes are
  mapped as the function maps them and published to the item events topic, then the object is
  deleted. The audit replay tool leaves these objects alone.

    python -m scripts.webhook_replay --endpoint-url http://127.0.0.1:4566 --dry-run
    python -m scripts.webhook_replay --outputs outputs.json --max 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from scripts.audit_common import client, terraform_outputs
from scripts.audit_replay import FAILURE_PREFIX, function_of, is_function, records_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
from apikit import webhook_events

DELIVERY_FUNCTION = "webhook_delivery"
FANOUT_FUNCTION = "webhook_fanout"
VISIBILITY_S = 300


def _line(**fields: Any) -> None:
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def replay_dlq(sqs: Any, queue_url: str, dlq_url: str, *, dry_run: bool, limit: int | None) -> int:
    """Move dead-lettered events back to the delivery queue; returns how many (or would be)."""
    seen: set[str] = set()
    held: list[dict[str, Any]] = []
    while limit is None or len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=VISIBILITY_S,
            AttributeNames=["All"],
        ).get("Messages", [])  # fmt: skip
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            envelope = json.loads(message["Body"])
            event = envelope["event"]
            _line(
                source="dlq", webhook_id=envelope["webhookId"], partner=envelope["partner"],
                type=event["type"], id=event["data"]["id"], version=event["data"]["version"],
                receives=message.get("Attributes", {}).get("ApproximateReceiveCount"),
                action="would replay" if dry_run else "replayed",
            )  # fmt: skip
            if dry_run:
                held.append(message)
                continue
            sqs.send_message(
                QueueUrl=queue_url, MessageBody=message["Body"], MessageGroupId=envelope["group"],
                MessageDeduplicationId=f"{envelope['webhookId']}-replay-{int(time.time())}"[:128],
            )  # fmt: skip
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
    for message in held:  # a dry run leaves the DLQ as it found it
        sqs.change_message_visibility(
            QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return len(seen)


def replay_fanout_failures(s3: Any, sns: Any, bucket: str, topic_arn: str, *, dry_run: bool) -> int:
    """Publish the item events of webhook_fanout's parked batches; returns how many objects."""
    done = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=FAILURE_PREFIX):
        for obj in page.get("Contents", []):
            failure = json.loads(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
            if not is_function(function_of(failure) or "", FANOUT_FUNCTION):
                continue
            envelopes = [
                e for e in (webhook_events.envelope(r) for r in records_of(failure)) if e is not None
            ]
            _line(source="fanout-failure", key=obj["Key"], events=len(envelopes),
                  action="would publish" if dry_run else "published")  # fmt: skip
            done += 1
            if dry_run:
                continue
            for envelope in envelopes:  # in stream order: one item's events keep their order
                sns.publish(
                    TopicArn=topic_arn, Message=webhook_events.encode(envelope).decode("utf-8"),
                    MessageGroupId=envelope["group"],
                    MessageDeduplicationId=envelope["webhookId"].removeprefix("msg_")[:128],
                    MessageAttributes={"partner": {"DataType": "String", "StringValue": envelope["partner"]}},
                )  # fmt: skip
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint (LocalStack, the embedded stack); default: AWS")
    parser.add_argument("--region", help="AWS region (default: terraform output region)")
    parser.add_argument("--outputs", type=Path, help="saved `terraform output -json`")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    parser.add_argument("--max", type=int, help="replay at most this many dead-lettered events")
    parser.add_argument(
        "--skip-failures", action="store_true", help="only the DLQ, not the fan-out's batches"
    )
    args = parser.parse_args(argv)
    outputs = terraform_outputs(args.outputs)
    queues = (outputs.get("event_queues") or {}).get(DELIVERY_FUNCTION)
    if not queues:
        parser.error("terraform output event_queues has no webhook_delivery queue (pass --outputs)")
    region = args.region or outputs.get("region")
    sqs = client("sqs", args.endpoint_url, region)
    moved = replay_dlq(sqs, queues["url"], queues["dlq_url"], dry_run=args.dry_run, limit=args.max)
    parked = 0
    if not args.skip_failures and outputs.get("audit_failure_bucket"):
        parked = replay_fanout_failures(
            client("s3", args.endpoint_url, region), client("sns", args.endpoint_url, region),
            outputs["audit_failure_bucket"], outputs["item_events_topic_arn"], dry_run=args.dry_run,
        )  # fmt: skip
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb} {moved} dead-lettered events and {parked} parked fan-out batches", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
