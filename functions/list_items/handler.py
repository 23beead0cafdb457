"""GET /items?userId=&limit=&cursor=: one end user's items, newest first, with signed cursors."""

from __future__ import annotations

import re
from typing import Any

from apikit import cursor, items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.errors import BadRequest, field_error
from apikit.http import USER_ID_PATTERN, Request, endpoint, response

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
PARAMETERS = frozenset({"userId", "limit", "cursor"})
_DIGITS = re.compile(r"[0-9]{1,3}")


def _limit(raw: str | None) -> int:
    """1-100 in ASCII digits (``str.isdigit`` also accepts "²" and "٣", which ``int`` may refuse)."""
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest("invalid limit", errors=[field_error("limit", f"must be an integer 1-{MAX_LIMIT}")])
    return int(raw)


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Validate the query, decode the cursor for this partner and user, Query GSI1."""
    query = request.query_params(allowed=PARAMETERS)
    user_id = query.get("userId")
    if user_id is None or not USER_ID_PATTERN.match(user_id):
        raise BadRequest(
            "invalid userId", errors=[field_error("userId", "is required: ^[A-Za-z0-9_.@:-]{1,128}$")]
        )
    limit = _limit(query.get("limit"))
    raw_cursor = query.get("cursor")
    start = cursor.decode(request.partner, user_id, raw_cursor) if raw_cursor else None
    page, last = items.list_by_owner(request.partner, user_id, limit, start)
    next_cursor = cursor.encode(request.partner, user_id, last) if last else None
    return response(200, {"items": page, "nextCursor": next_cursor})
