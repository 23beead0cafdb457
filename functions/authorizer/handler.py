"""REQUEST authorizer: authenticates the ``x-api-key`` header against the key records and answers
API Gateway with the partner, the key's scope and the key as the usage identifier.

API Gateway caches the answer per key (the identity source) for the stage's TTL and applies it to
every method, so the policy lists every method the scope allows on this API stage, never only the
method of the request that caused the call. What each answer becomes (AWS's documented behaviour):

- no header, or not shaped like an API key: ``Unauthorized`` -> 401 (API Gateway answers 401 itself
  when the header is missing, without calling us);
- a key without a record: ``Unauthorized`` -> 401;
- a record that is not active: an explicit Deny -> 403;
- otherwise Allow on the scope's methods -> the request goes on, with ``context`` as
  ``requestContext.authorizer`` and ``usageIdentifierKey`` metering the key in its usage plan
  (the API's key source is AUTHORIZER). A method outside the scope gets API Gateway's 403.

A DynamoDB failure raises, which API Gateway answers with 500: a transient error must not look like
a bad key. The key value is never logged; the X-Ray SDK is not imported (Lambda's Active tracing
still records the invocation), which keeps the cold start near the bare client's.
"""

from __future__ import annotations

import re
from typing import Any

from apikit import api_keys, logs, scopes

# API Gateway keys are 20-128 characters (generated ones: 40 alphanumerics); nothing else is looked up.
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{20,128}\Z")
# arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path...>
_METHOD_ARN = re.compile(r"^(arn:[\w-]+:execute-api:[\w-]+:\d{12}:[A-Za-z0-9]+/[A-Za-z0-9_-]+)/[A-Z*]+/")

log = logs.get_logger()


class Unauthorized(Exception):
    """Failing with exactly this message is how a Lambda authorizer makes API Gateway answer 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == name:
            return value if isinstance(value, str) else None
    return None


def _stage_arn(event: dict[str, Any]) -> str:
    """``arn:...:<api id>/<stage>`` of the method being called; anything else is a bug (500)."""
    match = _METHOD_ARN.match(str(event.get("methodArn") or ""))
    if match is None:
        raise ValueError("methodArn is not an execute-api method ARN")
    return match.group(1)


def _policy(effect: str, resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}],
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Authenticate the key; Allow exactly the scope's methods on this API stage, or Deny, or 401."""
    stage_arn = _stage_arn(event)
    value = _header(event, "x-api-key")
    if value is None or not _KEY_SHAPE.match(value):
        log.info("authorizer", extra={"decision": "unauthorized", "reason": "no key or not a key"})
        raise Unauthorized
    record = api_keys.lookup(value)
    if record is None:
        log.info("authorizer", extra={"decision": "unauthorized", "reason": "unknown key"})
        raise Unauthorized
    fields = {"partner": record.partner, "key": record.key_name, "scope": record.scope}
    methods = scopes.METHODS.get(record.scope, ())
    if not record.active or not methods:
        log.info("authorizer", extra={"decision": "deny", "state": record.state, **fields})
        return {"principalId": record.partner, "policyDocument": _policy("Deny", [f"{stage_arn}/*"])}
    log.info("authorizer", extra={"decision": "allow", **fields})
    return {
        "principalId": record.partner,
        "policyDocument": _policy("Allow", [f"{stage_arn}/{method}/*" for method in methods]),
        "context": {
            "partner": record.partner,
            "scope": record.scope,
            "keyName": record.key_name,
            "apiKeyId": record.api_key_id,
            "usagePlanId": record.usage_plan_id,
        },
        "usageIdentifierKey": value,
    }
