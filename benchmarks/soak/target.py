"""The stack a soak drives: its API and partners, and the AWS names the reconciliation reads.

Everything comes from the stack's ``stack.json`` document (partners with their named keys, the audit
and failure buckets) and, for the audit pipeline's other names, from the AWS endpoint itself (the
delivery stream writing to the audit bucket, the table's stream), as an operator would find them. The
fault spec file must be the one the stack reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from scripts.audit_common import Stack


@dataclass(frozen=True)
class Partner:
    """One partner of the stage (the tenant: its name is its data's partition), the values of its
    read-write keys (secrets; every one reaches the same data) and its usage plan's limits."""

    name: str
    write_keys: tuple[str, ...]
    rate_limit: float
    burst_limit: int
    quota_limit: int | None


@dataclass(frozen=True)
class Target:
    """The stack under test."""

    api_url: str
    endpoint_url: str
    region: str
    partners: dict[str, Partner]
    audit: Stack
    faults_file: Path

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id="soak",
            aws_secret_access_key="soak",  # noqa: S106 - the embedded stack accepts any credentials
        )


def _partner(name: str, raw: dict[str, Any]) -> Partner:
    throttle, quota = raw.get("throttle") or {}, raw.get("quota") or {}
    keys = tuple(k["api_key"] for k in raw.get("keys") or [] if k.get("scope") == "read-write")
    if not keys or not all(keys):
        raise LookupError(f"partner {name} has no read-write key with a value in the stack document")
    return Partner(
        name=name,
        write_keys=keys,
        rate_limit=float(throttle.get("rate_limit") or 0),
        burst_limit=int(throttle.get("burst_limit") or 0),
        quota_limit=int(quota["limit"]) if quota.get("limit") is not None else None,
    )


def from_stack_document(document: dict[str, Any], faults_file: Path) -> Target:
    """A Target from the stack.json contract, completed from the AWS endpoint."""
    endpoint, region = document["aws_endpoint_url"], document["region"]
    # The audit tools use boto3's default chain; the embedded stack takes any credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "soak")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "soak")
    kwargs = {"endpoint_url": endpoint, "region_name": region}
    firehose = boto3.client("firehose", **kwargs)
    delivery = None
    for name in firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"]:
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        for destination in description["Destinations"]:
            s3 = destination.get("ExtendedS3DestinationDescription") or {}
            if s3.get("BucketARN", "").endswith(f":::{document['audit_bucket']}"):
                delivery = (name, s3.get("Prefix", ""))
    if delivery is None:
        raise LookupError(f"no delivery stream writes to {document['audit_bucket']}")
    table = boto3.client("dynamodb", **kwargs).describe_table(TableName=document["table_name"])["Table"]
    audit = Stack(
        region=region,
        stage=document.get("stage"),
        table_name=document["table_name"],
        stream_arn=table.get("LatestStreamArn"),
        bucket=document["audit_bucket"],
        prefix=delivery[1],
        firehose_name=delivery[0],
        failure_bucket=document["audit_failure_bucket"],
    )
    return Target(
        api_url=document["api_url"].rstrip("/"),
        endpoint_url=endpoint,
        region=region,
        partners={name: _partner(name, raw) for name, raw in document["partners"].items()},
        audit=audit,
        faults_file=faults_file,
    )
