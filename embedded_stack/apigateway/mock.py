"""MOCK integrations as API Gateway runs them (our CORS preflight is one).

The request template selects the status (``{"statusCode": 200}``); the integration response whose
``selectionPattern`` matches that status (else the default one, without a pattern) gives the method
response: its static ``method.response.header.X = 'value'`` parameters, then its response template,
whose ``$context.responseOverride`` settings apply last. Anything we do not emulate raises
``MockError`` so the gateway answers 500 with a log line instead of guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from embedded_stack.apigateway import vtl
from embedded_stack.apigateway.controlplane import IntegrationResponse, Method
from embedded_stack.apigateway.responses import HttpResponse

_HEADER_TARGET = "method.response.header."
_JSON = "application/json"


class MockError(RuntimeError):
    """The MOCK integration cannot be served as configured (the gateway answers 500)."""


def respond(method: Method, inputs: vtl.Inputs, content_type: str | None, accept: str | None) -> HttpResponse:
    """The method response of a MOCK integration for one request."""
    status = _request_status(method, inputs, content_type)
    chosen = _select(method.integration_responses, status)
    if chosen.status_code not in method.method_responses:
        raise MockError(f"integration response {chosen.status_code} has no method response")
    headers: list[tuple[str, str]] = []
    for target, source in chosen.parameters.items():
        if not target.startswith(_HEADER_TARGET):
            raise MockError(f"unsupported response parameter {target}")
        if not (len(source) >= 2 and source.startswith("'") and source.endswith("'")):
            raise MockError(f"unsupported source {source!r} for {target} (only 'static' values)")
        headers.append((target[len(_HEADER_TARGET) :], source[1:-1]))
    media_type, template = _response_template(chosen, accept)
    try:
        rendered = vtl.render(template, inputs)
    except vtl.VtlError as exc:
        raise MockError(f"response template of {chosen.status_code}: {exc}") from exc
    headers.insert(0, ("Content-Type", media_type))
    for name, value in rendered.header_overrides.items():
        headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
        headers.append((name, value))
    final = rendered.status_override if rendered.status_override is not None else int(chosen.status_code)
    return HttpResponse(status=final, headers=headers, body=rendered.body.encode("utf-8"))


def _request_status(method: Method, inputs: vtl.Inputs, content_type: str | None) -> int:
    """Render the request template chosen by Content-Type and read its statusCode."""
    media_type = (content_type or _JSON).split(";", 1)[0].strip().lower()
    templates = {k.lower(): v for k, v in method.request_templates.items()}
    template = templates.get(media_type)
    if template is None:
        raise MockError(
            f"no request template for Content-Type {media_type!r} "
            f"(templates: {sorted(templates)}); passthrough to a MOCK is not emulated"
        )
    try:
        output = vtl.render(template, inputs).body
    except vtl.VtlError as exc:
        raise MockError(f"request template: {exc}") from exc
    try:
        status = json.loads(output)["statusCode"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MockError(f"request template output {output[:200]!r} has no statusCode") from exc
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MockError(f"request template statusCode {status!r} is not an HTTP status")
    return status


def _select(responses: tuple[IntegrationResponse, ...], status: int) -> IntegrationResponse:
    """The response whose selectionPattern matches the status, else the default one."""
    for candidate in responses:
        pattern = candidate.selection_pattern
        if pattern is not None:
            try:
                if re.fullmatch(pattern, str(status)):
                    return candidate
            except re.error as exc:
                raise MockError(f"invalid selectionPattern {pattern!r}: {exc}") from exc
    default = next((c for c in responses if c.selection_pattern is None), None)
    if default is None:
        raise MockError(f"no integration response matches status {status} and none is the default")
    return default


def _response_template(chosen: IntegrationResponse, accept: str | None) -> tuple[str, str]:
    """(media type, template): the Accept header's type when mapped, else JSON, else the first."""
    templates: Mapping[str, str] = chosen.templates
    if not templates:
        return _JSON, ""
    wanted = [part.split(";", 1)[0].strip().lower() for part in (accept or "").split(",")]
    by_type = {k.lower(): (k, v) for k, v in templates.items()}
    for media_type in [*wanted, _JSON]:
        if media_type in by_type:
            return by_type[media_type]
    return next(iter(templates.items()))
