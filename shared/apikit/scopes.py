"""API key scopes: the HTTP methods a key may call.

One table read by the authorizer (the IAM policy it returns lists exactly these methods) and by
``http`` (a read-only scope on any other method is 403 even if a policy were wrong). Stage files name
the scopes (terraform/stages/stage.schema.json lists the same two; a test keeps them equal).
"""

from __future__ import annotations

READ_WRITE = "read-write"
READ_ONLY = "read-only"

METHODS: dict[str, tuple[str, ...]] = {
    READ_WRITE: ("DELETE", "GET", "PATCH", "POST", "PUT"),
    READ_ONLY: ("GET",),
}


def allows(scope: str | None, method: str) -> bool:
    """Whether a key of ``scope`` may call ``method`` (an unknown scope may call nothing)."""
    return method.upper() in METHODS.get(scope or "", ())
