"""Match a request path to a deployed resource the way API Gateway REST does.

Literal path parts win over ``{param}`` parts, and ``{param+}`` (greedy) matches what is left; a
method falls back to ``ANY`` when the resource has one. No match at all is API Gateway's famous
403 "Missing Authentication Token".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from embedded_stack.apigateway.controlplane import Method

_PARAM = re.compile(r"^\{([^{}+]+)(\+?)\}$")


@dataclass(frozen=True)
class _Template:
    path: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    rank: tuple[int, ...]  # per part: 2 literal, 1 {param}, 0 {greedy+}; higher sorts first


def _compile(path: str) -> _Template:
    if path == "/":
        return _Template(path, re.compile(r"^/$"), (), ())
    regex, names, rank = "", [], []
    for part in path.strip("/").split("/"):
        match = _PARAM.match(part)
        if not match:
            regex += "/" + re.escape(part)
            rank.append(2)
        elif match.group(2):
            regex += "/(.+)"
            names.append(match.group(1))
            rank.append(0)
        else:
            regex += "/([^/]+)"
            names.append(match.group(1))
            rank.append(1)
    return _Template(path, re.compile("^" + regex + "/?$"), tuple(names), tuple(rank))


class RouteTable:
    """Resource templates of one snapshot, tried most specific first."""

    def __init__(self, methods: dict[tuple[str, str], Method]) -> None:
        self._methods = methods
        templates = {_compile(path) for path, _ in methods}
        self._templates = sorted(templates, key=lambda t: t.rank, reverse=True)

    def match(self, path: str, http_method: str) -> tuple[Method, dict[str, str]] | None:
        """The method and decoded path parameters for a stage-relative, still-encoded path, or None.

        Matching happens before decoding, so an encoded slash (%2F) stays inside one parameter.
        """
        for template in self._templates:
            found = template.pattern.match(path)
            if not found:
                continue
            method = self._methods.get((template.path, http_method.upper())) or self._methods.get(
                (template.path, "ANY")
            )
            if method is None:
                return None  # API Gateway does not fall back to a less specific resource
            params = {
                name: unquote(value) for name, value in zip(template.names, found.groups(), strict=True)
            }
            return method, params
        return None
