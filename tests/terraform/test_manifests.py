"""Manifests are the single source of truth: every permission resolves, each function's deployed IAM
policy allows exactly its manifest's actions, and routes and functions match one to one."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = {p.parent.name: json.loads(p.read_text()) for p in sorted(ROOT.glob("functions/*/function.json"))}
ROOT_MAIN = (ROOT / "terraform" / "main.tf").read_text()
# Statements every function gets besides its manifest's (see terraform/modules/functions/main.tf).
BASELINE_SIDS = {"Logs", "XRay", "KmsViaServices", "AsyncDlq", "OwnQueue"}


def _terraform_map(name: str) -> set[str]:
    """Keys of a map literal in terraform/main.tf, e.g. resource_arns = { table = ... }."""
    body = re.search(rf"{name} = \{{\n(.*?)\n  \}}", ROOT_MAIN, re.DOTALL)
    assert body, f"terraform/main.tf has no {name} map"
    return set(re.findall(r"^\s+([A-Za-z_]+)\s+=", body.group(1), re.MULTILINE))


def test_there_are_manifests() -> None:
    assert len(MANIFESTS) >= 2


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_manifest_permissions_and_environment_resolve(name: str) -> None:
    manifest = MANIFESTS[name]
    known_resources = _terraform_map("resource_arns") | _terraform_map("late_resource_arns")
    known_env = _terraform_map("environment_values")
    for key in ("handler", "runtime", "timeout", "memory_size", "permissions"):
        assert key in manifest, f"{name}: {key}"
    assert re.fullmatch(r"python3\.1[2-9]", manifest["runtime"]), "runtime python3.12 or newer"
    for permission in manifest["permissions"]:
        assert permission["resource"] in known_resources, f"{name}: unknown resource {permission['resource']}"
        for action in permission["actions"]:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), f"{name}: {action} (no wildcards)"
    for env in manifest.get("environment", []):
        assert env in known_env, f"{name}: unknown environment name {env}"
    route = manifest.get("route")
    if route and route.get("request_model"):
        assert (ROOT / "shared" / "apikit" / "schemas" / f"{route['request_model']}.json").exists()
    stream = manifest.get("events", {}).get("dynamodb_stream")
    if stream and "on_failure" in stream:
        assert stream["on_failure"] in known_resources


def test_routes_are_unique() -> None:
    routes = [(m["route"]["method"].upper(), m["route"]["path"]) for m in MANIFESTS.values() if "route" in m]
    assert len(routes) == len(set(routes))


# --- against the `local` stage applied to moto (shared with tests/terraform) -----------------------


def _applied() -> dict:
    from tests.terraform.harness import local_outputs, terraform_missing

    reason = terraform_missing()
    if reason:
        pytest.skip(f"TERRAFORM TESTS SKIPPED: {reason}")
    return local_outputs()


def _resolve(outputs: dict, symbol: str) -> list[str]:
    from tests.terraform.harness import REGION, boto3_client

    table = boto3_client("dynamodb").describe_table(TableName=outputs["table_name"])["Table"]
    resolved = {
        "table": [table["TableArn"]],
        "table_indexes": [
            f"{table['TableArn']}/index/{g['IndexName']}" for g in table["GlobalSecondaryIndexes"]
        ],
        "table_stream": [table["LatestStreamArn"]],
        "cursor_secret": [outputs["cursor_secret_id"]],
        "usage_plans": [
            arn
            for plan in boto3_client("apigateway").get_usage_plans(limit=500)["items"]
            # This stage's plans only: other suites share the moto server.
            if any(s.get("apiId") == outputs["rest_api_id"] for s in plan.get("apiStages", []))
            for arn in (
                f"arn:aws:apigateway:{REGION}::/usageplans/{plan['id']}",
                f"arn:aws:apigateway:{REGION}::/usageplans/{plan['id']}/usage",
            )
        ],
        "audit_delivery_stream": [
            boto3_client("firehose").describe_delivery_stream(DeliveryStreamName=outputs["firehose_name"])[
                "DeliveryStreamDescription"
            ]["DeliveryStreamARN"]
        ],
        "audit_failure_bucket": [f"arn:aws:s3:::{outputs['audit_failure_bucket']}"],
        "audit_failure_records": [f"arn:aws:s3:::{outputs['audit_failure_bucket']}/aws/lambda/*"],
        "kms_key": [outputs["kms_key_arn"]],
        "item_events_topic": [outputs["item_events_topic_arn"]],
    }
    return resolved[symbol]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


@pytest.mark.terraform
@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_deployed_policy_allows_exactly_the_manifest_actions(name: str) -> None:
    from tests.terraform.harness import boto3_client

    outputs = _applied()
    role = outputs["functions"][name]["role_name"]
    iam = boto3_client("iam")
    # The function's policy, plus the "-late" one for resources created after it (usage plans).
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert names[0] == role and set(names) <= {role, f"{role}-late"}, names
    statements = []
    for policy_name in names:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        statements += (json.loads(document) if isinstance(document, str) else document)["Statement"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []

    granted: set[tuple[str, str]] = set()
    account = boto3_client("sts").get_caller_identity()["Account"]
    for statement in statements:
        assert statement["Effect"] == "Allow"
        if statement["Sid"] in BASELINE_SIDS:
            continue
        assert statement["Sid"].startswith("Manifest"), statement
        permission = MANIFESTS[name]["permissions"][int(statement["Sid"].removeprefix("Manifest"))]
        wanted_condition = dict(permission.get("condition", {}))
        if all(a.startswith("s3:") for a in permission["actions"]):
            wanted_condition["StringEquals"] = {
                **wanted_condition.get("StringEquals", {}),
                "s3:ResourceAccount": account,
            }
        assert statement.get("Condition", {}) == wanted_condition, statement
        for action in _as_list(statement["Action"]):
            for resource in _as_list(statement["Resource"]):
                # The one wildcard: the key prefix of objects whose names Lambda chooses (on-failure
                # records under aws/lambda/); the bucket and the prefix are fixed.
                fixed = (
                    resource.removesuffix("/aws/lambda/*")
                    if resource.startswith("arn:aws:s3:::")
                    else resource
                )
                assert "*" not in fixed, f"{name}: wildcard resource {resource}"
                granted.add((action, resource))
    wanted = {
        (action, arn)
        for permission in MANIFESTS[name]["permissions"]
        for action in permission["actions"]
        for arn in _resolve(outputs, permission["resource"])
    }
    assert granted == wanted

    baseline = {s["Sid"]: s for s in statements if s["Sid"] in BASELINE_SIDS}
    assert _as_list(baseline["XRay"]["Action"]) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    assert "kms:ViaService" in baseline["KmsViaServices"]["Condition"]["StringEquals"]
    assert baseline["Logs"]["Resource"].endswith(
        f":log-group:/aws/lambda/{outputs['functions'][name]['function_name']}:*"
    )


@pytest.mark.terraform
def test_every_route_has_a_method_and_every_method_a_function() -> None:
    from tests.terraform.harness import boto3_client

    outputs = _applied()
    apigw = boto3_client("apigateway")
    resources = apigw.get_resources(restApiId=outputs["rest_api_id"], embed=["methods"], limit=500)["items"]
    deployed: dict[tuple[str, str], dict] = {}
    for resource in resources:
        for method in resource.get("resourceMethods", {}):
            deployed[(method, resource["path"])] = apigw.get_method(
                restApiId=outputs["rest_api_id"], resourceId=resource["id"], httpMethod=method
            )
    expected = {
        (m["route"]["method"].upper(), m["route"]["path"]): name
        for name, m in MANIFESTS.items()
        if "route" in m
    }
    # CORS preflights are the only methods without a manifest: an open MOCK on every routed path
    # (the local stage allows origins), never a function.
    preflights = {key: deployed.pop(key) for key in [k for k in deployed if k[0] == "OPTIONS"]}
    assert {path for _, path in preflights} == {path for _, path in expected}
    for key, method in preflights.items():
        assert method["apiKeyRequired"] is False, key
        assert method["methodIntegration"]["type"] == "MOCK", key
    assert set(deployed) == set(expected), "API methods and manifest routes differ"
    for key, name in expected.items():
        method = deployed[key]
        route = MANIFESTS[name]["route"]
        assert method["apiKeyRequired"] is route.get("api_key_required", True), key
        assert method["authorizationType"] == ("CUSTOM" if method["apiKeyRequired"] else "NONE"), key
        uri = method["methodIntegration"]["uri"]
        assert method["methodIntegration"]["type"] == "AWS_PROXY"
        assert uri.endswith(f"function:{outputs['functions'][name]['function_name']}:live/invocations"), uri
        if route.get("request_model"):
            assert method.get("requestValidatorId"), key
            assert list(method["requestModels"].values()) == [
                route["request_model"].replace("_", " ").title().replace(" ", "")
            ]


def _leading_keys(permission: dict) -> list[str]:
    """The dynamodb:LeadingKeys values a manifest permission's IAM condition confines it to."""
    return [
        value
        for operator, keys in permission.get("condition", {}).items()
        if "Not" not in operator  # the keys it may use, not those shut out
        for value in keys.get("dynamodb:LeadingKeys", [])
    ]


def test_leading_keys_confine_functions_outside_partner_data() -> None:
    """Functions confined by dynamodb:LeadingKeys (the authorizer, the canary) name partitions outside
    every partner's P#<partner># space; the authorizer's is the API key records' prefix in table.json."""
    spec = json.loads((ROOT / "shared" / "apikit" / "table.json").read_text())
    patterns = {
        k for m in MANIFESTS.values() for permission in m["permissions"] for k in _leading_keys(permission)
    }
    # Inside the partner space only the webhook registration (P#<partner>#WEBHOOK), and never an
    # item: an item whose id is WEBHOOK has the key P#<partner>#I#WEBHOOK, which the negated
    # condition shuts out (partner names never contain #).
    webhook = {"P#*#WEBHOOK"}
    assert patterns and not any(p.startswith("P#") for p in patterns - webhook), patterns
    for m in MANIFESTS.values():
        for permission in m["permissions"]:
            if webhook & set(_leading_keys(permission)):
                assert permission["condition"]["ForAllValues:StringNotLike"] == {
                    "dynamodb:LeadingKeys": ["P#*#I#*"]
                }
    (authorizer,) = [m for m in MANIFESTS.values() if "authorizer" in m]
    assert "route" not in authorizer
    assert _leading_keys(authorizer["permissions"][0]) == [f"{spec['api_key_record']['pk_prefix']}*"]
