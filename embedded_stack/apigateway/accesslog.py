"""Access log lines rendered from the stage's ``accessLogSettings.format``, as CloudWatch would get them.

``$context.identity.apiKey`` is always rendered as ``-``: key values are secrets and never logged
(the key id, ``$context.identity.apiKeyId``, identifies the partner).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path

# $context.x or ${context.x}; a brace is only consumed when it opens the variable.
_VARIABLE = re.compile(r"\$\{(context(?:\.[A-Za-z0-9_]+)+)\}|\$(context(?:\.[A-Za-z0-9_]+)+)")

# Used when the stage has no access log settings: the fields the Terraform stage logs.
DEFAULT_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "apiKeyId": "$context.identity.apiKeyId",
        "integrationLatency": "$context.integrationLatency",
        "responseLatency": "$context.responseLatency",
        "errorMessage": "$context.error.message",
        "xrayTraceId": "$context.xrayTraceId",
    }
)

_NEVER_LOGGED = frozenset({"context.identity.apiKey"})


def render(template: str, values: Mapping[str, str]) -> str:
    """Substitute ``$context.x`` variables; unknown or empty ones become ``-`` as in API Gateway."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in _NEVER_LOGGED:
            return "-"
        value = values.get(name.removeprefix("context."))
        return json.dumps(value)[1:-1] if value not in (None, "") else "-"

    return _VARIABLE.sub(substitute, template)


class AccessLog:
    """Appends one rendered line per request to a file (if given) and hands it to a sink."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, template: str | None, values: Mapping[str, str]) -> str:
        """Render and persist one line; returns it (tests and the console use it)."""
        line = render(template or DEFAULT_FORMAT, values)
        if self._path is not None:
            with self._lock, self._path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        return line
