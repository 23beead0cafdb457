"""PATCH /items/{id}: update name/info with optimistic locking (If-Match: <version>)."""

from __future__ import annotations

import re
from typing import Any

from apikit import items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.errors import BadRequest, field_error
from apikit.http import Request, endpoint, etag, response
from apikit.validation import validate

_IF_MATCH = re.compile(r'^(?:"(\d{1,18})"|(\d{1,18})|(\*))\Z')


def expected_version(header: str | None) -> int | None:
    """If-Match as a version: ``5``, ``"5"`` (our ETag) or ``*`` (any existing item, like no header)."""
    if header is None:
        return None
    match = _IF_MATCH.match(header.strip())
    if not match:
        raise BadRequest("invalid If-Match", errors=[field_error("If-Match", 'must be a version: 5 or "5"')])
    quoted, plain, _any = match.groups()
    value = quoted or plain
    return int(value) if value is not None else None


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """One conditional UpdateItem; 404 absent, 412 version mismatch, 200 with version + 1."""
    item_id = request.item_id()
    version = expected_version(request.header("if-match"))
    changes = validate("item_patch", request.json_body())
    item = items.update(request.partner, item_id, changes, version)
    return response(200, item, etag(item["version"]))
