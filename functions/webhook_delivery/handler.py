"""SQS (FIFO, one group per partner's item) -> one signed POST per item event to its partner's endpoint.

At least once: a message that is not delivered stays on the queue, hidden for an exponentially
growing time (ChangeMessageVisibility from ApproximateReceiveCount: 30 s doubling to 6 h) and is
reported in ``batchItemFailures``; after the queue's maxReceiveCount (over a day of attempts) SQS
moves it to the dead-letter queue. Within a batch, groups are delivered concurrently and each group
in order; after a failure the group's later messages are not attempted (they would overtake it) and
are held back as long. So a slow or failing endpoint holds back only its own partner's events.
The endpoint is checked again here, after DNS resolution, and the POST goes to the checked address.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from apikit import logs, tracing, webhook_signing, webhook_urls, webhooks  # noqa: F401  (tracing: X-Ray)
from apikit.clients import client
from apikit.webhook_delivery import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, backoff_seconds, first_delay_s, post

log = logs.get_logger("webhook_delivery")
_queue_urls: dict[str, str] = {}
SAFETY_MARGIN_S = 2.0  # the partial batch response must get out before the function's timeout
ATTEMPT_BUDGET_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 1.0  # one attempt at most, with the lookups

Registration = Callable[[str], "tuple[str, str] | None"]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = logs.bind(aws_request_id=getattr(context, "aws_request_id", None))
    try:
        ends = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S
        return deliver_batch(event.get("Records", []), webhooks.endpoint_of, ends)
    finally:
        logs.unbind(token)


def deliver_batch(
    records: list[dict[str, Any]], registration: Registration, ends: float | None = None
) -> dict[str, Any]:
    """Deliver every record before ``ends`` (monotonic); returns the SQS partial batch response."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId") or record["messageId"]
        groups.setdefault(group, []).append(record)
    endpoints: dict[str, tuple[str, str] | None] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(len(groups), 10))) as pool:
        results = list(
            pool.map(lambda rs: _deliver_group(rs, registration, endpoints, ends), groups.values())
        )
    failures = [{"itemIdentifier": m} for failed in results for m in failed]
    return {"batchItemFailures": failures}


def _deliver_group(
    records: list[dict[str, Any]],
    registration: Registration,
    endpoints: dict[str, tuple[str, str] | None],
    ends: float | None,
) -> list[str]:
    """Deliver one group's records in order; returns the message ids not delivered."""
    for index, record in enumerate(records):
        if ends is not None and time.monotonic() + ATTEMPT_BUDGET_S > ends:
            # No time for another attempt: the rest come back at once (visibility 0), in order, in
            # the next batch; not a failure of the endpoint, so no backoff.
            held = records[index:]
            for later in held:
                _hide(later, 0)
            return [r["messageId"] for r in held]
        if not _deliver_one(record, registration, endpoints):
            count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            delay = backoff_seconds(count, first=first_delay_s())
            held = records[index:]
            for later in held:
                _hide(later, delay)
            return [r["messageId"] for r in held]
    return []


def _deliver_one(
    record: dict[str, Any], registration: Registration, endpoints: dict[str, tuple[str, str] | None]
) -> bool:
    try:
        envelope = json.loads(record["body"])
        partner, msg_id = envelope["partner"], envelope["webhookId"]
        _ = envelope["event"]["data"]  # a well-formed event, checked before anything is sent
    except (ValueError, KeyError, TypeError):
        # Not ours to interpret: failed alone (its group waits), it reaches the DLQ for an operator.
        log.error("malformed message", extra={"message_id": record.get("messageId")})
        return False
    if partner not in endpoints:  # once per partner and batch (a GetItem and a KMS Decrypt)
        endpoints[partner] = registration(partner)
    found = endpoints[partner]
    if found is None:
        log.info("no webhook registered: event dropped", extra={"partner": partner, "webhook_id": msg_id})
        return True
    url, secret = found
    started = time.perf_counter()
    try:
        target = webhook_urls.check(url, allow_loopback_http=webhooks.allow_loopback_http())
    except webhook_urls.UnsafeUrl as exc:
        log.warning("endpoint refused", extra={"partner": partner, "webhook_id": msg_id, "reason": str(exc)})
        return False
    body = webhook_events_body(envelope)
    outcome = post(target, body, webhook_signing.headers(secret, msg_id, int(time.time()), body))
    log.info(
        "webhook attempt",
        extra={
            "partner": partner,
            "webhook_id": msg_id,
            "host": target.host,
            "delivered": outcome.delivered,
            "status": outcome.status,
            "reason": outcome.reason,
            "attempt": record.get("attributes", {}).get("ApproximateReceiveCount"),
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return outcome.delivered


def webhook_events_body(envelope: dict[str, Any]) -> bytes:
    """The bytes signed and sent: the event only (never the partner or our routing fields)."""
    return json.dumps(envelope["event"], separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _hide(record: dict[str, Any], seconds: int) -> None:
    """Keep a failed message out of sight for its backoff; on error the queue's default applies."""
    arn = record["eventSourceARN"]
    try:
        url = _queue_urls.get(arn)
        if url is None:
            _, _, _, _, account, name = arn.split(":", 5)
            url = client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
            _queue_urls[arn] = url
        client("sqs").change_message_visibility(
            QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=seconds
        )
    except Exception:
        log.exception("could not set the retry delay", extra={"message_id": record.get("messageId")})
