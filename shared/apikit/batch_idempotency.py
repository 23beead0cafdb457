"""``Idempotency-Key`` on POST /batch: the same record as POST /items, in one transaction where it fits.

TransactWriteItems takes at most 100 actions, so the record can share the writes' transaction only
when the batch is atomic and has at most 99 items. Then it does, exactly as ``apikit.idempotency``
does for one item: the items and the completed record commit together or not at all.

Otherwise (non-atomic batches, which are not one transaction anyway, and atomic batches of 100) the
record is *claimed* first: ``IN_PROGRESS`` with a lease that outlives the invocation. The writes
follow, then the record is *completed* with the response. Ids the server generates are derived from
the key and the claim's ``createdAt``, and the items carry that ``createdAt``: a request that resumes
the claim (after a crash, or after a 207 whose failures can be retried) builds the very same items,
and the conditional puts it then uses tell the items already written (same ``createdAt``) from
someone else's. Nothing is written twice, nothing written over, and a 207 with retryable failures is
not stored: the client retries with the same key and the batch is finished, with the same ids.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from apikit import batch_items, clients, idempotency, items, keys, logs
from apikit.codec import from_wire
from apikit.dynamodb_batch import MAX_TRANSACT_ACTIONS
from apikit.errors import ApiError, Conflict, error_code, retry_after
from apikit.retry import Deadline, activate, deactivate

IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
LEASE_MARGIN_S = 5.0  # beyond the invocation's own end: a write may still land just after it
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:apikit:batch-item-id")
_ABSENT_OR_EXPIRED = "attribute_not_exists(PK) OR #ttl < :now"

log = logs.get_logger()
Answer = tuple[int, dict[str, Any], dict[str, str]]


def request_hash(body: Any) -> str:
    """The record's hash: the route and the canonical body (a key reused across routes is 422)."""
    return idempotency.body_hash({"route": "POST /batch", "body": body})


def derived_id(partner: str, client_key: str, created_at: str, index: int) -> str:
    """The id the server generates for item ``index`` of a claimed batch: the same on every attempt."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{partner}\n{client_key}\n{created_at}\n{index}"))


@dataclass
class Claim:
    """This request's hold on the key's record."""

    partner: str
    client_key: str
    token: str
    created_at: str
    resumed: bool


def _now() -> float:
    return time.time()


def _ddb() -> Any:
    return clients.client("dynamodb")


def _in_progress(message: str = "a request with this Idempotency-Key is in progress") -> ApiError:
    return Conflict(message, headers={"Retry-After": retry_after()})


def create(
    partner: str,
    client_key: str,
    body: dict[str, Any],
    *,
    bodies: list[dict[str, Any]],
    atomic: bool,
    deadline: Deadline,
    lease_s: float,
) -> Answer:
    """Run the batch once per key: ``(status, body, headers)``, replayed with ``Idempotent-Replayed``."""
    digest = request_hash(body)
    if atomic and len(bodies) < MAX_TRANSACT_ACTIONS:
        return _atomic_with_record(partner, client_key, digest, bodies, deadline)
    claimed = _claim(partner, client_key, digest, lease_s)
    if not isinstance(claimed, Claim):
        return claimed
    generated = ["id" not in b for b in bodies]
    bodies = [
        b if "id" in b else {**b, "id": derived_id(partner, client_key, claimed.created_at, n)}
        for n, b in enumerate(bodies)
    ]
    # The writes stop one AWS call early, so that the record can still be completed in time.
    work = Deadline(deadline.remaining() - clients.ATTEMPT_S)
    scope = activate(work)
    try:
        if atomic:
            ids = batch_items.create_atomic(
                partner, bodies, work, now=claimed.created_at, resumed=claimed.resumed
            )
            answer: Answer = (201, {"written": ids, "failed": []}, {})
            retryable = False
        else:
            result = batch_items.create_many(
                partner, bodies, work, now=claimed.created_at, generated=generated, resumed=claimed.resumed
            )
            answer = (result.status(), result.body(), result.headers())
            retryable = result.retryable()
    except BaseException:
        deactivate(scope)
        _release(claimed)
        raise
    deactivate(scope)
    if retryable:
        _release(claimed)
    else:
        _complete(claimed, answer[0], answer[1])
    return answer


def _record(partner: str, client_key: str, digest: str, created_at: str, now: float) -> dict[str, Any]:
    return {
        **keys.idempotency_key(partner, client_key),
        "entity": {"S": idempotency.ENTITY},
        "partnerId": {"S": partner},
        "requestHash": {"S": digest},
        "createdAt": {"S": created_at},
        keys.TTL_ATTRIBUTE: {"N": str(int(now) + idempotency.TTL_SECONDS)},
    }


def _atomic_with_record(
    partner: str, client_key: str, digest: str, bodies: list[dict[str, Any]], deadline: Deadline
) -> Answer:
    """Items and the completed record in one TransactWriteItems (at most 99 items + 1 record)."""
    bodies = [b if "id" in b else {**b, "id": items.new_id()} for b in bodies]
    response_body = {"written": [b["id"] for b in bodies], "failed": []}
    now, created_at = _now(), items.now_iso()
    record = {
        **_record(partner, client_key, digest, created_at, now),
        "state": {"S": COMPLETED},
        **idempotency.stored_response(201, response_body),
    }
    extra = {
        "Put": {
            "TableName": clients.table_name(),
            "Item": record,
            "ConditionExpression": _ABSENT_OR_EXPIRED,
            "ExpressionAttributeNames": {"#ttl": keys.TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    try:
        ids = batch_items.create_atomic(partner, bodies, deadline, now=created_at, extra=extra)
    except batch_items.RecordTaken as taken:
        existing = taken.existing or idempotency.read_record(partner, client_key)
        if existing is None:  # expired and removed meanwhile: the client may simply retry
            raise _in_progress("the Idempotency-Key's record changed meanwhile, retry") from taken
        return _answer_from(existing, digest)
    return 201, {"written": ids, "failed": []}, {}


def _answer_from(existing: dict[str, Any], digest: str) -> Answer:
    """A record found under the key: replay it (422 for another body, 409 while in progress)."""
    if from_wire(existing.get("requestHash", {"S": ""})) != digest:
        raise idempotency.reused_key()
    if existing.get("state", {}).get("S") == IN_PROGRESS:
        raise _in_progress()
    status, body, _ = idempotency.replay(existing, digest)
    return status, body, {"Idempotent-Replayed": "true"}


def _claim(partner: str, client_key: str, digest: str, lease_s: float) -> Claim | Answer:
    """Claim the key for this request: a fresh claim, a resumed one, or the answer already stored."""
    for _ in range(3):
        now, token = _now(), str(uuid.uuid4())
        created_at = items.now_iso()
        record = {
            **_record(partner, client_key, digest, created_at, now),
            "state": {"S": IN_PROGRESS},
            "claim": {"S": token},
            "leaseUntil": {"N": f"{now + lease_s + LEASE_MARGIN_S:.3f}"},
        }
        try:
            _ddb().put_item(
                TableName=clients.table_name(),
                Item=record,
                ConditionExpression=_ABSENT_OR_EXPIRED,
                ExpressionAttributeNames={"#ttl": keys.TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Claim(partner, client_key, token, created_at, resumed=False)
        except Exception as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            existing = getattr(exc, "response", {}).get("Item")
        existing = existing or idempotency.read_record(partner, client_key)
        if existing is None:
            continue  # removed by TTL between the two calls: claim afresh
        if existing.get("state", {}).get("S") != IN_PROGRESS or from_wire(existing["requestHash"]) != digest:
            return _answer_from(existing, digest)
        if float(from_wire(existing.get("leaseUntil", {"N": "0"}))) > now:
            raise _in_progress()
        return _take_over(partner, client_key, existing, now, lease_s)
    raise _in_progress()


def _take_over(partner: str, client_key: str, existing: dict[str, Any], now: float, lease_s: float) -> Claim:
    """Resume a claim whose lease ran out (its request crashed, or released it with retryable failures)."""
    token = str(uuid.uuid4())
    try:
        _ddb().update_item(
            TableName=clients.table_name(),
            Key=keys.idempotency_key(partner, client_key),
            UpdateExpression="SET #claim = :token, #lease = :lease",
            ConditionExpression="#claim = :old AND #lease < :now",
            ExpressionAttributeNames={"#claim": "claim", "#lease": "leaseUntil"},
            ExpressionAttributeValues={
                ":token": {"S": token},
                ":lease": {"N": f"{now + lease_s + LEASE_MARGIN_S:.3f}"},
                ":old": existing["claim"],
                ":now": {"N": f"{now:.3f}"},
            },
        )
    except Exception as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise _in_progress() from exc  # another request resumed it first
        raise
    return Claim(partner, client_key, token, from_wire(existing["createdAt"]), resumed=True)


def _settle(claimed: Claim, update: str, names: dict[str, str], values: dict[str, Any]) -> None:
    """Update our claimed record; a failure only delays the next attempt until the lease ends."""
    try:
        _ddb().update_item(
            TableName=clients.table_name(),
            Key=keys.idempotency_key(claimed.partner, claimed.client_key),
            UpdateExpression=update,
            ConditionExpression="#claim = :token",
            ExpressionAttributeNames={"#claim": "claim", **names},
            ExpressionAttributeValues={":token": {"S": claimed.token}, **values},
        )
    except Exception as exc:  # the answer stands; the lease runs out and a retry resumes the claim
        log.warning("idempotency record not updated", extra={"error": str(exc)})


def _complete(claimed: Claim, status: int, body: dict[str, Any]) -> None:
    stored = idempotency.stored_response(status, body)
    _settle(
        claimed,
        "SET #state = :done, #status = :status, #body = :body REMOVE #lease",
        {"#state": "state", "#status": "statusCode", "#body": "responseBody", "#lease": "leaseUntil"},
        {":done": {"S": COMPLETED}, ":status": stored["statusCode"], ":body": stored["responseBody"]},
    )


def _release(claimed: Claim) -> None:
    """Give the claim up at once: the next request with this key and body resumes it."""
    _settle(claimed, "SET #lease = :zero", {"#lease": "leaseUntil"}, {":zero": {"N": "0"}})
