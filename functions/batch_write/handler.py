"""POST /batch: create up to 100 items; 201 all written, 207 some failed; atomic=true is all or nothing."""

from __future__ import annotations

from typing import Any

from apikit import batch_items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.errors import BadRequest, PayloadTooLarge, field_error
from apikit.http import BATCH_BODY_LIMIT, Request, endpoint, response
from apikit.retry import Deadline
from apikit.validation import INFO_LIMIT, errors, info_size


def validate_batch(body: Any) -> tuple[list[dict[str, Any]], bool]:
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
    return bodies, bool(body.get("atomic", False))


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Validate all, then BatchWriteItem in chunks of 25 (or one transaction when atomic)."""
    bodies, atomic = validate_batch(request.json_body(limit=BATCH_BODY_LIMIT))
    deadline = Deadline.from_remaining_ms(request.remaining_ms())
    if atomic:
        written = batch_items.create_atomic(request.partner, bodies, deadline)
        return response(201, {"written": written, "failed": []})
    written, failed = batch_items.create_many(request.partner, bodies, deadline)
    return response(207 if failed else 201, {"written": written, "failed": failed})
