"""Fixtures for the audit unit tests: moto in-process, a Firehose stream into an S3 bucket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from audit_helpers import BUCKET, PREFIX, REGION, STREAM
from moto import mock_aws


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "STAGE": "test",
        "AUDIT_DELIVERY_STREAM": STREAM,
        "POWERTOOLS_SERVICE_NAME": "audit_stream",
        "POWERTOOLS_METRICS_NAMESPACE": "items-test",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    from apikit import clients

    clients.client.cache_clear()
    with mock_aws():
        yield
    clients.client.cache_clear()


@pytest.fixture
def delivery(aws: None) -> dict[str, Any]:
    """A DirectPut delivery stream into a bucket, as Terraform makes it (moto writes at once)."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName=STREAM,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": PREFIX,
            "ErrorOutputPrefix": "audit-errors/stage=test/",
        },
    )
    return {"bucket": BUCKET, "stream": STREAM, "prefix": PREFIX}
