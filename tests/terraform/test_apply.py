"""Apply of the `local` stage against moto, read back with boto3 as a data plane would."""

from __future__ import annotations

import json

import pytest

from tests.terraform.harness import TF_ROOT, boto3_client, local_outputs

pytestmark = pytest.mark.terraform

STAGE = json.loads((TF_ROOT / "stages" / "local.json").read_text())


def test_outputs_have_the_documented_shape() -> None:
    out = local_outputs()
    for name in (
        "api_url",
        "table_name",
        "audit_bucket",
        "audit_failure_bucket",
        "dlq_urls",
        "firehose_name",
        "region",
        "stage",
        "partners",
        "api_key_values",
        "functions",
        "rest_api_id",
        "cursor_secret_parameter",
    ):
        assert name in out, name
    assert out["stage"] == "local"
    assert out["api_url"].rstrip("/").endswith("/local")
    assert set(out["partners"]) == set(STAGE["partners"])
    for partner, info in out["partners"].items():
        tier = STAGE["partners"][partner]
        assert info["usage_plan"] == tier
        assert info["throttle"] == STAGE["usage_plans"][tier]["throttle"]
        assert info["quota"] == STAGE["usage_plans"][tier]["quota"]
        assert out["api_key_values"][partner]
    assert "items-local-audit_canary-dlq" in out["dlq_urls"]  # the canary is invoked asynchronously


def test_api_keys_and_usage_plans_match_the_stage_file() -> None:
    out = local_outputs()
    apigw = boto3_client("apigateway")
    plans = {p["name"]: p for p in apigw.get_usage_plans()["items"]}
    for tier, settings in STAGE["usage_plans"].items():
        plan = plans[f"items-local-{tier}"]
        assert plan["throttle"]["rateLimit"] == settings["throttle"]["rate_limit"]
        assert plan["throttle"]["burstLimit"] == settings["throttle"]["burst_limit"]
        assert plan["quota"]["limit"] == settings["quota"]["limit"]
        assert plan["quota"]["period"] == settings["quota"]["period"]
        assert plan["apiStages"] == [{"apiId": out["rest_api_id"], "stage": "local"}]
    for partner, info in out["partners"].items():
        keys = apigw.get_usage_plan_keys(usagePlanId=info["usage_plan_id"])["items"]
        assert info["api_key_id"] in {k["id"] for k in keys}, partner
        key = apigw.get_api_key(apiKey=info["api_key_id"], includeValue=True)
        assert key["enabled"] and key["value"] == out["api_key_values"][partner]


def test_stage_has_xray_and_access_logs_without_key_values() -> None:
    out = local_outputs()
    stage = boto3_client("apigateway").get_stage(restApiId=out["rest_api_id"], stageName="local")
    assert stage["tracingEnabled"] is True
    fmt = stage["accessLogSettings"]["format"]
    assert "$context.identity.apiKeyId" in fmt
    assert '$context.identity.apiKey"' not in fmt and "$context.identity.apiKey," not in fmt
    json.loads(fmt)


def test_table_matches_table_json() -> None:
    out = local_outputs()
    spec = json.loads((TF_ROOT.parent / "shared" / "apikit" / "table.json").read_text())
    table = boto3_client("dynamodb").describe_table(TableName=out["table_name"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        spec["hash_key"]: "HASH",
        spec["range_key"]: "RANGE",
    }
    assert [g["IndexName"] for g in table["GlobalSecondaryIndexes"]] == [
        g["name"] for g in spec["global_secondary_indexes"]
    ]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["SSEDescription"]["SSEType"] == "KMS"
    ttl = boto3_client("dynamodb").describe_time_to_live(TableName=out["table_name"])
    assert ttl["TimeToLiveDescription"]["AttributeName"] == spec["ttl_attribute"]


def test_functions_carry_runtime_layer_tracing_and_environment() -> None:
    out = local_outputs()
    lam = boto3_client("lambda")
    for name, info in out["functions"].items():
        manifest = json.loads((TF_ROOT.parent / "functions" / name / "function.json").read_text())
        cfg = lam.get_function_configuration(FunctionName=info["function_name"])
        assert cfg["Runtime"] == manifest["runtime"]
        assert cfg["Handler"] == manifest["handler"]
        assert cfg["Timeout"] == manifest["timeout"] and cfg["MemorySize"] == manifest["memory_size"]
        assert cfg["TracingConfig"]["Mode"] == "Active"
        assert len(cfg["Layers"]) == 1
        env = cfg["Environment"]["Variables"]
        for required in ("STAGE", "LOG_LEVEL", "CORS_ALLOWED_ORIGINS", "POWERTOOLS_SERVICE_NAME"):
            assert required in env
        assert env["AWS_XRAY_CONTEXT_MISSING"] == "IGNORE_ERROR"
        for wanted in manifest.get("environment", []):
            assert env[wanted], f"{name}: {wanted}"
        alias = lam.get_alias(FunctionName=info["function_name"], Name="live")
        assert alias["FunctionVersion"] == info["version"]


def test_stream_mapping_follows_the_manifest() -> None:
    out = local_outputs()
    lam = boto3_client("lambda")
    manifest = json.loads((TF_ROOT.parent / "functions" / "audit_stream" / "function.json").read_text())
    stream = manifest["events"]["dynamodb_stream"]
    function = out["functions"]["audit_stream"]
    mappings = lam.list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"].startswith(function["arn"])]
    assert mapping["FunctionArn"] == function["qualified_arn"], "the published version, not $LATEST"
    assert mapping["EventSourceArn"] == out["table_stream_arn"]
    assert mapping["BatchSize"] == stream["batch_size"]
    assert (
        mapping["DestinationConfig"]["OnFailure"]["Destination"]
        == f"arn:aws:s3:::{out['audit_failure_bucket']}"
    )
    assert mapping["MaximumRetryAttempts"] == stream["maximum_retry_attempts"]
    assert mapping["MaximumRecordAgeInSeconds"] == stream["maximum_record_age_in_seconds"]


def test_audit_bucket_and_delivery_stream() -> None:
    out = local_outputs()
    s3 = boto3_client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=out["audit_bucket"])["Policy"])
    tls, writers = policy["Statement"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert writers["Sid"] == "DenyObjectWritesByOthers"  # the writers: tests/terraform/test_audit_plan.py
    assert s3.get_bucket_versioning(Bucket=out["audit_bucket"])["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=out["audit_bucket"])["PublicAccessBlockConfiguration"]
    assert all(block.values())
    stream = boto3_client("firehose").describe_delivery_stream(DeliveryStreamName=out["firehose_name"])
    dest = stream["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert dest["Prefix"] == "audit/stage=local/" and "!{" not in dest["Prefix"]
    assert dest["ErrorOutputPrefix"] == "audit-errors/stage=local/"


def test_cursor_secret_is_encrypted_and_not_an_output() -> None:
    out = local_outputs()
    param = boto3_client("ssm").get_parameter(Name=out["cursor_secret_parameter"], WithDecryption=True)
    assert param["Parameter"]["Type"] == "SecureString"
    assert len(param["Parameter"]["Value"]) == 64
    assert param["Parameter"]["Value"] not in json.dumps(out)
