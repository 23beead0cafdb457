"""Lambda REQUEST authorizers as API Gateway REST runs them, for methods with authorizationType CUSTOM.

1. The authorizer's identity sources are read from the request; if any is missing or empty the
   answer is 401 ``Unauthorized`` and the function is not invoked.
2. The result cache is looked up by (deployment, authorizer, identity values). A hit costs a dict
   lookup: no control-plane call, no invocation.
3. On a miss the authorizerUri's function (alias included) is invoked through the runner with the
   REQUEST input (events.rest_authorizer_event). ``raise Exception("Unauthorized")`` gives 401;
   any other failure, a timeout or an invalid output (policy.py) gives 500
   (AUTHORIZER_CONFIGURATION_ERROR) and is not cached; a valid output is cached for the
   authorizer's ``authorizerResultTtlInSeconds`` (0: never), whether it allows or denies.
4. The (cached) policy is evaluated against this request's method ARN: an explicit deny, or no
   Allow covering it, gives 403 ACCESS_DENIED. A cached policy serves every method of the API
   that uses the authorizer, as on AWS, so a policy naming only the first method denies the rest.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.controlplane import Authorizer, Method, Snapshot
from embedded_stack.apigateway.events import authorizer_context
from embedded_stack.apigateway.policy import AuthorizerOutput, MalformedOutput, parse_output
from embedded_stack.apigateway.request import RequestIds

if TYPE_CHECKING:
    from embedded_stack.apigateway.pipeline import RunnerLike

log = logging.getLogger("embedded.gateway")

MAX_TTL_S = 3600  # API Gateway's maximum authorizerResultTtlInSeconds
MAX_WAIT_S = 29.0  # how long the gateway waits for the authorizer function
_CACHE_ENTRIES = 10_000


class UnsupportedIdentitySource(ValueError):
    """An identity source expression API Gateway REST does not define."""


def method_arn(snapshot: Snapshot, http_method: str, path: str) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}`` for a stage-relative path."""
    return (
        f"arn:aws:execute-api:{snapshot.region}:{snapshot.account_id}:{snapshot.api_id}"
        f"/{snapshot.stage}/{http_method.upper()}/{path.lstrip('/')}"
    )


def identity_values(
    sources: Iterable[str],
    *,
    headers: Mapping[str, str],
    header_pairs: Iterable[tuple[str, str]],
    query_pairs: Iterable[tuple[str, str]],
    stage_variables: Mapping[str, str],
    context: Mapping[str, str],
) -> tuple[str, ...] | None:
    """The value of each identity source, in order; None when any is missing or empty (401).

    ``headers`` maps lower-cased names to the last value; headers match case-insensitively, query
    strings exactly, as API Gateway does. Multi-value sources join their values with commas.
    """
    values: list[str] = []
    for source in sources:
        kind, _, name = source.removeprefix("method.request.").partition(".")
        if source.startswith("stageVariables."):
            value = stage_variables.get(source.removeprefix("stageVariables."))
        elif source.startswith("context."):
            value = context.get(source.removeprefix("context."))
        elif not source.startswith("method.request.") or not name:
            raise UnsupportedIdentitySource(source)
        elif kind == "header":
            value = headers.get(name.lower())
        elif kind == "multivalueheader":
            value = ",".join(v for k, v in header_pairs if k.lower() == name.lower())
        elif kind == "querystring":
            value = next((v for k, v in reversed(list(query_pairs)) if k == name), None)
        elif kind == "multivaluequerystring":
            value = ",".join(v for k, v in query_pairs if k == name)
        else:
            raise UnsupportedIdentitySource(source)
        if not value:
            return None
        values.append(value)
    return tuple(values)


class ResultCache:
    """Valid authorizer outputs by key until their TTL passes; bounded, oldest evicted first."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = _CACHE_ENTRIES
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._entries: dict[tuple[str, ...], tuple[float, AuthorizerOutput]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> AuthorizerOutput | None:
        """The cached output, or None when absent or expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: tuple[str, ...], output: AuthorizerOutput, ttl_s: float) -> None:
        """Keep ``output`` for ``ttl_s`` seconds from now."""
        with self._lock:
            now = self._clock()
            if key not in self._entries and len(self._entries) >= self._max:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                while len(self._entries) >= self._max:
                    del self._entries[next(iter(self._entries))]
            self._entries.pop(key, None)
            self._entries[key] = (now + ttl_s, output)


@dataclass(frozen=True)
class Authorization:
    """An allowed request's authorizer result; ``latency_ms`` is 0 when it came from the cache."""

    output: AuthorizerOutput
    latency_ms: int
    cached: bool

    def request_context(self) -> dict[str, Any]:
        """What the proxy event carries in ``requestContext.authorizer``."""
        return authorizer_context(self.output.principal_id, self.output.context, self.latency_ms)


class LambdaAuthorizers:
    """Runs the deployed Lambda authorizers; the result cache outlives configuration reloads."""

    def __init__(self, runner: RunnerLike, executor: Executor, cache: ResultCache | None = None) -> None:
        self._runner = runner
        self._executor = executor
        self.cache = cache or ResultCache()

    def authorize(
        self,
        snapshot: Snapshot,
        method: Method,
        *,
        arn: str,
        identity: Callable[[Iterable[str]], tuple[str, ...] | None],
        event: Callable[[], dict[str, Any]],
        ctx: dict[str, str],
        ids: RequestIds,
    ) -> Authorization:
        """Authorize one request to ``method`` (``arn``) or raise ``Rejected`` (401, 403, 500).

        ``identity`` reads identity sources from the request (``identity_values``); ``event``
        builds the authorizer input, only on a cache miss.
        """
        started = time.perf_counter()
        authorizer = self._authorizer(snapshot, method, ctx)
        try:
            values = identity(authorizer.identity_sources)
        except UnsupportedIdentitySource as exc:
            reason = f"identity source {exc} is not an API Gateway expression"
            raise self._failure(ctx, authorizer, reason) from None
        if values is None:
            ctx["authorizer.status"] = "401"
            raise r.Rejected(r.UNAUTHORIZED)
        ttl = min(authorizer.ttl_s, MAX_TTL_S)
        if ttl > 0 and not authorizer.identity_sources:
            raise self._failure(ctx, authorizer, "caching is enabled but no identity source is set")
        key = (snapshot.deployment_id, authorizer.id, *values)
        output = self.cache.get(key) if ttl > 0 else None
        cached = output is not None
        latency = 0
        if output is None:
            output, latency = self._invoke(authorizer, event(), ctx, ids)
            if ttl > 0:
                self.cache.put(key, output, ttl)
        decision = output.decide(arn)
        ctx["authorizer.latency"] = str(int((time.perf_counter() - started) * 1000))
        ctx["authorizer.principalId"] = output.principal_id
        ctx.update((f"authorizer.{k}", v or "") for k, v in output.context.items())
        if decision != "allow":
            ctx["authorizer.status"] = "403"
            message = r.EXPLICIT_DENY_MESSAGE if decision == "explicit_deny" else None
            raise r.Rejected(r.ACCESS_DENIED, message)
        ctx["authorizer.status"] = "200"
        return Authorization(output=output, latency_ms=latency, cached=cached)

    @staticmethod
    def _failure(ctx: dict[str, str], authorizer: Authorizer | None, reason: str) -> r.Rejected:
        """Log why the authorizer failed (the client sees only a 500) and build the rejection."""
        name = authorizer.name if authorizer else "-"
        log.error("authorizer %s: %s", name, reason)
        ctx["authorizer.status"] = "500"
        ctx["authorizer.error"] = reason[:512]
        return r.Rejected(r.AUTHORIZER_CONFIGURATION_ERROR)

    def _authorizer(self, snapshot: Snapshot, method: Method, ctx: dict[str, str]) -> Authorizer:
        """The method's Lambda REQUEST authorizer; anything this gateway does not run is a 500."""
        where = f"{method.http_method} {method.resource_path}"
        if method.authorization_type != "CUSTOM":
            reason = f"{where}: authorizationType {method.authorization_type} is not emulated"
            raise self._failure(ctx, None, reason)
        authorizer = snapshot.authorizers.get(method.authorizer_id or "")
        if authorizer is None:
            raise self._failure(ctx, None, f"{where}: no authorizer {method.authorizer_id!r} in the API")
        if authorizer.type != "REQUEST":
            reason = f"{authorizer.type} authorizers are not emulated, only REQUEST"
            raise self._failure(ctx, authorizer, reason)
        if authorizer.target is None:
            raise self._failure(ctx, authorizer, "authorizerUri is not a Lambda function invocation URI")
        return authorizer

    def _invoke(
        self, authorizer: Authorizer, event: dict[str, Any], ctx: dict[str, str], ids: RequestIds
    ) -> tuple[AuthorizerOutput, int]:
        """Invoke the function and check its output; its failures become 401 or 500."""
        target = authorizer.target
        assert target is not None
        trace = f"{ids.trace_id};Parent={secrets.token_hex(8)};Sampled=0"
        invoked = time.perf_counter()
        future = self._executor.submit(
            self._runner.invoke,
            target.function_name,
            target.qualifier,
            event,
            timeout_s=MAX_WAIT_S,
            trace_id=trace,
        )
        try:
            result = future.result(timeout=MAX_WAIT_S)
        except FutureTimeout:
            raise self._failure(ctx, authorizer, "the function did not answer in time") from None
        except Exception as exc:
            log.exception("invoking authorizer %s failed", authorizer.name)
            raise self._failure(ctx, authorizer, f"invocation failed: {exc}") from None
        finally:
            latency = int((time.perf_counter() - invoked) * 1000)
            ctx["authorizer.integrationLatency"] = str(latency)
        ctx["authorizer.requestId"] = getattr(result, "request_id", "")
        if result.status != "ok":
            payload = result.payload if isinstance(result.payload, dict) else {}
            message = payload.get("errorMessage")
            if getattr(result, "function_error", None) == "Unhandled" and message == "Unauthorized":
                ctx["authorizer.status"] = "401"
                raise r.Rejected(r.UNAUTHORIZED)
            raise self._failure(ctx, authorizer, f"the function failed: {result.error_type or result.status}")
        try:
            return parse_output(result.payload), latency
        except MalformedOutput as exc:
            raise self._failure(ctx, authorizer, f"invalid authorizer output: {exc}") from None
