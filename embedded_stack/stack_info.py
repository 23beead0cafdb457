"""What the embedded stack tells its users: the `.local/stack.json` document, read from Terraform's
outputs (the contract tests, benchmarks and the soak read too), and the banner `make run` prints."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedded_stack.stack import StackHandle

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE = "local"


def stack_document(outputs: dict[str, Any], api_url: str, endpoint_url: str) -> dict[str, Any]:
    """The `.local/stack.json` contract of issues 4 and 10, from `terraform output`.

    Each partner keeps ``api_key`` / ``api_key_id`` (its first read-write key by name, as Terraform
    picks it) and lists every key in ``keys`` (by name: name, api_key, api_key_id, scope).
    """
    values = outputs.get("api_key_values") or {}
    partners = {}
    for name, partner in sorted((outputs.get("partners") or {}).items()):
        mine = values.get(name) or {}
        keys = [
            {
                "name": key,
                "api_key": mine.get(key),
                "api_key_id": info.get("api_key_id"),
                "scope": info.get("scope"),
            }
            for key, info in sorted((partner.get("keys") or {}).items())
        ]
        first = next((k for k in keys if k["api_key_id"] == partner.get("api_key_id")), None)
        partners[name] = {
            "api_key": first["api_key"] if first else None,
            "api_key_id": partner.get("api_key_id"),
            "usage_plan": partner.get("usage_plan"),
            "throttle": partner.get("throttle"),
            "quota": partner.get("quota"),
            "keys": keys,
        }
    return {
        "api_url": api_url,
        "aws_endpoint_url": endpoint_url,
        "region": outputs["region"],
        "stage": outputs.get("stage", STAGE),
        "table_name": outputs.get("table_name"),
        "audit_bucket": outputs.get("audit_bucket"),
        "audit_failure_bucket": outputs.get("audit_failure_bucket"),
        "dlq_urls": outputs.get("dlq_urls") or {},
        "event_queues": outputs.get("event_queues") or {},
        "cursor_secret_id": outputs.get("cursor_secret_id"),
        "partners": partners,
    }


def _shown(path: Path) -> str:
    """A path relative to the checkout when it lies inside it (what a user types), else absolute."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def banner(handle: StackHandle) -> str:
    """What `make run` prints when ready: where things are, every partner's keys, what to try."""
    info = handle.info
    t = handle.timings
    lines = [
        "",
        f"Embedded stack ready in {t.get('total_s', 0):.1f} s "
        f"(build + terraform {t.get('build_and_terraform_s', 0):.1f} s)",
        f"  API (stage {info['stage']}): {info['api_url']}",
        f"  AWS endpoint:     {info['aws_endpoint_url']}  (region {info['region']})",
        f"  Table:            {info['table_name']}    Audit bucket: {info['audit_bucket']}",
        "  Partners (plan; each API key: name, scope, x-api-key):",
    ]
    for name, p in info["partners"].items():
        throttle, quota = p.get("throttle") or {}, p.get("quota") or {}
        lines.append(
            f"    {name:<20} plan {p['usage_plan']:<12} rate {throttle.get('rate_limit')}/s "
            f"burst {throttle.get('burst_limit')}  quota {quota.get('limit')}/{quota.get('period')}"
        )
        for key in p.get("keys") or []:
            lines.append(f"      {key['name']:<18} scope {key['scope']:<12} x-api-key: {key['api_key']}")
    # The curl writes, so it takes the first partner's first read-write key (stack.json's api_key).
    key = next(iter(info["partners"].values()), {}).get("api_key") or "<key>"
    functions = ", ".join(sorted(handle.outputs.get("functions") or {})) or "<function>"
    lines += [
        "  Try:",
        f"    curl -s -X POST {info['api_url']}/items -H 'x-api-key: {key}' "
        '-H \'content-type: application/json\' -d \'{"userId": "u1", "name": "first"}\'',
        f"    curl -s {info['api_url']}/items?userId=u1 -H 'x-api-key: {key}'",
        "  AWS CLI and boto3 (read AWS_ENDPOINT_URL; any credentials work):",
        f"    export AWS_ENDPOINT_URL={info['aws_endpoint_url']} AWS_DEFAULT_REGION={info['region']} "
        "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local",
        f"    aws dynamodb scan --table-name {info['table_name']}",
        f"  Logs: make logs FN=<function>   ({functions})",
        f"  Written to {_shown(handle.state_dir / 'stack.json')}; function logs in "
        f"{_shown(handle.state_dir / 'logs')}/. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)
