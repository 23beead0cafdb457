"""The audit trail's safety nets as Terraform plans them (prod) and as the applied `local` stage has them:
KMS key policy conditions for every service principal, writers-only buckets, COMPLIANCE Object Lock,
the S3 on-failure destination, and alarms that treat silence as a stall."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from tests.terraform.harness import (
    artifact_args,
    boto3_client,
    in_stage,
    local_outputs,
    override,
    session_dir,
    terraform_missing,
)

pytestmark = pytest.mark.terraform


@functools.cache
def prod_plan() -> dict[str, Any]:
    """`terraform show -json` of prod's plan against moto: every planned resource by address."""
    reason = terraform_missing()
    if reason:
        pytest.skip(f"TERRAFORM TESTS SKIPPED: {reason}")
    runner = in_stage("prod")
    plan_file = session_dir() / "prod-audit.tfplan"
    with override():
        runner.plan("-refresh=false", "-no-color", f"-out={plan_file}", *artifact_args("prod"))
        shown = runner.run("show", "-json", str(plan_file))
    document = json.loads(shown.stdout)
    resources: dict[str, Any] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources", []):
            resources[resource["address"]] = resource.get("values", {})
        for child in module.get("child_modules", []):
            walk(child)

    walk(document["planned_values"]["root_module"])
    return resources


def _policy(resources: dict[str, Any], address: str, key: str = "policy") -> dict[str, Any]:
    value = resources[address][key]
    assert value, f"{address}: {key} is not known at plan time"
    return json.loads(value)


def test_every_service_principal_of_the_kms_key_is_held_by_a_condition() -> None:
    statements = _policy(prod_plan(), "module.kms.aws_kms_key.this")["Statement"]
    services = [s for s in statements if "Service" in s.get("Principal", {})]
    assert services, "the key admits no service principal at all"
    for statement in services:
        principals = statement["Principal"]["Service"]
        principals = [principals] if isinstance(principals, str) else principals
        condition = statement.get("Condition") or {}
        keys = {key for operator in condition.values() for key in operator}
        assert "events.amazonaws.com" not in principals, "EventBridge touches nothing this key protects"
        assert (
            keys & {"aws:SourceAccount", "aws:SourceArn", "kms:EncryptionContext:aws:logs:arn"}
            or {
                "kms:ViaService",
                "kms:CallerAccount",
            }
            <= keys
        ), f"{statement['Sid']}: {principals} without a confused-deputy condition: {condition}"
    alarms = next(s for s in services if s["Sid"] == "AlarmsPublishToEncryptedTopic")
    assert alarms["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:items-prod-*")
    assert alarms["Condition"]["StringEquals"]["aws:SourceAccount"].isdigit()


def _writers(policy: dict[str, Any]) -> list[str]:
    (deny,) = [s for s in policy["Statement"] if s.get("Sid") == "DenyObjectWritesByOthers"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:PutObject"
    return deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]


def test_prod_audit_bucket_is_written_by_firehose_only_and_locked_in_compliance_mode() -> None:
    resources = prod_plan()
    lock = resources["module.audit.module.bucket.aws_s3_bucket_object_lock_configuration.this[0]"]
    assert lock["rule"][0]["default_retention"][0]["mode"] == "COMPLIANCE"
    # The writer is the Firehose role, whose ARN is known only after apply: the applied test below
    # reads the policy back and tries writers.
    assert "module.audit.module.bucket.aws_s3_bucket_policy.this" in resources


def test_the_audit_canary_alarm_fires_on_silence() -> None:
    resources = prod_plan()
    alarms = {
        v["alarm_name"]: v
        for k, v in resources.items()
        if k.startswith("module.alarms.aws_cloudwatch_metric_alarm.")
    }
    canary = alarms["items-prod-audit-canary"]
    assert canary["treat_missing_data"] == "breaching"
    assert (canary["comparison_operator"], canary["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    queries = {q["id"]: q for q in canary["metric_query"]}
    assert queries["late"]["return_data"] is True
    assert queries["late"]["expression"] == (
        f"IF(FILL(delivered, 0) < 1 OR FILL(freshness, 0) >= {15 * 60}, 1, 0)"
    )
    (delivered,) = queries["delivered"]["metric"]
    assert (delivered["namespace"], delivered["metric_name"], delivered["stat"]) == (
        "items-prod",
        "CanaryAuditDelivered",
        "Sum",
    )
    assert delivered["period"] == 15 * 60 and delivered["dimensions"] == {"service": "items"}
    (freshness,) = queries["freshness"]["metric"]
    assert freshness["metric_name"] == "DeliveryToS3.DataFreshness" and freshness["stat"] == "Maximum"
    stalled = alarms["items-prod-stream-stalled-items-prod-audit_stream"]
    assert (stalled["metric_name"], stalled["treat_missing_data"]) == ("Invocations", "breaching")
    assert (stalled["comparison_operator"], stalled["period"]) == ("LessThanThreshold", 15 * 60)
    failures = alarms["items-prod-destination-delivery-failures-items-prod-audit_stream"]
    assert failures["metric_name"] == "DestinationDeliveryFailures"
    parked = alarms["items-prod-mapping-on-failure-items-prod-audit_stream"]
    assert parked["metric_name"] == "OnFailureDestinationDeliveredEventCount"
    assert alarms["items-prod-firehose-freshness"]["threshold"] == 15 * 60


def test_the_stream_mapping_retries_and_ages_from_the_replay_design() -> None:
    # Every consumer of the table's stream (the audit trail's and the webhook fan-out's).
    mappings = {
        k: v
        for k, v in prod_plan().items()
        if k.startswith("module.functions.aws_lambda_event_source_mapping.dynamodb_stream")
    }
    assert any('["audit_stream"]' in k for k in mappings), sorted(mappings)
    for mapping in mappings.values():
        assert mapping["maximum_retry_attempts"] == 10
        assert mapping["maximum_record_age_in_seconds"] == 6 * 3600  # well inside the stream's 24 h
        assert mapping["metrics_config"][0]["metrics"] == ["EventCount"]


# --- the applied `local` stage ------------------------------------------------------------------


def _as_role(role_arn: str, service: str = "s3") -> Any:
    import boto3

    from tests.terraform.harness import REGION, moto_url

    creds = boto3_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="test-writer")["Credentials"]
    return boto3.client(
        service,
        endpoint_url=moto_url(),
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _status(call: Any) -> int:
    from botocore.exceptions import ClientError

    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_applied_audit_bucket_refuses_every_writer_but_the_firehose_role() -> None:
    outputs = local_outputs()
    bucket = outputs["audit_bucket"]
    policy = json.loads(boto3_client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    (firehose_role,) = _writers(policy)
    assert firehose_role.endswith(":role/items-local-audit-firehose")
    consumer_role = boto3_client("iam").get_role(RoleName=outputs["functions"]["audit_stream"]["role_name"])
    key = "audit/stage=local/2026/01/01/00/forged"
    assert _status(lambda: boto3_client("s3").put_object(Bucket=bucket, Key=key, Body=b"{}")) == 403
    consumer = _as_role(consumer_role["Role"]["Arn"])
    assert _status(lambda: consumer.put_object(Bucket=bucket, Key=key, Body=b"{}")) == 403
    writer = _as_role(firehose_role)
    assert _status(lambda: writer.put_object(Bucket=bucket, Key=key, Body=b"{}")) == 200
    writer.delete_object(Bucket=bucket, Key=key)


def test_applied_mapping_parks_failures_in_the_failure_bucket_writable_by_the_consumer_only() -> None:
    outputs = local_outputs()
    failures = outputs["audit_failure_bucket"]
    mappings = boto3_client("lambda").list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"].split(":")[6] == "items-local-audit_stream"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == f"arn:aws:s3:::{failures}"
    assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (10, 21600)
    role = boto3_client("iam").get_role(RoleName=outputs["functions"]["audit_stream"]["role_name"])["Role"]
    policy = json.loads(boto3_client("s3").get_bucket_policy(Bucket=failures)["Policy"])
    # The stream consumers whose mappings park batches there, and no one else: the audit consumer and
    # the webhook fan-out (each replayed by its own tool).
    fanout_role = outputs["functions"]["webhook_fanout"]["role_name"]
    fanout = boto3_client("iam").get_role(RoleName=fanout_role)["Role"]
    assert sorted(_writers(policy)) == sorted([role["Arn"], fanout["Arn"]])
    key = "aws/lambda/x/shard/2026/01/01/2026-01-01T00.00.00-x"
    assert _status(lambda: boto3_client("s3").put_object(Bucket=failures, Key=key, Body=b"{}")) == 403
    consumer = _as_role(role["Arn"])
    assert _status(lambda: consumer.put_object(Bucket=failures, Key=key, Body=b"{}")) == 200
    consumer.delete_object(Bucket=failures, Key=key)
