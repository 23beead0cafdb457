"""The small subset of Velocity (VTL) that our API Gateway mapping templates use, evaluated exactly.

API Gateway runs request and integration-response templates through Velocity. We deploy a few
templates only (the CORS preflight's MOCK integration), so this evaluates just what they need and
refuses everything else with ``VtlError`` instead of guessing what Velocity would do (``vtl_parser``
turns a template into a tree; this module evaluates it):

- text, ``## line`` and ``#* block *#`` comments;
- references ``$var``, ``$!var``, ``${var}``, ``$input.params('name')`` (path, then query string, then
  header, as API Gateway documents; headers case-insensitively), ``$context.<name>`` and
  ``$stageVariables.<name>`` (read only);
- ``#set($var = expr)``, ``#set($context.responseOverride.header.<Name> = expr)`` and
  ``#set($context.responseOverride.status = expr)`` (an override may be set once: API Gateway answers
  5XX to a second one);
- ``#if(cond)`` / ``#elseif(cond)`` / ``#else`` / ``#end`` and ``#foreach($x in expr)`` over a list;
- expressions: 'single' and "double" quoted strings (references interpolated in the latter),
  integers, ``true``/``false``, ``[a, b]`` lists, ``==``, ``!=``, ``&&``, ``||``, ``!`` and parentheses.

Whitespace: a line holding one directive (or comment) and whitespace only renders nothing (Velocity's
"lines" gobbling); other text is kept as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from embedded_stack.apigateway.vtl_parser import (
    Foreach,
    If,
    ListExpr,
    Lit,
    Op,
    Ref,
    SetDirective,
    Str,
    VtlError,
    parse,
)

__all__ = ["Inputs", "Result", "VtlError", "render"]


@dataclass
class Inputs:
    """What a template may read: request parameters, $context and stage variables."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, str] = field(default_factory=dict)
    stage_variables: Mapping[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str:
        """``$input.params(name)``: path, then query string, then header; "" when absent."""
        if name in self.path:
            return self.path[name]
        if name in self.query:
            return self.query[name]
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")


@dataclass
class Result:
    """The rendered text and the overrides the template set."""

    body: str
    header_overrides: dict[str, str] = field(default_factory=dict)
    status_override: int | None = None


_OVERRIDE_HEADER = ("context", "responseOverride", "header")


class _Renderer:
    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.vars: dict[str, Any] = {}
        self.result = Result(body="")

    def render(self, nodes: tuple[Any, ...] | list[Any], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Ref):
                value = self.value(node)
                out.append(("" if node.quiet else node.text) if value is None else _text(value))
            elif isinstance(node, SetDirective):
                self.assign(node.target, self.eval(node.value))
            elif isinstance(node, If):
                branch = next((body for cond, body in node.branches if _truthy(self.eval(cond))), None)
                self.render(node.otherwise if branch is None else branch, out)
            elif isinstance(node, Foreach):
                items = self.eval(node.source)
                if items is None:
                    continue  # Velocity skips a null source
                if not isinstance(items, list):
                    raise VtlError(f"#foreach over a {type(items).__name__}, not a list")
                for item in items:
                    self.vars[node.var] = item
                    self.render(node.body, out)
            else:  # pragma: no cover - the parser produces nothing else
                raise VtlError(f"unknown node {node!r}")

    def eval(self, node: Any) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Str):
            if not node.interpolate:
                return node.value
            out: list[str] = []
            self.render(parse(node.value), out)
            return "".join(out)
        if isinstance(node, ListExpr):
            return [self.eval(item) for item in node.items]
        if isinstance(node, Ref):
            return self.value(node)
        if isinstance(node, Op):
            return self.operate(node)
        raise VtlError(f"unknown expression {node!r}")  # pragma: no cover

    def operate(self, node: Op) -> bool:
        """``!``, ``&&`` and ``||`` (short-circuit, on Velocity truthiness), ``==`` and ``!=``."""
        first = self.eval(node.args[0])
        if node.op == "!":
            return not _truthy(first)
        if node.op == "&&":
            return _truthy(first) and _truthy(self.eval(node.args[1]))
        if node.op == "||":
            return _truthy(first) or _truthy(self.eval(node.args[1]))
        equal = _equal(first, self.eval(node.args[1]))
        return equal if node.op == "==" else not equal

    def value(self, ref: Ref) -> Any:
        root, root_args = ref.parts[0]
        if root_args is not None:
            raise VtlError(f"unsupported call in {ref.text}")
        rest = ref.parts[1:]
        if root == "input":
            if len(rest) == 1 and rest[0][0] == "params" and rest[0][1] is not None and len(rest[0][1]) == 1:
                name = self.eval(rest[0][1][0])
                if not isinstance(name, str):
                    raise VtlError(f"{ref.text}: the parameter name must be a string")
                return self.inputs.param(name)
            raise VtlError(f"unsupported $input reference {ref.text} (only $input.params('name'))")
        if root in ("context", "stageVariables"):
            if not rest or any(args is not None for _, args in rest):
                raise VtlError(f"unsupported ${root} reference {ref.text}")
            key = ".".join(name for name, _ in rest)
            source = self.inputs.context if root == "context" else self.inputs.stage_variables
            return source.get(key)
        if root in ("util", "method", "session", "integration"):
            raise VtlError(f"unsupported reference {ref.text}")
        if rest:
            raise VtlError(f"unsupported property or method on a variable: {ref.text}")
        return self.vars.get(root)

    def assign(self, target: Ref, value: Any) -> None:
        names = tuple(name for name, _ in target.parts)
        if any(args is not None for _, args in target.parts):
            raise VtlError(f"cannot #set a method call: {target.text}")
        if value is None:
            return  # Velocity 1.7 leaves the left side unchanged when the right side is null
        if len(names) == 1:
            if names[0] in ("input", "context", "stageVariables", "util"):
                raise VtlError(f"cannot #set ${names[0]}")
            self.vars[names[0]] = value
        elif names[:3] == _OVERRIDE_HEADER and len(names) == 4:
            header = names[3]
            if header.lower() in (h.lower() for h in self.result.header_overrides):
                raise VtlError(f"response header {header} overridden twice (API Gateway answers 5XX)")
            self.result.header_overrides[header] = _text(value)
        elif names == ("context", "responseOverride", "status"):
            if self.result.status_override is not None:
                raise VtlError("response status overridden twice (API Gateway answers 5XX)")
            try:
                self.result.status_override = int(_text(value))
            except ValueError as exc:
                raise VtlError(f"response status override {value!r} is not a number") from exc
        else:
            raise VtlError(f"unsupported #set target {target.text}")


def _truthy(value: Any) -> bool:
    return value is not None and value is not False


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if type(left) is type(right):
        return bool(left == right)
    return _text(left) == _text(right)  # Velocity compares different classes by toString()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)


def render(template: str, inputs: Inputs) -> Result:
    """Evaluate ``template``; raises VtlError on unsupported constructs or a second override."""
    renderer = _Renderer(inputs)
    out: list[str] = []
    renderer.render(parse(template), out)
    renderer.result.body = "".join(out)
    return renderer.result
