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
        "cursor_secret_id",
    ):
        assert name in out, name
    assert out["stage"] == "local"
    assert out["api_url"].rstrip("/").endswith("/local")
    assert set(out["partners"]) == set(STAGE["partners"])
    for partner, info in out["partners"].items():
        settings = STAGE["partners"][partner]
        tier = settings["usage_plan"]
        assert info["usage_plan"] == tier
        assert info["throttle"] == STAGE["usage_plans"][tier]["throttle"]
        assert info["quota"] == STAGE["usage_plans"][tier]["quota"]
        assert {name: k["scope"] for name, k in info["keys"].items()} == settings["keys"]
        assert set(out["api_key_values"][partner]) == set(settings["keys"])
        first_read_write = sorted(n for n, scope in settings["keys"].items() if scope == "read-write")[0]
        assert info["api_key_id"] == info["keys"][first_read_write]["api_key_id"]
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
        in_plan = {k["id"] for k in apigw.get_usage_plan_keys(usagePlanId=info["usage_plan_id"])["items"]}
        for name, key in info["keys"].items():
            assert key["api_key_id"] in in_plan, (partner, name)
            deployed = apigw.get_api_key(apiKey=key["api_key_id"], includeValue=True)
            assert deployed["enabled"] and deployed["value"] == out["api_key_values"][partner][name]
            assert deployed["name"] == f"items-local-{partner}-{name}"


def test_every_keyed_method_runs_the_authorizer_which_meters_the_key() -> None:
    out = local_outputs()
    apigw = boto3_client("apigateway")
    api = apigw.get_rest_api(restApiId=out["rest_api_id"])
    assert api["apiKeySource"] == "AUTHORIZER"
    (authorizer,) = apigw.get_authorizers(restApiId=out["rest_api_id"])["items"]
    manifest = json.loads((TF_ROOT.parent / "functions" / "authorizer" / "function.json").read_text())
    assert authorizer["type"] == "REQUEST"
    assert authorizer["identitySource"] == manifest["authorizer"]["identity_source"]
    assert authorizer["authorizerResultTtlInSeconds"] == STAGE["api"]["authorizer_ttl_seconds"]
    fn = out["functions"]["authorizer"]
    assert authorizer["authorizerUri"].endswith(f"function:{fn['function_name']}:live/invocations")
    resources = apigw.get_resources(restApiId=out["rest_api_id"], embed=["methods"], limit=500)["items"]
    keyed = 0
    for resource in resources:
        for verb in resource.get("resourceMethods", {}):
            method = apigw.get_method(
                restApiId=out["rest_api_id"], resourceId=resource["id"], httpMethod=verb
            )
            if verb == "OPTIONS":
                assert method["authorizationType"] == "NONE" and not method["apiKeyRequired"]
                continue
            keyed += 1
            assert method["authorizationType"] == "CUSTOM", (verb, resource["path"])
            assert method["authorizerId"] == authorizer["id"] and method["apiKeyRequired"] is True
    assert keyed >= 8
    policy = json.loads(
        boto3_client("lambda").get_policy(FunctionName=fn["function_name"], Qualifier="live")["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(f"/authorizers/{authorizer['id']}")
    responses = {
        r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=out["rest_api_id"])["items"]
    }
    assert (
        responses["UNAUTHORIZED"]["statusCode"] == "401" and responses["ACCESS_DENIED"]["statusCode"] == "403"
    )
    assert (
        "$context.error.messageString" in responses["UNAUTHORIZED"]["responseTemplates"]["application/json"]
    )


def test_key_records_are_what_the_authorizer_reads_and_hold_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Round trip: the records Terraform wrote, read by the layer's own lookup against moto."""
    from apikit import api_keys, clients

    from tests.terraform.harness import REGION, moto_url

    out = local_outputs()
    for name, value in {
        "AWS_ENDPOINT_URL": moto_url(),
        "AWS_REGION": REGION,
        "TABLE_NAME": out["table_name"],
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    clients.client.cache_clear()
    try:
        for partner, info in out["partners"].items():
            for name, key in info["keys"].items():
                record = api_keys.lookup(out["api_key_values"][partner][name])
                assert record == api_keys.KeyRecord(
                    partner=partner,
                    scope=STAGE["partners"][partner]["keys"][name],
                    key_name=name,
                    api_key_id=key["api_key_id"],
                    usage_plan_id=info["usage_plan_id"],
                    state="active",
                )
    finally:
        clients.client.cache_clear()
    records = boto3_client("dynamodb").scan(TableName=out["table_name"])["Items"]
    record_text = json.dumps([r for r in records if r["PK"]["S"].startswith("APIKEY#")])
    values = [v for keys in out["api_key_values"].values() for v in keys.values()]
    assert len(values) == sum(len(p["keys"]) for p in STAGE["partners"].values())
    assert record_text.count('"APIKEY#') == len(values)
    assert not any(v in record_text for v in values), "a key value is stored in plain text"


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


def test_cursor_key_is_encrypted_and_in_neither_outputs_nor_state() -> None:
    from tests.terraform.harness import in_stage

    out = local_outputs()
    secrets = boto3_client("secretsmanager")
    described = secrets.describe_secret(SecretId=out["cursor_secret_id"])
    assert described["KmsKeyId"] == out["kms_key_arn"]
    current = secrets.get_secret_value(SecretId=out["cursor_secret_id"], VersionStage="AWSCURRENT")
    value = current["SecretString"]
    assert len(value) == 64 and value.isalnum()
    assert value not in json.dumps(out)
    state = in_stage("local").run("state", "pull").stdout
    assert '"aws_secretsmanager_secret_version"' in state and value not in state
