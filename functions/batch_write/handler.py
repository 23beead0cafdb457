"""POST /batch: create up to 100 items; 201 all written, 207 some failed; atomic=true is all or nothing.

Never writes over an item; with an ``Idempotency-Key`` a retry replays the answer or finishes the batch.
"""

from __future__ import annotations

from typing import Any

from apikit import batch_idempotency, batch_items, idempotency, tracing  # noqa: F401  (tracing: X-Ray)
from apikit.errors import BadRequest, PayloadTooLarge, field_error
from apikit.http import BATCH_BODY_LIMIT, Request, endpoint, response
from apikit.validation import INFO_LIMIT, errors, info_size


def validate_batch(partner: str, body: Any) -> tuple[list[dict[str, Any]], bool]:
    """Every item is checked before anything is written; errors name the item (``items[3].name``)."""
    found = errors("batch_write", body)
    if found:
        raise BadRequest("request body is invalid", errors=found)
    bodies: list[dict[str, Any]] = body["items"]
    found = [e for n, item in enumerate(bodies) for e in errors("item_create", item, prefix=f"items[{n}]")]
    if found:
        raise BadRequest("request body is invalid", errors=found)
    too_big = [
        field_error(f"items[{n}].info", f"at most {INFO_LIMIT} bytes serialized")
        for n, item in enumerate(bodies)
        if "info" in item and info_size(item["info"]) > INFO_LIMIT
    ]
    if too_big:
        raise PayloadTooLarge("info is too large", errors=too_big)
    seen: dict[str, int] = {}
    duplicates = []
    for n, item in enumerate(bodies):
        if "id" in item:
            if item["id"] in seen:
                duplicates.append(field_error(f"items[{n}].id", f"duplicates items[{seen[item['id']]}].id"))
            seen.setdefault(item["id"], n)
    if duplicates:
        raise BadRequest("duplicate ids in batch", errors=duplicates)
    batch_items.check_storable(partner, bodies)
    return bodies, bool(body.get("atomic", False))


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Validate all; then conditional writes (server ids: BatchWriteItem), or one transaction when atomic."""
    body = request.json_body(limit=BATCH_BODY_LIMIT)
    bodies, atomic = validate_batch(request.partner, body)
    key = request.header("idempotency-key")
    if key is not None:
        status, out, headers = batch_idempotency.create(
            request.partner,
            idempotency.check_key(key),
            body,
            bodies=bodies,
            atomic=atomic,
            deadline=request.deadline(),
            lease_s=request.remaining_ms() / 1000,
        )
        return response(status, out, headers)
    if atomic:
        written = batch_items.create_atomic(request.partner, bodies, request.deadline())
        return response(201, {"written": written, "failed": []})
    result = batch_items.create_many(request.partner, bodies, request.deadline())
    return response(result.status(), result.body(), result.headers())
