"""A small client for the Partner Items API: copy it, keep the habits.

Only ``requests`` and the standard library. What it shows (docs/api.md has the why of each):

- retries on 429 (the plan's throttle) and 503 (the service, with ``Retry-After``) with exponential
  backoff and full jitter, never sooner than ``Retry-After`` says, and a bounded number of attempts;
- creates that are safe to retry: every create carries an ``Idempotency-Key`` that stays the same
  across its retries, so a retry after a lost answer never creates a second item;
- updates with ``If-Match`` (optimistic locking) and a re-read-and-retry on 412;
- an iterator over every page of a list (``nextCursor`` until it is null);
- batch creates with partial failures (207): one Idempotency-Key per batch, so that resending the
  request finishes the items that failed for a retryable reason (never twice); final failures are
  returned to the caller.

    client = ItemsClient(api_url, api_key)
    item = client.create_item({"userId": "u1", "name": "first"})
    client.update_item_with_retry(item["id"], lambda current: {"name": current["name"] + "!"})
    for item in client.iter_items("u1"):
        ...
"""

from __future__ import annotations

import email.utils
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

RETRYABLE_STATUSES = frozenset({429, 503})
RETRY_REASONS = frozenset({"throttled", "unknown"})  # 207 failures that the same request settles


class ApiError(Exception):
    """An error answer: its status, message and the fields at fault (``errors``)."""

    def __init__(self, response: requests.Response) -> None:
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text}
        self.status = response.status_code
        self.message = str(body.get("message", "")) if isinstance(body, dict) else str(body)
        self.errors: list[dict[str, str]] = body.get("errors", []) if isinstance(body, dict) else []
        self.response = response
        super().__init__(f"{self.status} {self.message}")


@dataclass
class BatchResult:
    """A batch create: the ids written, and the items that failed ({"index", "id", "reason"})."""

    written: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110); None when absent or bad."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ItemsClient:
    """One partner's client: ``api_url`` is the stage URL, ``api_key`` the partner's key."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        max_attempts: int = 6,
        base_delay_s: float = 0.2,
        max_delay_s: float = 20.0,
        timeout_s: float = 35.0,  # above API Gateway's 29 s integration limit: see its 504, not ours
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.update({"x-api-key": api_key, "Accept": "application/json"})
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.retries = 0  # how many times a request was retried (for logs and tests)

    # --- transport ----------------------------------------------------------------------------------

    def backoff_s(self, attempt: int, response: requests.Response | None) -> float:
        """Full jitter on an exponential ceiling, but never sooner than the server's Retry-After."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        delay = random.uniform(0, ceiling)
        server = retry_after_seconds(response) if response is not None else None
        if server is not None:
            # Waiting exactly Retry-After would bring every throttled client back at the same instant.
            delay = min(self.max_delay_s, server) + random.uniform(0, self.base_delay_s)
        return delay

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send, retrying 429 and 503 (and connection errors); any other answer is returned as is.

        Safe to retry for every route of this API: reads are reads, creates carry an Idempotency-Key
        (``create_item``), updates carry If-Match, deletes answer 404 when repeated.
        """
        kwargs.setdefault("timeout", self.timeout_s)
        url = f"{self.api_url}{path}"
        for attempt in range(self.max_attempts):
            response: requests.Response | None = None
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.ConnectionError:
                if attempt == self.max_attempts - 1:
                    raise
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == self.max_attempts - 1:
                    return response
            self.retries += 1
            self.sleep(self.backoff_s(attempt, response))
        raise AssertionError("unreachable")

    def _ok(self, response: requests.Response, *statuses: int) -> requests.Response:
        if response.status_code not in statuses:
            raise ApiError(response)
        return response

    # --- items --------------------------------------------------------------------------------------

    def create_item(self, item: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """Create an item; one Idempotency-Key for all retries, so at most one item is created.

        Pass your own key (an order number, say) to make the create idempotent across restarts too.
        """
        key = idempotency_key or str(uuid.uuid4())
        response = self.request("POST", "/items", json=item, headers={"Idempotency-Key": key})
        return self._ok(response, 201).json()

    def get_item(self, item_id: str) -> tuple[dict[str, Any], str]:
        """The item and its ETag (the version to send back as If-Match)."""
        response = self._ok(self.request("GET", f"/items/{item_id}"), 200)
        return response.json(), response.headers["ETag"]

    def update_item(self, item_id: str, changes: dict[str, Any], if_match: str | None) -> dict[str, Any]:
        """PATCH ``name``/``info``; with ``if_match`` only if the item still has that version (else 412)."""
        headers = {"If-Match": if_match} if if_match is not None else {}
        response = self.request("PATCH", f"/items/{item_id}", json=changes, headers=headers)
        return self._ok(response, 200).json()

    def update_item_with_retry(
        self, item_id: str, change: Callable[[dict[str, Any]], dict[str, Any]], attempts: int = 5
    ) -> dict[str, Any]:
        """Read, compute the change from what was read, write with If-Match; on 412 start over.

        ``change`` gets the current item and returns the fields to PATCH: a concurrent writer's
        update is never overwritten, it is read and built upon.
        """
        for _ in range(attempts):
            current, etag = self.get_item(item_id)
            try:
                return self.update_item(item_id, change(current), if_match=etag)
            except ApiError as exc:
                if exc.status != 412:
                    raise
                self.sleep(random.uniform(0, self.base_delay_s))
        raise RuntimeError(f"item {item_id} kept changing: gave up after {attempts} attempts")

    def delete_item(self, item_id: str) -> bool:
        """Delete; False when it was already gone (404), so a repeated delete is harmless."""
        response = self.request("DELETE", f"/items/{item_id}")
        if response.status_code == 404:
            return False
        self._ok(response, 204)
        return True

    def iter_items(self, user_id: str, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every item of one end user, newest first, page by page (the cursor is opaque)."""
        params: dict[str, Any] = {"userId": user_id, "limit": page_size}
        while True:
            page = self._ok(self.request("GET", "/items", params=params), 200).json()
            yield from page["items"]
            if not page["nextCursor"]:
                return
            params["cursor"] = page["nextCursor"]

    # --- batches ------------------------------------------------------------------------------------

    def batch_create(
        self, items: list[dict[str, Any]], idempotency_key: str | None = None, rounds: int = 4
    ) -> BatchResult:
        """Create up to 100 items; finish what failed for a reason worth retrying, never twice.

        The whole batch carries one Idempotency-Key. A 207 lists each failed item with its index and
        reason: ``exists`` and ``invalid`` are final (returned to the caller); ``throttled`` and
        ``unknown`` are settled by sending the same request again with the same key, which the server
        resumes: it writes what was not written, under the ids its first answer gave. A 503 (nothing
        written) and a 409 with Retry-After (the same key still in progress) are waited out. A 400
        (any invalid item: nothing written) raises.
        """
        key = idempotency_key or str(uuid.uuid4())
        body: dict[str, Any] = {}
        for attempt in range(rounds):
            response = self.request("POST", "/batch", json={"items": items}, headers={"Idempotency-Key": key})
            in_progress = response.status_code == 409 and "Retry-After" in response.headers
            if not in_progress:
                body = self._ok(response, 201, 207).json()
                if not any(f["reason"] in RETRY_REASONS for f in body["failed"]):
                    break
            if attempt < rounds - 1:
                self.sleep(self.backoff_s(attempt, response))
        if not body:
            raise RuntimeError(f"batch {key} stayed in progress after {rounds} rounds")
        return BatchResult(written=body["written"], failed=body["failed"])

    def batch_get(self, ids: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
        """Up to 100 items by id: (found, in request order; missing ids)."""
        response = self._ok(self.request("GET", "/batch", params={"ids": ",".join(ids)}), 200)
        body = response.json()
        return body["items"], body["missing"]

    # --- account ------------------------------------------------------------------------------------

    def usage(self) -> dict[str, Any]:
        """This key's plan, throttle and quota use."""
        return self._ok(self.request("GET", "/usage"), 200).json()

    def openapi(self) -> dict[str, Any]:
        """The API's OpenAPI document."""
        return self._ok(self.request("GET", "/openapi.json"), 200).json()
