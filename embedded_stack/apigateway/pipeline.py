"""One request through API Gateway REST's stages: route, authorizer, API key, throttle, quota,
validate, invoke.

Kept apart from the HTTP server so each step can be tested with plain values and so the order of
the checks (the order API Gateway applies them) is visible in one place.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from embedded_stack.apigateway import mock, vtl
from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.authorizer import Authorization, LambdaAuthorizers, identity_values, method_arn
from embedded_stack.apigateway.controlplane import ApiKey, Method, Plan, Snapshot
from embedded_stack.apigateway.events import is_binary, rest_authorizer_event, rest_proxy_event
from embedded_stack.apigateway.request import IncomingRequest, RequestIds, forwarded, new_ids, query_pairs
from embedded_stack.apigateway.routing import RouteTable
from embedded_stack.apigateway.usageplans import UsagePlans
from embedded_stack.apigateway.validation import body_errors, missing_parameters, select_model

log = logging.getLogger("embedded.gateway")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway REST request payload limit
MAX_LAMBDA_REQUEST_BYTES = 6 * 1024 * 1024  # Lambda synchronous invocation payload limit


class InvokeResultLike(Protocol):
    """What the gateway reads from ``embedded_stack.lambda_runtime.InvokeResult``."""

    ok: bool
    payload: Any
    error_type: str | None
    duration_ms: float
    status: str


class RunnerLike(Protocol):
    """``embedded_stack.lambda_runtime.Runner``'s invoke, the only runner call the gateway makes."""

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        payload: Any,
        timeout_s: float | None = None,
        trace_id: str | None = None,
    ) -> InvokeResultLike:
        """Invoke synchronously; failures are reported in the result, not raised."""
        ...


@dataclass
class Outcome:
    """The response plus what the access log and tests want to know about how it was produced."""

    response: r.HttpResponse
    context: dict[str, str] = field(default_factory=dict)


class Pipeline:
    """Applies one snapshot's configuration to requests; shared state: limits, authorizer cache."""

    def __init__(
        self, runner: RunnerLike, executor: Executor, plans: UsagePlans, authorizers: LambdaAuthorizers
    ) -> None:
        self._runner = runner
        self._executor = executor
        self.plans = plans
        self.authorizers = authorizers

    def handle(self, snapshot: Snapshot, routes: RouteTable, request: IncomingRequest) -> Outcome:
        """Process one stage-relative request and return the HTTP response API Gateway would give."""
        started = time.perf_counter()
        headers = {k.lower(): v for k, v in request.headers}
        ids = new_ids(headers.get("x-amzn-trace-id"))
        ctx: dict[str, str] = {
            "requestId": ids.request_id,
            "extendedRequestId": ids.extended_request_id,
            "requestTime": ids.received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": str(int(ids.received_at.timestamp() * 1000)),
            "httpMethod": request.http_method,
            "path": f"/{snapshot.stage}{unquote(request.path)}",
            "protocol": request.protocol,
            "stage": snapshot.stage,
            "apiId": snapshot.api_id,
            "identity.sourceIp": request.source_ip,
            "identity.userAgent": headers.get("user-agent", ""),
            "xrayTraceId": ids.trace_id.removeprefix("Root="),
        }
        try:
            response = self._process(snapshot, routes, request, headers=headers, ids=ids, ctx=ctx)
        except r.Rejected as rejection:
            ctx["error.message"] = rejection.message or rejection.kind.message or ""
            ctx["error.responseType"] = rejection.kind.name
            response = r.render_gateway_error(
                rejection.kind,
                snapshot.gateway_responses,
                context=ctx,
                request_headers=headers,
                request_query=dict(query_pairs(request.query_string)),
                message=rejection.message,
                validation_errors=rejection.details,
                stage_variables=snapshot.stage_variables,
            )
        response.headers.extend(
            [
                ("x-amzn-RequestId", ids.request_id),
                ("x-amz-apigw-id", ids.extended_request_id),
                ("X-Amzn-Trace-Id", ids.trace_id),
            ]
        )
        ctx["status"] = str(response.status)
        ctx["responseLength"] = str(len(response.body))
        ctx["responseLatency"] = str(int((time.perf_counter() - started) * 1000))
        return Outcome(response=response, context=ctx)

    def _process(
        self,
        snapshot: Snapshot,
        routes: RouteTable,
        request: IncomingRequest,
        *,
        headers: dict[str, str],
        ids: RequestIds,
        ctx: dict[str, str],
    ) -> r.HttpResponse:
        """The checks in API Gateway's order; each failure raises Rejected."""
        if request.oversized or len(request.body) > MAX_PAYLOAD_BYTES:
            raise r.Rejected(r.REQUEST_TOO_LARGE)
        matched = routes.match(request.path, request.http_method)
        if matched is None:
            raise r.Rejected(r.MISSING_AUTHENTICATION_TOKEN)
        method, path_params = matched
        ctx["resourcePath"] = method.resource_path
        ctx["resourceId"] = method.resource_id
        authorization = None
        if method.authorization_type != "NONE":
            authorization = self._authorize(
                snapshot, method, request, headers=headers, path_params=path_params, ids=ids, ctx=ctx
            )
        api_key: ApiKey | None = None
        plan: Plan | None = None
        if method.api_key_required:
            presented = headers.get("x-api-key")
            if snapshot.api_key_source == "AUTHORIZER":
                presented = authorization.output.usage_identifier_key if authorization else None
            api_key, plan = self.plans.authenticate(snapshot, presented)
            ctx["identity.apiKeyId"] = api_key.id
            ctx["usagePlanId"] = plan.id
        self.plans.limit(snapshot, method, api_key, plan)
        self._validate(snapshot, method, request, headers, path_params)
        if method.integration_type == "MOCK":
            return self._mock(snapshot, method, request, headers=headers, path_params=path_params, ctx=ctx)
        if method.target is None or method.integration_type != "AWS_PROXY":
            log.error("%s %s: only AWS_PROXY Lambda and MOCK integrations are served", *method_id(method))
            raise r.Rejected(r.INTEGRATION_ERROR)
        event = _proxy_event(
            snapshot,
            method,
            forwarded(request, ids),
            path_params=path_params,
            ids=ids,
            api_key=api_key,
            authorization=authorization,
        )
        # Only a large body can push the event past Lambda's limit; skip the extra encode otherwise.
        if (
            len(request.body) > MAX_LAMBDA_REQUEST_BYTES // 2
            and len(json.dumps(event)) > MAX_LAMBDA_REQUEST_BYTES
        ):
            # Lambda refuses the invocation (RequestEntityTooLargeException): an integration failure.
            ctx["integrationErrorMessage"] = "Lambda request payload over 6 MB"
            raise r.Rejected(r.INTEGRATION_ERROR)
        return self._integrate(method, event, ctx, ids)

    @staticmethod
    def _mock(
        snapshot: Snapshot,
        method: Method,
        request: IncomingRequest,
        *,
        headers: dict[str, str],
        path_params: dict[str, str],
        ctx: dict[str, str],
    ) -> r.HttpResponse:
        """Answer from the MOCK integration's templates; a construct we do not emulate is a 500."""
        inputs = vtl.Inputs(
            path=path_params,
            query=dict(query_pairs(request.query_string)),  # last value wins, as in queryStringParameters
            headers=headers,
            context=ctx,
            stage_variables=snapshot.stage_variables,
        )
        try:
            response = mock.respond(method, inputs, headers.get("content-type"), headers.get("accept"))
        except mock.MockError as exc:
            log.error("%s %s: MOCK integration not served: %s", *method_id(method), exc)
            ctx["integrationErrorMessage"] = f"MOCK integration: {exc}"[:512]
            raise r.Rejected(r.INTEGRATION_ERROR) from None
        ctx["integrationStatus"] = str(response.status)
        return response

    def _validate(
        self,
        snapshot: Snapshot,
        method: Method,
        request: IncomingRequest,
        headers: dict[str, str],
        path_params: dict[str, str],
    ) -> None:
        """The method's request validator: required parameters, then the body against its model."""
        if method.validate_parameters:
            query = _multi_query(request.query_string)
            absent = missing_parameters(method.request_parameters, headers, query, path_params)
            if absent:
                message = f"Missing required request parameters: [{', '.join(absent)}]"
                raise r.Rejected(r.BAD_REQUEST_PARAMETERS, message)
        if method.validate_body:
            model = select_model(method.request_models, headers.get("content-type"))
            schema = snapshot.models.get(model) if model else None
            if schema is not None:
                errors = body_errors(schema, request.body)
                if errors:
                    raise r.Rejected(r.BAD_REQUEST_BODY, details="[" + ", ".join(errors) + "]")

    def _authorize(
        self,
        snapshot: Snapshot,
        method: Method,
        request: IncomingRequest,
        *,
        headers: dict[str, str],
        path_params: dict[str, str],
        ids: RequestIds,
        ctx: dict[str, str],
    ) -> Authorization:
        """The method's Lambda authorizer (authorizer.py); the input event is built only on a miss."""
        path = unquote(request.path)
        arn = method_arn(snapshot, request.http_method, path)
        query = query_pairs(request.query_string)

        def identity(sources: Any) -> tuple[str, ...] | None:
            return identity_values(
                sources,
                headers=headers,
                header_pairs=request.headers,
                query_pairs=query,
                stage_variables=snapshot.stage_variables,
                context=ctx,
            )

        def event() -> dict[str, Any]:
            base = _proxy_event(
                snapshot, method, forwarded(request, ids), path_params=path_params, ids=ids, api_key=None
            )
            return rest_authorizer_event(arn, base)

        authorization = self.authorizers.authorize(
            snapshot, method, arn=arn, identity=identity, event=event, ctx=ctx, ids=ids
        )
        ctx["authorizer.integrationLatency"] = str(authorization.latency_ms)
        return authorization

    def _integrate(
        self, method: Method, event: dict[str, Any], ctx: dict[str, str], ids: RequestIds
    ) -> r.HttpResponse:
        """Invoke the function, wait at most the integration timeout, map its proxy response.

        The function keeps its own timeout: when the integration gives up first (504), the
        invocation runs on, as it does in AWS.
        """
        target = method.target
        assert target is not None
        invoked = time.perf_counter()
        lambda_trace = f"{ids.trace_id};Parent={secrets.token_hex(8)};Sampled=0"
        future = self._executor.submit(
            self._runner.invoke, target.function_name, target.qualifier, event, trace_id=lambda_trace
        )
        try:
            result = future.result(timeout=method.timeout_ms / 1000.0)
        except FutureTimeout:
            ctx["integrationErrorMessage"] = "Execution failed due to a timeout error"
            raise r.Rejected(r.INTEGRATION_TIMEOUT) from None
        except Exception:
            log.exception("invoking %s failed", target.function_name)
            raise r.Rejected(r.INTEGRATION_ERROR) from None
        finally:
            ctx["integrationLatency"] = str(int((time.perf_counter() - invoked) * 1000))
        if result.status == "throttled":
            # Lambda's 429 TooManyRequestsException reaches the client as API Gateway's 500.
            ctx["integrationStatus"] = "429"
            ctx["integrationErrorMessage"] = "Lambda throttled the invocation"
            raise r.Rejected(r.INTEGRATION_ERROR)
        ctx["integrationStatus"] = "200"
        if result.status != "ok":
            # A handler error or a function timeout: Lambda answers 200 with X-Amz-Function-Error,
            # which API Gateway turns into 502.
            detail = result.payload.get("errorMessage", "") if isinstance(result.payload, dict) else ""
            ctx["integrationErrorMessage"] = f"{result.error_type or result.status}: {detail}"[:512]
            raise r.Rejected(r.BAD_GATEWAY)
        try:
            response = r.map_proxy_response(result.payload)
        except r.MalformedResponse as exc:
            log.error("%s returned a malformed Lambda proxy response: %s", target.function_name, exc)
            ctx["integrationErrorMessage"] = f"Malformed Lambda proxy response: {exc}"
            raise r.Rejected(r.BAD_GATEWAY) from None
        if not any(k.lower() == "content-type" for k, _ in response.headers):
            response.headers.append(("Content-Type", "application/json"))
        return response


def method_id(method: Method) -> tuple[str, str]:
    """(HTTP method, resource path) for log messages."""
    return method.http_method, method.resource_path


def _multi_query(query_string: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in query_pairs(query_string):
        out.setdefault(name, []).append(value)
    return out


def _proxy_event(
    snapshot: Snapshot,
    method: Method,
    request: IncomingRequest,
    *,
    path_params: dict[str, str],
    ids: RequestIds,
    api_key: ApiKey | None,
    authorization: Authorization | None = None,
) -> dict[str, Any]:
    """The Lambda proxy event for a request (with the headers API Gateway added) to ``method``."""
    content_type = next((v for k, v in request.headers if k.lower() == "content-type"), None)
    return rest_proxy_event(
        http_method=request.http_method,
        resource_path=method.resource_path,
        resource_id=method.resource_id,
        path=unquote(request.path),
        path_parameters=path_params,
        headers=request.headers,
        query=query_pairs(request.query_string),
        body=request.body,
        base64_encoded=is_binary(content_type, request.body, snapshot.binary_media_types),
        stage=snapshot.stage,
        stage_variables=snapshot.stage_variables,
        api_id=snapshot.api_id,
        account_id=snapshot.account_id,
        deployment_id=snapshot.deployment_id,
        domain_name=request.host.split(":", 1)[0] if request.host else "127.0.0.1",
        protocol=request.protocol,
        request_id=ids.request_id,
        extended_request_id=ids.extended_request_id,
        received_at=ids.received_at,
        source_ip=request.source_ip,
        user_agent=next((v for k, v in request.headers if k.lower() == "user-agent"), None),
        api_key=api_key.value if api_key else None,
        api_key_id=api_key.id if api_key else None,
        authorizer=authorization.request_context() if authorization else None,
    )
