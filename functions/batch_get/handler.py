"""GET /batch?ids=a,b: up to 100 items by id; ids not found (or another partner's) are "missing"."""

from __future__ import annotations

from typing import Any

from apikit import batch_items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.errors import BadRequest, field_error
from apikit.http import ID_PATTERN, ID_RULE, Request, endpoint, response

MAX_IDS = 100


def parse_ids(raw: str | None) -> list[str]:
    """Comma-separated ids: 1-100, each valid; duplicates are read once (first occurrence order)."""
    if not raw:
        raise BadRequest("ids is required", errors=[field_error("ids", "is required")])
    ids = raw.split(",")
    if len(ids) > MAX_IDS:
        raise BadRequest("too many ids", errors=[field_error("ids", f"at most {MAX_IDS} ids")])
    bad = [field_error(f"ids[{n}]", ID_RULE) for n, i in enumerate(ids) if not ID_PATTERN.match(i)]
    if bad:
        raise BadRequest("invalid ids", errors=bad)
    return list(dict.fromkeys(ids))


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """BatchGetItem (UnprocessedKeys retried within the invocation's time)."""
    ids = parse_ids(request.query_params(allowed={"ids"}).get("ids"))
    deadline = request.deadline()
    found, missing = batch_items.get_many(request.partner, ids, deadline)
    return response(200, {"items": found, "missing": missing})
