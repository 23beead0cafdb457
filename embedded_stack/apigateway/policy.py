"""A Lambda authorizer's output as API Gateway reads it: principal, IAM policy, context, usage key.

Parsed (and checked) once per invocation, then cached with the result; each request evaluates the
policy against its own method ARN, ``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``,
as IAM does: ``*`` matches any run of characters (``/`` included) and ``?`` one character, a
matching Deny beats any Allow, and nothing matching is an implicit deny. Anything that is not a
valid authorizer output is ``MalformedOutput``: API Gateway answers it with a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

INVOKE_ACTION = "execute-api:Invoke"
MAX_RESOURCE_ARN = 512  # API Gateway's limit on a Resource ARN in an authorizer policy
_VERSIONS = frozenset({"2012-10-17", "2008-10-17"})

Decision = Literal["allow", "explicit_deny", "implicit_deny"]


class MalformedOutput(ValueError):
    """The function's answer is not an authorizer output API Gateway accepts (500)."""


class UnsupportedPolicy(MalformedOutput):
    """Valid IAM, but not emulated here (a policy ``Condition``): refused rather than guessed."""


def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` exactly one; everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = (re.IGNORECASE | re.DOTALL) if ignore_case else re.DOTALL
    return re.compile(regex + r"\Z", flags)


def _strings(statement: Mapping[str, Any], key: str, index: int) -> tuple[str, ...]:
    value = statement[key]
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise MalformedOutput(f"Statement[{index}].{key} must be a string or a non-empty list of strings")
    return tuple(values)


def _one_of(statement: Mapping[str, Any], key: str, index: int) -> tuple[tuple[str, ...], bool]:
    """The values of ``key`` or ``Not<key>`` (exactly one must be present) and whether negated."""
    present = [k for k in (key, f"Not{key}") if k in statement]
    if len(present) != 1:
        raise MalformedOutput(f"Statement[{index}] must have exactly one of {key} and Not{key}")
    return _strings(statement, present[0], index), present[0] != key


@dataclass(frozen=True)
class Statement:
    """One policy statement, its wildcards compiled."""

    allow: bool
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool

    def applies_to(self, method_arn: str) -> bool:
        """Whether this statement covers invoking ``method_arn`` (execute-api:Invoke)."""
        action = any(p.match(INVOKE_ACTION) for p in self.actions) != self.not_action
        return action and any(p.match(method_arn) for p in self.resources) != self.not_resource


def _statement(raw: Any, index: int) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedOutput(f"Statement[{index}] is not an object")
    if "Condition" in raw:
        raise UnsupportedPolicy(f"Statement[{index}] has a Condition: not evaluated by the embedded gateway")
    if "Principal" in raw or "NotPrincipal" in raw:
        raise MalformedOutput(f"Statement[{index}]: an authorizer policy names no Principal")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedOutput(f"Statement[{index}].Effect must be Allow or Deny, not {effect!r}")
    actions, not_action = _one_of(raw, "Action", index)
    resources, not_resource = _one_of(raw, "Resource", index)
    too_long = [r for r in resources if len(r) > MAX_RESOURCE_ARN]
    if too_long:
        raise MalformedOutput(f"Statement[{index}]: a Resource is over {MAX_RESOURCE_ARN} characters")
    return Statement(
        allow=effect == "Allow",
        actions=tuple(_wildcard(a, ignore_case=True) for a in actions),
        not_action=not_action,
        resources=tuple(_wildcard(r, ignore_case=False) for r in resources),
        not_resource=not_resource,
    )


def _statements(document: Any) -> tuple[Statement, ...]:
    if not isinstance(document, dict):
        raise MalformedOutput("policyDocument must be an object")
    version = document.get("Version")
    if version is not None and version not in _VERSIONS:
        raise MalformedOutput(f"policyDocument.Version {version!r} is not an IAM policy version")
    if "Statement" not in document:
        raise MalformedOutput("policyDocument has no Statement")
    raw = document["Statement"]
    raws = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raws, list):
        raise MalformedOutput("policyDocument.Statement must be an object or a list")
    return tuple(_statement(s, i) for i, s in enumerate(raws))


def _context_value(key: str, value: Any) -> str | None:
    """API Gateway passes context values on as strings (``true``, ``123``); null stays null."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise MalformedOutput(f"context[{key!r}] is {type(value).__name__}: only strings, numbers and booleans")


@dataclass(frozen=True)
class AuthorizerOutput:
    """What API Gateway keeps of a valid authorizer answer (and caches for the TTL)."""

    principal_id: str
    statements: tuple[Statement, ...]
    context: dict[str, str | None] = field(default_factory=dict)
    usage_identifier_key: str | None = None

    def decide(self, method_arn: str) -> Decision:
        """Deny beats Allow; no statement covering the ARN is an implicit deny."""
        allowed = False
        for statement in self.statements:
            if statement.applies_to(method_arn):
                if not statement.allow:
                    return "explicit_deny"
                allowed = True
        return "allow" if allowed else "implicit_deny"


def parse_output(payload: Any) -> AuthorizerOutput:
    """Check a function's answer as API Gateway does; raises MalformedOutput (a 500) when invalid."""
    if not isinstance(payload, dict):
        raise MalformedOutput("the authorizer output is not a JSON object")
    principal = payload.get("principalId")
    if not isinstance(principal, str):
        raise MalformedOutput("principalId is missing or not a string")
    context = payload.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise MalformedOutput("context must be an object")
    usage_key = payload.get("usageIdentifierKey")
    if usage_key is not None and not isinstance(usage_key, str):
        raise MalformedOutput("usageIdentifierKey must be a string")
    return AuthorizerOutput(
        principal_id=principal,
        statements=_statements(payload.get("policyDocument")),
        context={str(k): _context_value(str(k), v) for k, v in context.items()},
        usage_identifier_key=usage_key,
    )
