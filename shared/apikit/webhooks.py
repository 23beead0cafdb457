"""A partner's webhook registration: one item per partner, its signing secret encrypted with KMS.

The item lives in the partner's own key space (``P#<partner>#WEBHOOK``); the secret is stored only
as a KMS ciphertext bound to the partner by its encryption context, so that neither a table read nor
a ciphertext copied to another partner's item yields a usable secret. The plaintext leaves only in
the PUT response and in the delivery function's memory; it is never logged.
"""

from __future__ import annotations

import os
from typing import Any

from apikit import clients, items, webhook_signing
from apikit.codec import from_wire
from apikit.errors import NotFound

ENTITY = "webhook"
SK = "WEBHOOK"
PURPOSE = "webhook-signing-secret"


def key(partner: str) -> dict[str, dict[str, str]]:
    """Primary key of the partner's registration."""
    return {"PK": {"S": f"P#{partner}#WEBHOOK"}, "SK": {"S": SK}}


def allow_loopback_http() -> bool:
    """The stage setting webhooks.allow_loopback_http (only `local` has it)."""
    return os.environ.get("WEBHOOK_ALLOW_LOOPBACK_HTTP", "false") == "true"


def _context(partner: str) -> dict[str, str]:
    return {"partner": partner, "purpose": PURPOSE}


def _view(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_wire(item[k]) for k in ("url", "createdAt", "updatedAt") if k in item}


def put(partner: str, url: str) -> tuple[dict[str, Any], bool]:
    """Register or replace; returns (registration with its fresh ``secret``, whether it replaced one)."""
    secret = webhook_signing.new_secret()
    blob = clients.client("kms").encrypt(
        KeyId=os.environ["WEBHOOK_KMS_KEY_ID"],
        Plaintext=secret.encode("ascii"),
        EncryptionContext=_context(partner),
    )["CiphertextBlob"]
    ddb = clients.client("dynamodb")
    now = items.now_iso()
    old = ddb.get_item(TableName=clients.table_name(), Key=key(partner), ConsistentRead=True).get("Item")
    created = from_wire(old["createdAt"]) if old and "createdAt" in old else now
    record = {
        **key(partner),
        "entity": {"S": ENTITY},
        "partnerId": {"S": partner},
        "url": {"S": url},
        "secret": {"B": blob},
        "createdAt": {"S": created},
        "updatedAt": {"S": now},
    }
    ddb.put_item(TableName=clients.table_name(), Item=record)
    return {"url": url, "secret": secret, "createdAt": created, "updatedAt": now}, old is not None


def get(partner: str) -> dict[str, Any]:
    """The registration without its secret; 404 when there is none."""
    item = (
        clients.client("dynamodb")
        .get_item(TableName=clients.table_name(), Key=key(partner), ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        raise NotFound("no webhook registered")
    return _view(item)


def delete(partner: str) -> None:
    """Remove the registration; 404 when there is none."""
    try:
        clients.client("dynamodb").delete_item(
            TableName=clients.table_name(), Key=key(partner), ConditionExpression="attribute_exists(PK)"
        )
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise NotFound("no webhook registered") from exc
        raise


def endpoint_of(partner: str) -> tuple[str, str] | None:
    """(url, plaintext secret) for a delivery; None when the partner has no webhook."""
    item = (
        clients.client("dynamodb")
        .get_item(TableName=clients.table_name(), Key=key(partner), ConsistentRead=True)
        .get("Item")
    )
    if item is None:
        return None
    plaintext = clients.client("kms").decrypt(
        CiphertextBlob=item["secret"]["B"], EncryptionContext=_context(partner)
    )["Plaintext"]
    return from_wire(item["url"]), plaintext.decode("ascii")
