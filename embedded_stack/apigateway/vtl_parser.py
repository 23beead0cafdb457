"""Velocity (VTL) templates parsed into a tree: the syntax of the subset ``vtl`` evaluates.

Anything outside the subset (see ``vtl``) raises ``VtlError`` with the line it is on, so that a
template we cannot emulate fails loudly instead of rendering something Velocity would not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_DIRECTIVE = re.compile(r"#(?:\{(set|if|elseif|else|end|foreach)\}|(set|if|elseif|else|end|foreach)\b)")
_OTHER_DIRECTIVE = re.compile(r"#\{?[A-Za-z]")
_NUMBER = re.compile(r"-?\d+")
_TOKEN = re.compile(r"\s*(==|!=|&&|\|\||[!()\[\],=])")


class VtlError(ValueError):
    """The template uses a construct this evaluator does not support, or is malformed."""


# -- AST ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    parts: tuple[tuple[str, tuple[Any, ...] | None], ...]  # (name, call arguments or None)
    quiet: bool
    text: str


@dataclass(frozen=True)
class Str:
    value: str
    interpolate: bool


@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Op:
    op: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class SetDirective:
    target: Ref
    value: Any


@dataclass(frozen=True)
class If:
    branches: tuple[tuple[Any, tuple[Any, ...]], ...]
    otherwise: tuple[Any, ...]


@dataclass(frozen=True)
class Foreach:
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
            return SetDirective(target, value)
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
            return If(tuple(branches), otherwise)
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
        return Foreach(var.parts[0][0], source, tuple(body))

    # References and expressions -----------------------------------------------------------------------

    def _reference(self) -> Ref | None:
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
        return Ref(tuple(parts), quiet, self.src[start : self.pos])

    def _variable(self) -> Ref | None:
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
            left = Op("||", (left, self._and()))
        return left

    def _and(self) -> Any:
        left = self._not()
        while self._accept("&&"):
            left = Op("&&", (left, self._not()))
        return left

    def _not(self) -> Any:
        if self._accept("!"):
            return Op("!", (self._not(),))
        left = self._primary()
        for op in ("==", "!="):
            if self._accept(op):
                return Op(op, (left, self._primary()))
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
            return ListExpr(tuple(items))
        ch = self.src[self.pos : self.pos + 1]
        if ch in ("'", '"'):
            end = self.src.find(ch, self.pos + 1)
            if end < 0:
                raise self.error("unterminated string")
            value = self.src[self.pos + 1 : end]
            self.pos = end + 1
            return Str(value, interpolate=ch == '"' and ("$" in value or "#" in value))
        if ch == "$":
            ref = self._reference()
            if ref is not None:
                return ref
        for word, value in (("true", True), ("false", False)):
            if re.match(rf"{word}\b", self.src[self.pos :]):
                self.pos += len(word)
                return Lit(value)
        number = _NUMBER.match(self.src, self.pos)
        if number:
            self.pos = number.end()
            return Lit(int(number.group(0)))
        raise self.error(f"unsupported expression at {self.src[self.pos : self.pos + 20]!r}")


def parse(template: str) -> tuple[Any, ...]:
    """Parse a template; raises VtlError on anything outside the supported subset."""
    parser = _Parser(template)
    nodes, closer = parser.block(())
    if closer is not None:  # pragma: no cover - block(()) returns only at the end
        raise parser.error(f"unexpected #{closer}")
    return tuple(nodes)
