"""The small subset of Velocity (VTL) that our API Gateway mapping templates use, evaluated exactly.

API Gateway runs request and integration-response templates through Velocity. We deploy a few
templates only (the CORS preflight's MOCK integration), so this evaluates just what they need and
refuses everything else with ``VtlError`` instead of guessing what Velocity would do:

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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_DIRECTIVE = re.compile(r"#(?:\{(set|if|elseif|else|end|foreach)\}|(set|if|elseif|else|end|foreach)\b)")
_OTHER_DIRECTIVE = re.compile(r"#\{?[A-Za-z]")
_NUMBER = re.compile(r"-?\d+")
_TOKEN = re.compile(r"\s*(==|!=|&&|\|\||[!()\[\],=])")


class VtlError(ValueError):
    """The template uses a construct this evaluator does not support, or is malformed."""


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


# -- AST ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ref:
    parts: tuple[tuple[str, tuple[Any, ...] | None], ...]  # (name, call arguments or None)
    quiet: bool
    text: str


@dataclass(frozen=True)
class _Str:
    value: str
    interpolate: bool


@dataclass(frozen=True)
class _Lit:
    value: Any


@dataclass(frozen=True)
class _List:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Op:
    op: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class _Set:
    target: _Ref
    value: Any


@dataclass(frozen=True)
class _If:
    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]


@dataclass(frozen=True)
class _Foreach:
    var: str
    source: Any
    body: tuple[Any, ...]


# -- parser ------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0

    def error(self, message: str) -> VtlError:
        line = self.src.count("\n", 0, self.pos) + 1
        return VtlError(f"line {line}: {message}")

    # Template level ---------------------------------------------------------------------------------

    def block(self, closers: tuple[str, ...]) -> tuple[list[Any], str | None]:
        """Nodes up to one of ``closers`` (consumed; returned) or the end (None)."""
        nodes: list[Any] = []
        text: list[str] = []

        def flush() -> None:
            if text:
                nodes.append("".join(text))
                text.clear()

        while self.pos < len(self.src):
            ch = self.src[self.pos]
            if self._comment(text):
                continue
            if ch == "#":
                match = _DIRECTIVE.match(self.src, self.pos)
                if match is None:
                    if _OTHER_DIRECTIVE.match(self.src, self.pos):
                        word = _IDENT.match(self.src, self.pos + 1 + (self.src[self.pos + 1] == "{"))
                        raise self.error(f"unsupported directive #{word.group(0) if word else '?'}")
                    text.append(ch)
                    self.pos += 1
                    continue
                name = match.group(1) or match.group(2)
                gobble = self._gobble_before(text, check_only=True)
                self.pos = match.end()
                if name in closers:
                    if name == "elseif":
                        cond = self._parenthesised(self._expr)
                        self._gobble_after(text, gobble)
                        flush()
                        nodes.append(("elseif", cond))
                        return nodes, name
                    self._gobble_after(text, gobble)
                    flush()
                    return nodes, name
                if name in ("else", "elseif", "end"):
                    raise self.error(f"#{name} without an open #if or #foreach")
                node = self._directive(name, text, gobble)
                flush()
                nodes.append(node)
                continue
            if ch == "$":
                ref = self._reference()
                if ref is not None:
                    flush()
                    nodes.append(ref)
                    continue
            text.append(ch)
            self.pos += 1
        flush()
        return nodes, None

    def _comment(self, text: list[str]) -> bool:
        """Skip a ``##`` or ``#* *#`` comment at pos; False when there is none."""
        if self.src.startswith("##", self.pos):
            self._gobble_before(text)
            end = self.src.find("\n", self.pos)
            self.pos = len(self.src) if end < 0 else end + 1
            return True
        if self.src.startswith("#*", self.pos):
            gobble = self._gobble_before(text, check_only=True)
            end = self.src.find("*#", self.pos + 2)
            if end < 0:
                raise self.error("unterminated #* comment")
            self.pos = end + 2
            self._gobble_after(text, gobble)
            return True
        return False

    def _gobble_before(self, text: list[str], check_only: bool = False) -> bool:
        """True when only whitespace precedes the current position on its line."""
        joined = "".join(text)
        start = self.src.rfind("\n", 0, self.pos) + 1
        if self.src[start : self.pos].strip():
            return False
        if not joined.endswith(self.src[start : self.pos]):
            return False  # the whitespace belongs to text already emitted elsewhere
        if not check_only:
            self._trim(text, self.pos - start)
        return True

    @staticmethod
    def _trim(text: list[str], count: int) -> None:
        if count:
            joined = "".join(text)[:-count]
            text.clear()
            text.append(joined)

    def _gobble_after(self, text: list[str], gobble: bool) -> None:
        """Consume the rest of the line when the directive was alone on it (and drop its indent)."""
        if not gobble:
            return
        end = self.src.find("\n", self.pos)
        rest = self.src[self.pos : len(self.src) if end < 0 else end]
        if rest.strip():
            return
        start = self.src.rfind("\n", 0, self.pos) + 1
        indent = len(self.src[start:]) - len(self.src[start:].lstrip(" \t"))
        self._trim(text, min(indent, len("".join(text))))
        self.pos = len(self.src) if end < 0 else end + 1

    def _directive(self, name: str, text: list[str], gobble: bool) -> Any:
        if name == "set":
            self._expect("(")
            target = self._variable()
            if target is None or target.quiet:
                raise self.error("#set needs a reference on its left side")
            self._expect("=")
            value = self._expr()
            self._expect(")")
            self._gobble_after(text, gobble)
            return _Set(target, value)
        if name == "if":
            branches: list[tuple[Any, tuple[Any, ...]]] = []
            cond = self._parenthesised(self._expr)
            self._gobble_after(text, gobble)
            otherwise: tuple[Any, ...] = ()
            while True:
                body, closer = self.block(("elseif", "else", "end"))
                if closer is None:
                    raise self.error("#if without #end")
                next_cond = None
                if closer == "elseif":
                    next_cond = body.pop()[1]
                branches.append((cond, tuple(body)))
                if closer == "end":
                    break
                if closer == "else":
                    rest, closer = self.block(("end",))
                    if closer is None:
                        raise self.error("#else without #end")
                    otherwise = tuple(rest)
                    break
                cond = next_cond
            return _If(tuple(branches), otherwise)
        # foreach
        self._expect("(")
        var = self._variable()
        if var is None or len(var.parts) != 1 or var.parts[0][1] is not None:
            raise self.error("#foreach needs a plain $variable")
        self._skip_space()
        if not self.src.startswith("in", self.pos):
            raise self.error("#foreach expects 'in'")
        self.pos += 2
        source = self._expr()
        self._expect(")")
        self._gobble_after(text, gobble)
        body, closer = self.block(("end",))
        if closer is None:
            raise self.error("#foreach without #end")
        return _Foreach(var.parts[0][0], source, tuple(body))

    # References and expressions -----------------------------------------------------------------------

    def _reference(self) -> _Ref | None:
        """Parse ``$a.b('x')`` at pos; None (pos unchanged) when it is literal text."""
        start = self.pos
        pos = self.pos + 1
        quiet = self.src.startswith("!", pos)
        pos += quiet
        braced = self.src.startswith("{", pos)
        pos += braced
        match = _IDENT.match(self.src, pos)
        if match is None:
            return None
        parts: list[tuple[str, tuple[Any, ...] | None]] = [(match.group(0), None)]
        self.pos = match.end()
        while self.src.startswith(".", self.pos):
            member = _IDENT.match(self.src, self.pos + 1)
            if member is None:
                break
            self.pos = member.end()
            args: tuple[Any, ...] | None = None
            if self.src.startswith("(", self.pos):
                self.pos += 1
                items: list[Any] = []
                self._skip_space()
                if not self.src.startswith(")", self.pos):
                    items.append(self._expr())
                    while self._accept(","):
                        items.append(self._expr())
                self._expect(")")
                args = tuple(items)
            parts.append((member.group(0), args))
        if braced:
            if not self.src.startswith("}", self.pos):
                raise self.error("unterminated ${ reference")
            self.pos += 1
        return _Ref(tuple(parts), quiet, self.src[start : self.pos])

    def _variable(self) -> _Ref | None:
        """A reference after optional whitespace inside a directive's parentheses."""
        self._skip_space()
        return self._reference() if self.src.startswith("$", self.pos) else None

    def _skip_space(self) -> None:
        while self.pos < len(self.src) and self.src[self.pos].isspace():
            self.pos += 1

    def _accept(self, token: str) -> bool:
        match = _TOKEN.match(self.src, self.pos)
        if match and match.group(1) == token:
            self.pos = match.end()
            return True
        return False

    def _expect(self, token: str) -> None:
        if not self._accept(token):
            raise self.error(f"expected {token!r} at {self.src[self.pos : self.pos + 20]!r}")

    def _parenthesised(self, parse: Any) -> Any:
        self._expect("(")
        value = parse()
        self._expect(")")
        return value

    def _expr(self) -> Any:
        left = self._and()
        while self._accept("||"):
            left = _Op("||", (left, self._and()))
        return left

    def _and(self) -> Any:
        left = self._not()
        while self._accept("&&"):
            left = _Op("&&", (left, self._not()))
        return left

    def _not(self) -> Any:
        if self._accept("!"):
            return _Op("!", (self._not(),))
        left = self._primary()
        for op in ("==", "!="):
            if self._accept(op):
                return _Op(op, (left, self._primary()))
        return left

    def _primary(self) -> Any:
        self._skip_space()
        if self._accept("("):
            value = self._expr()
            self._expect(")")
            return value
        if self._accept("["):
            items: list[Any] = []
            if not self._accept("]"):
                items.append(self._expr())
                while self._accept(","):
                    items.append(self._expr())
                self._expect("]")
            return _List(tuple(items))
        ch = self.src[self.pos : self.pos + 1]
        if ch in ("'", '"'):
            end = self.src.find(ch, self.pos + 1)
            if end < 0:
                raise self.error("unterminated string")
            value = self.src[self.pos + 1 : end]
            self.pos = end + 1
            return _Str(value, interpolate=ch == '"' and ("$" in value or "#" in value))
        if ch == "$":
            ref = self._reference()
            if ref is not None:
                return ref
        for word, value in (("true", True), ("false", False)):
            if re.match(rf"{word}\b", self.src[self.pos :]):
                self.pos += len(word)
                return _Lit(value)
        number = _NUMBER.match(self.src, self.pos)
        if number:
            self.pos = number.end()
            return _Lit(int(number.group(0)))
        raise self.error(f"unsupported expression at {self.src[self.pos : self.pos + 20]!r}")


def parse(template: str) -> tuple[Any, ...]:
    """Parse a template; raises VtlError on anything outside the supported subset."""
    parser = _Parser(template)
    nodes, closer = parser.block(())
    if closer is not None:  # pragma: no cover - block(()) returns only at the end
        raise parser.error(f"unexpected #{closer}")
    return tuple(nodes)


# -- evaluation --------------------------------------------------------------------------------------

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
            elif isinstance(node, _Ref):
                value = self.value(node)
                out.append(("" if node.quiet else node.text) if value is None else _text(value))
            elif isinstance(node, _Set):
                self.assign(node.target, self.eval(node.value))
            elif isinstance(node, _If):
                branch = next((body for cond, body in node.branches if _truthy(self.eval(cond))), None)
                self.render(node.otherwise if branch is None else branch, out)
            elif isinstance(node, _Foreach):
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
        if isinstance(node, _Lit):
            return node.value
        if isinstance(node, _Str):
            if not node.interpolate:
                return node.value
            out: list[str] = []
            self.render(parse(node.value), out)
            return "".join(out)
        if isinstance(node, _List):
            return [self.eval(item) for item in node.items]
        if isinstance(node, _Ref):
            return self.value(node)
        if isinstance(node, _Op):
            return self.operate(node)
        raise VtlError(f"unknown expression {node!r}")  # pragma: no cover

    def operate(self, node: _Op) -> bool:
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

    def value(self, ref: _Ref) -> Any:
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

    def assign(self, target: _Ref, value: Any) -> None:
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
