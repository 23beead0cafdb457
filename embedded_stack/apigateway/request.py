"""A request as the gateway's HTTP server received it, and the identifiers API Gateway gives it."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class IncomingRequest:
    """What the HTTP server received, before any API Gateway processing."""

    http_method: str
    path: str  # as received (percent-encoded); stage-relative once dispatched, e.g. /items/abc
    query_string: str
    headers: list[tuple[str, str]]  # in arrival order, original case
    body: bytes
    source_ip: str
    protocol: str
    host: str
    oversized: bool = False  # the body passed the payload limit and was not read


@dataclass(frozen=True)
class RequestIds:
    """Identifiers API Gateway assigns to each request."""

    request_id: str
    extended_request_id: str
    trace_id: str
    received_at: datetime


def new_ids(trace_header: str | None) -> RequestIds:
    """Request id, extended id (API Gateway's short base64-ish id) and an X-Ray trace header."""
    now = datetime.now(UTC)
    root = None
    if trace_header:
        root = next((p for p in trace_header.split(";") if p.startswith("Root=")), None)
    if root is None:
        root = f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}"
    return RequestIds(
        request_id=str(uuid.uuid4()),
        extended_request_id=secrets.token_urlsafe(12)[:16],
        trace_id=root,
        received_at=now,
    )


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    """Decoded query parameters in order; ``?a`` gives ``a=""`` as API Gateway does."""
    return parse_qsl(query_string, keep_blank_values=True)


def forwarded(request: IncomingRequest, ids: RequestIds) -> IncomingRequest:
    """The request with the headers API Gateway adds before an authorizer or integration sees it."""
    headers = [(k, v) for k, v in request.headers if k.lower() not in ("x-amzn-trace-id",)]
    names = {k.lower() for k, _ in headers}
    forwarded_for = next((v for k, v in headers if k.lower() == "x-forwarded-for"), None)
    headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
    headers.append(
        ("X-Forwarded-For", f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip)
    )
    if "x-forwarded-port" not in names:
        port = request.host.rsplit(":", 1)[1] if ":" in request.host else "80"
        headers.append(("X-Forwarded-Port", port))
    if "x-forwarded-proto" not in names:
        headers.append(("X-Forwarded-Proto", "http"))
    headers.append(("X-Amzn-Trace-Id", ids.trace_id))
    return dataclasses.replace(request, headers=headers)
