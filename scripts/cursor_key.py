"""Rotate the list cursors' HMAC key with overlap: the current key signs, the previous one verifies.

    python -m scripts.cursor_key status
    python -m scripts.cursor_key rotate [--min-age-seconds 3600] [--force]
    python -m scripts.cursor_key retire [--min-age-seconds 3600] [--force]

The key is a Secrets Manager secret (``terraform output cursor_secret_id``): its AWSCURRENT version
signs new cursors and its AWSPREVIOUS version still verifies the ones in flight
(shared/apikit/cursor.py). ``rotate`` puts a new random value (Secrets Manager's GetRandomPassword):
AWSCURRENT moves to it, the old current becomes AWSPREVIOUS, and the old previous is retired.
``retire`` removes AWSPREVIOUS, after which cursors signed with it are 400. Both refuse while the
current version is younger than ``--min-age-seconds``: until then containers may still sign with the
key that would stop verifying (they cache keys for CURSOR_KEY_CACHE_SECONDS) and clients may still
hold its cursors. Values are never printed; Terraform wrote only the first one, write-only, so no
value is in its state either. Runbook: docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.audit_common import client as aws_client
from scripts.audit_common import terraform_outputs

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "shared") not in sys.path:  # the kid exactly as the layer computes it
    sys.path.insert(0, str(ROOT / "shared"))

from apikit.cursor import CURRENT, PREVIOUS, kid_of  # noqa: E402

DEFAULT_MIN_AGE_S = 3600
KEY_LENGTH = 64


class RotationRefused(RuntimeError):
    """The current key is too young to rotate or retire without --force."""


def versions(client: Any, secret_id: str) -> list[dict[str, Any]]:
    """Every labelled version: id, kid, stages and creation time, newest first."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"SecretId": secret_id}
    while True:
        page = client.list_secret_version_ids(**kwargs)
        out += [
            {
                "version_id": v["VersionId"],
                "kid": kid_of(v["VersionId"]),
                "stages": sorted(v.get("VersionStages") or []),
                "created": v.get("CreatedDate"),
            }
            for v in page.get("Versions", [])
            if v.get("VersionStages")
        ]
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(out, key=lambda v: v["created"] or datetime.min.replace(tzinfo=UTC), reverse=True)


def _with_stage(found: list[dict[str, Any]], stage: str) -> dict[str, Any] | None:
    return next((v for v in found if stage in v["stages"]), None)


def _check_age(current: dict[str, Any], min_age_s: float, now: datetime, action: str) -> None:
    created = current["created"]
    if created is None:
        return
    age = (now - created).total_seconds()
    if age < min_age_s:
        raise RotationRefused(
            f"refusing to {action}: the current key ({current['kid']}) is {age:.0f} s old, younger than "
            f"{min_age_s:.0f} s; containers may still sign with the key that would stop verifying, and "
            "clients may hold its cursors (wait, or pass --force)"
        )


def rotate(client: Any, secret_id: str, *, min_age_s: float, now: datetime | None = None) -> dict[str, Any]:
    """A new current key; the current one becomes the previous; the previous one is retired."""
    found = versions(client, secret_id)
    current, previous = _with_stage(found, CURRENT), _with_stage(found, PREVIOUS)
    if current is None:
        raise RuntimeError(f"{secret_id} has no {CURRENT} version: was the stage applied?")
    _check_age(current, min_age_s, now or datetime.now(UTC), "rotate")
    value = client.get_random_password(PasswordLength=KEY_LENGTH, ExcludePunctuation=True)["RandomPassword"]
    new = client.put_secret_value(SecretId=secret_id, SecretString=value)["VersionId"]
    return {
        "action": "rotate",
        "current": kid_of(new),
        "previous": current["kid"],
        "retired": previous["kid"] if previous else None,
    }


def retire(client: Any, secret_id: str, *, min_age_s: float, now: datetime | None = None) -> dict[str, Any]:
    """Stop verifying cursors signed with the previous key."""
    found = versions(client, secret_id)
    current, previous = _with_stage(found, CURRENT), _with_stage(found, PREVIOUS)
    if previous is None:
        return {"action": "retire", "retired": None, "current": current["kid"] if current else None}
    if current is not None:
        _check_age(current, min_age_s, now or datetime.now(UTC), "retire the previous key")
    client.update_secret_version_stage(
        SecretId=secret_id, VersionStage=PREVIOUS, RemoveFromVersionId=previous["version_id"]
    )
    return {"action": "retire", "retired": previous["kid"], "current": current["kid"] if current else None}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: status, rotate or retire; one JSON line out; exit 2 when refused."""
    parser = argparse.ArgumentParser(prog="python -m scripts.cursor_key", description=main.__doc__)
    parser.add_argument("command", choices=["status", "rotate", "retire"])
    parser.add_argument("--secret-id", help="name or ARN (default: terraform output cursor_secret_id)")
    parser.add_argument("--outputs", type=Path, help="saved `terraform output -json`; default: ask terraform")
    parser.add_argument("--endpoint-url", help="AWS endpoint (LocalStack, the embedded stack); default: AWS")
    parser.add_argument("--region", help="AWS region (default: terraform output, then AWS_REGION)")
    parser.add_argument("--min-age-seconds", type=float, default=DEFAULT_MIN_AGE_S)
    parser.add_argument("--force", action="store_true", help="ignore the current key's age")
    args = parser.parse_args(argv)

    outputs = terraform_outputs(args.outputs) if args.secret_id is None or args.region is None else {}
    secret_id = args.secret_id or outputs.get("cursor_secret_id")
    if not secret_id:
        parser.error("no --secret-id and no cursor_secret_id in terraform output")
    client = aws_client("secretsmanager", args.endpoint_url, args.region or outputs.get("region"))
    min_age = 0.0 if args.force else args.min_age_seconds
    try:
        if args.command == "rotate":
            result = rotate(client, secret_id, min_age_s=min_age)
        elif args.command == "retire":
            result = retire(client, secret_id, min_age_s=min_age)
        else:
            result = {"action": "status", "versions": versions(client, secret_id)}
    except RotationRefused as exc:
        print(json.dumps({"action": args.command, "refused": str(exc)}))
        return 2
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
