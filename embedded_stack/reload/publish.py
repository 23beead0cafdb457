"""Code updates through the control plane's APIs, in the order a `terraform apply` of the same change
makes them (hashicorp/aws 5.x: `aws_s3_object`, `aws_lambda_layer_version`, `aws_lambda_function`
with `publish = true`, `aws_lambda_alias`, `aws_lambda_event_source_mapping`):

- the zip becomes a new version of its object in the artifacts bucket (same key, encryption and
  tags as the object Terraform uploaded);
- a layer is published as a new layer version from that object, with the settings of the version
  it replaces;
- a function gets UpdateFunctionConfiguration (its new layer ARN) and/or UpdateFunctionCode (from
  the object version), each waited for, then PublishVersion (pinned to the expected CodeSha256);
- its alias moves to that version, and a stream mapping that named the previous version (as ours
  do: an alias ARN plans with a perpetual diff against moto) names the new one.

So the only difference from Terraform's own apply is that Terraform's state has not seen it: the next
`terraform plan` shows exactly these updates (docs/embedded-stack.md, "Hot reload").
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from embedded_stack.lambda_runtime import split_function_ref

UPDATE_TIMEOUT_S = 60.0


class PublishError(RuntimeError):
    """The control plane refused an update (the message says which call and why)."""


def b64_sha256(hex_digest: str) -> str:
    """build/manifest.json's hex sha256 as Lambda's CodeSha256 (base64)."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


@dataclass(frozen=True)
class Published:
    """One function after its update: the version its alias now names."""

    function_name: str
    version: str
    mappings_moved: int


class Publisher:
    """Uploads artifacts and publishes layers and functions on one control plane."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",  # noqa: S106 - the local control plane accepts any
                config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32),
            )

        self.s3 = client("s3")
        self.lambda_ = client("lambda")

    # -- reading what is deployed ------------------------------------------------------------------

    def live(self, function_name: str, alias: str) -> dict[str, Any]:
        """The configuration of the version ``alias`` names (CodeSha256, Layers, Version)."""
        return self.lambda_.get_function_configuration(FunctionName=function_name, Qualifier=alias)

    def layer_version(self, layer_version_arn: str) -> dict[str, Any]:
        parts = layer_version_arn.split(":")  # arn:aws:lambda:region:account:layer:name:version
        return self.lambda_.get_layer_version(LayerName=parts[6], VersionNumber=int(parts[7]))

    # -- artifacts ---------------------------------------------------------------------------------

    def upload(self, bucket: str, key: str, zip_path: Path) -> str:
        """A new version of ``key`` with ``zip_path``'s bytes, encrypted and tagged as the current one."""
        head = self.s3.head_object(Bucket=bucket, Key=key)
        tags = self.s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet", [])
        extra: dict[str, Any] = {}
        if head.get("ServerSideEncryption"):
            extra["ServerSideEncryption"] = head["ServerSideEncryption"]
        if head.get("SSEKMSKeyId"):
            extra["SSEKMSKeyId"] = head["SSEKMSKeyId"]
        if head.get("ContentType"):
            extra["ContentType"] = head["ContentType"]
        if tags:
            extra["Tagging"] = urllib.parse.urlencode([(t["Key"], t["Value"]) for t in tags])
        put = self.s3.put_object(Bucket=bucket, Key=key, Body=zip_path.read_bytes(), **extra)
        if not put.get("VersionId"):
            raise PublishError(f"s3://{bucket}/{key}: the artifacts bucket is not versioned")
        return put["VersionId"]

    # -- layers and functions ----------------------------------------------------------------------

    def publish_layer(self, current_arn: str, bucket: str, key: str, object_version: str) -> str:
        """A new version of the layer ``current_arn`` belongs to, from the uploaded object; its ARN."""
        current = self.layer_version(current_arn)
        kwargs: dict[str, Any] = {
            "LayerName": current_arn.split(":")[6],
            "Content": {"S3Bucket": bucket, "S3Key": key, "S3ObjectVersion": object_version},
        }
        for field in ("Description", "LicenseInfo", "CompatibleRuntimes", "CompatibleArchitectures"):
            if current.get(field):
                kwargs[field] = current[field]
        return self.lambda_.publish_layer_version(**kwargs)["LayerVersionArn"]

    def _wait_updated(self, function_name: str, qualifier: str | None = None) -> None:
        """Lambda applies an update asynchronously: wait until LastUpdateStatus leaves InProgress."""
        deadline = time.monotonic() + UPDATE_TIMEOUT_S
        delay = 0.05
        kwargs = {"FunctionName": function_name, **({"Qualifier": qualifier} if qualifier else {})}
        while True:
            config = self.lambda_.get_function_configuration(**kwargs)
            status = config.get("LastUpdateStatus") or "Successful"
            if status == "Successful":
                return
            if status == "Failed":
                raise PublishError(
                    f"{function_name}: update failed: {config.get('LastUpdateStatusReasonCode')}: "
                    f"{config.get('LastUpdateStatusReason')}"
                )
            if time.monotonic() > deadline:
                raise PublishError(f"{function_name}: update still {status} after {UPDATE_TIMEOUT_S:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def publish_function(
        self,
        function_name: str,
        alias: str,
        *,
        code: tuple[str, str, str, str] | None = None,
        layers: list[str] | None = None,
    ) -> Published:
        """Update configuration (layers) and/or code (bucket, key, object version, expected CodeSha256),
        publish a version, move ``alias`` to it and repoint stream mappings that named a version."""
        if layers is not None:
            self.lambda_.update_function_configuration(FunctionName=function_name, Layers=layers)
            self._wait_updated(function_name)
        expected = None
        if code is not None:
            bucket, key, object_version, expected = code
            updated = self.lambda_.update_function_code(
                FunctionName=function_name, S3Bucket=bucket, S3Key=key, S3ObjectVersion=object_version
            )
            if updated.get("CodeSha256") != expected:
                raise PublishError(
                    f"{function_name}: Lambda computed CodeSha256 {updated.get('CodeSha256')}, "
                    f"the build says {expected}"
                )
            self._wait_updated(function_name)
        kwargs = {"FunctionName": function_name}
        if expected:
            kwargs["CodeSha256"] = expected  # publish only the code that was checked
        version = self.lambda_.publish_version(**kwargs)
        self._wait_updated(function_name, version["Version"])
        self.lambda_.update_alias(FunctionName=function_name, Name=alias, FunctionVersion=version["Version"])
        return Published(function_name, version["Version"], self._move_mappings(function_name, version))

    def _move_mappings(self, function_name: str, version: dict[str, Any]) -> int:
        """Stream mappings that name a numbered version of the function now name the new one."""
        moved = 0
        # Listed unfiltered: a FunctionName filter does not match version ARNs on every implementation.
        for page in self.lambda_.get_paginator("list_event_source_mappings").paginate():
            for mapping in page.get("EventSourceMappings", []):
                name, qualifier = split_function_ref(mapping.get("FunctionArn", ""), None)
                if name != function_name or not (qualifier or "").isdigit():
                    continue
                if qualifier == version["Version"]:
                    continue
                self.lambda_.update_event_source_mapping(
                    UUID=mapping["UUID"], FunctionName=version["FunctionArn"]
                )
                moved += 1
        return moved
