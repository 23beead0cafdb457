"""API Gateway REST proxy events (v1.0) in, Lambda proxy responses out.

``endpoint`` wraps a route function so that handlers read like the API: it takes the partner and the
key's scope from the authorizer's context (``requestContext.authorizer``, set by API Gateway from
functions/authorizer, never from anything the client sends), refuses a method the scope does not
allow, binds request ids to logs, renders ``ApiError`` and throttling as JSON, adds CORS headers, and
turns anything unexpected into an opaque 500 (logged, never leaked).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from apikit import logs, retry, scopes
from apikit.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
    field_error,
    from_client_error,
)

ITEM_BODY_LIMIT = 64 * 1024
BATCH_BODY_LIMIT = 1024 * 1024
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
ID_RULE = "must match ^[A-Za-z0-9_-]{1,64}$"  # the reason a client reads when an id breaks ID_PATTERN
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.@:-]{1,128}\Z")
_PARTNER_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}\Z")
# If-Match: our ETag ("5"), the bare version (5), or * (any existing item: the same as no header).
_IF_MATCH = re.compile(r'^(?:"(\d{1,18})"|(\d{1,18})|(\*))\Z', re.ASCII)
_CONTENT_TYPE = re.compile(r"^application/json\s*(;\s*charset\s*=\s*\"?utf-8\"?\s*)?\Z", re.IGNORECASE)

log = logs.get_logger()


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer's context says: the partner (the tenant), the key's scope
    and its name (for logs; the key value never reaches a function's code)."""

    partner: str
    scope: str
    key_name: str | None = None
    api_key_id: str | None = None
    usage_plan_id: str | None = None


@dataclass
class Request:
    """The parts of a proxy event a route needs; ``partner`` comes from the authorizer's context."""

    event: dict[str, Any]
    context: Any
    partner: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)
    caller: Caller | None = None

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name.lower())

    def query_params(self, allowed: Collection[str]) -> dict[str, str]:
        """The query string of a route that takes only ``allowed`` parameters: 400 naming any other."""
        unknown = sorted(set(self.query) - set(allowed))
        if unknown:
            raise BadRequest(
                "unknown query parameter", errors=[field_error(u, "unknown parameter") for u in unknown]
            )
        return self.query

    def item_id(self) -> str:
        """The ``{id}`` path parameter, validated like a client-given id."""
        value = self.path_params.get("id", "")
        if not ID_PATTERN.match(value):
            raise BadRequest("invalid id", errors=[field_error("id", ID_RULE)])
        return value

    def if_match(self) -> int | None:
        """The version If-Match expects: ``"5"`` (our ETag) or ``5``; None without one or for ``*``."""
        header = self.header("if-match")
        if header is None:
            return None
        match = _IF_MATCH.match(header.strip())
        if not match:
            raise BadRequest(
                "invalid If-Match", errors=[field_error("If-Match", 'must be a version: 5 or "5"')]
            )
        quoted, bare, _any = match.groups()
        value = quoted or bare
        return int(value) if value is not None else None

    def remaining_ms(self) -> int:
        """Milliseconds left in this invocation (a generous default outside Lambda)."""
        getter = getattr(self.context, "get_remaining_time_in_millis", None)
        return int(getter()) if callable(getter) else 30_000

    def deadline(self) -> retry.Deadline:
        """The request's one deadline (``apikit.retry``), which ``endpoint`` made current."""
        return retry.current() or retry.Deadline.for_request(self.event, self.context)

    def json_body(self, limit: int = ITEM_BODY_LIMIT) -> Any:
        """The body as JSON: 415 on a non-JSON content type, 413 above ``limit`` bytes, 400 if malformed."""
        content_type = self.header("content-type")
        if content_type is None or not _CONTENT_TYPE.match(content_type.strip()):
            raise UnsupportedMediaType("Content-Type must be application/json")
        raw = self.event.get("body")
        if raw is None or raw == "":
            raise BadRequest("request body is required")
        if self.event.get("isBase64Encoded"):
            if len(raw) > (limit + 2) // 3 * 4 + 4:
                raise _too_large(limit)
            try:
                data = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadRequest("body is not valid base64") from exc
        else:
            data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
        if len(data) > limit:
            raise _too_large(limit)
        try:
            document = json.loads(
                data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
            )
        except UnicodeDecodeError as exc:
            raise BadRequest("body is not valid UTF-8") from exc
        except RecursionError as exc:
            raise BadRequest("malformed JSON: nested too deeply") from exc
        except ValueError as exc:
            raise BadRequest(f"malformed JSON: {exc}") from exc
        try:  # "\ud800" escapes decode to lone surrogates, which DynamoDB would reject with a 5xx
            json.dumps(document, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("body contains invalid Unicode (lone surrogate escapes)") from exc
        return document


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"body exceeds {limit} bytes")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A proxy response; ``body`` None means no body (204)."""
    out_headers = {"Content-Type": "application/json"} if body is not None else {}
    out_headers.update(headers or {})
    return {
        "statusCode": status,
        "headers": out_headers,
        "body": "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False),
    }


def etag(version: int) -> dict[str, str]:
    """The ETag header of an item version: a quoted integer, read back by ``Request.if_match``."""
    return {"ETag": f'"{version}"'}


def _cors(origin: str | None) -> dict[str, str]:
    allowed = [o.strip() for o in os.environ.get("CORS_ALLOWED_ORIGINS", "").split(",") if o.strip()]
    if not origin or not allowed:
        return {}
    if "*" in allowed:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag,Retry-After"}
    if origin in allowed:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "ETag,Retry-After",
            "Vary": "Origin",
        }
    return {}


def caller_of(event: dict[str, Any]) -> Caller | None:
    """The caller from ``requestContext.authorizer``; None when it is absent or unusable.

    Only the authorizer's context counts: never the key id in ``identity``, a header or the body.
    """
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    if not isinstance(context, dict):
        return None
    partner, scope = context.get("partner"), context.get("scope")
    if not isinstance(partner, str) or not _PARTNER_PATTERN.match(partner) or scope not in scopes.METHODS:
        return None

    def text(name: str) -> str | None:
        value = context.get(name)
        return value if isinstance(value, str) and value else None

    return Caller(
        partner=partner,
        scope=scope,
        key_name=text("keyName"),
        api_key_id=text("apiKeyId"),
        usage_plan_id=text("usagePlanId"),
    )


Route = Callable[[Request], dict[str, Any]]


def endpoint(route: Route) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Turn ``route(request) -> response`` into a Lambda ``handler(event, context)``."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        ctx = event.get("requestContext") or {}
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        caller = caller_of(event)
        token = logs.bind(
            aws_request_id=getattr(context, "aws_request_id", None),
            request_id=ctx.get("requestId"),
            partner=caller.partner if caller else None,
            key=caller.key_name if caller else None,
            route=f"{event.get('httpMethod', '')} {event.get('resource', '')}",
        )
        deadline_token = retry.activate(retry.Deadline.for_request(event, context))
        try:
            result = _dispatch(route, event, context, caller, headers)
            result["headers"].update(_cors(headers.get("origin")))
            log.info(
                "request",
                extra={
                    "status": result["statusCode"],
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return result
        finally:
            retry.deactivate(deadline_token)
            logs.unbind(token)

    handler.__doc__ = route.__doc__
    handler.__wrapped__ = route  # type: ignore[attr-defined]
    return handler


def _dispatch(
    route: Route, event: dict[str, Any], context: Any, caller: Caller | None, headers: dict[str, str]
) -> dict[str, Any]:
    try:
        if caller is None:
            raise Forbidden("Forbidden")
        method = str(event.get("httpMethod") or "")
        if not scopes.allows(caller.scope, method):
            # Defence in depth: the authorizer's policy already keeps such a request from us.
            raise Forbidden(f"this API key is {caller.scope}: {method} is not allowed")
        request = Request(
            event=event,
            context=context,
            partner=caller.partner,
            caller=caller,
            headers=headers,
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            path_params={str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()},
        )
        return route(request)
    except ApiError as exc:
        if exc.status >= 500:
            log.warning("service unavailable", extra={"error": exc.message})
        return response(exc.status, exc.body(), exc.headers)
    except Exception as exc:
        mapped = from_client_error(exc)
        if mapped is not None:  # a 4xx here means our validation let through what AWS refused: an error
            log.log(
                logging.WARNING if mapped.status >= 500 else logging.ERROR,
                "AWS error after retries",
                extra={"status": mapped.status, "error": str(exc)},
            )
            return response(mapped.status, mapped.body(), mapped.headers)
        log.exception("unhandled error")
        return response(500, {"message": "internal error"})
