"""Helpers for the gateway tests: a REST API deployed to moto by boto3, and a fake Lambda runner."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from embedded_stack.lambda_runtime import InvokeResult

REGION = "us-east-1"
ACCOUNT = "123456789012"
STAGE = "local"

ITEM_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1}, "userId": {"type": "string"}},
    "required": ["userId", "name"],
    "additionalProperties": False,
}


def lambda_uri(function: str, qualifier: str = "live") -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:{qualifier}"
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


@dataclass
class DeployedApi:
    """Ids and key values of the test API."""

    api_id: str
    keys: dict[str, str]  # label -> key value
    key_ids: dict[str, str]  # label -> key id
    plans: dict[str, str]  # label -> plan id
    resources: dict[str, str] = field(default_factory=dict)


def _method(client: Any, api_id: str, resource_id: str, verb: str, function: str, **kwargs: Any) -> None:
    timeout = kwargs.pop("timeout_ms", None)
    client.put_method(
        restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE", **kwargs
    )
    client.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=verb,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function),
        **({"timeoutInMillis": timeout} if timeout else {}),
    )


def deploy_api(client: Any, name: str) -> DeployedApi:
    """Deploy a REST API shaped like ours: keys required, a body validator, plans of each kind."""
    api_id = client.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    items = client.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = client.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    new = client.create_resource(restApiId=api_id, parentId=items, pathPart="new")["id"]
    health = client.create_resource(restApiId=api_id, parentId=root, pathPart="health")["id"]
    slow = client.create_resource(restApiId=api_id, parentId=root, pathPart="slow")["id"]
    client.create_model(
        restApiId=api_id, name="ItemCreate", contentType="application/json", schema=json.dumps(ITEM_SCHEMA)
    )
    body_validator = client.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=False
    )["id"]
    params_validator = client.create_request_validator(
        restApiId=api_id, name="params", validateRequestBody=False, validateRequestParameters=True
    )["id"]
    _method(
        client,
        api_id,
        items,
        "POST",
        "create_item",
        apiKeyRequired=True,
        requestValidatorId=body_validator,
        requestModels={"application/json": "ItemCreate"},
    )
    _method(
        client,
        api_id,
        items,
        "GET",
        "list_items",
        apiKeyRequired=True,
        requestValidatorId=params_validator,
        requestParameters={"method.request.querystring.userId": True},
    )
    for verb, function in (("GET", "get_item"), ("PATCH", "update_item"), ("DELETE", "delete_item")):
        _method(client, api_id, item, verb, function, apiKeyRequired=True)
    _method(client, api_id, new, "GET", "new_item", apiKeyRequired=True)
    _method(client, api_id, health, "GET", "health", apiKeyRequired=False)
    _method(client, api_id, slow, "GET", "slow", apiKeyRequired=True, timeout_ms=300)
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    client.update_stage(
        restApiId=api_id,
        stageName=STAGE,
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT},
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": "arn:aws:logs:x"},
        ],
    )
    client.put_gateway_response(
        restApiId=api_id,
        responseType="BAD_REQUEST_BODY",
        statusCode="400",
        responseTemplates={
            "application/json": '{"message":$context.error.messageString,'
            '"details":"$context.error.validationErrorString"}'
        },
        responseParameters={"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"},
    )
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    for label, enabled in (("alpha", True), ("beta", True), ("tight", True), ("quota", True), ("off", False)):
        value = f"{name}-{label}-key-0123456789abcdef"
        created = client.create_api_key(name=f"{name}-{label}", enabled=enabled, value=value)
        keys[label], key_ids[label] = value, created["id"]
    keys["orphan"] = f"{name}-orphan-key-0123456789abcdef"
    key_ids["orphan"] = client.create_api_key(name=f"{name}-orphan", enabled=True, value=keys["orphan"])["id"]
    stage_ref = {"apiId": api_id, "stage": STAGE}
    plans = {
        "standard": client.create_usage_plan(
            name=f"{name}-standard",
            apiStages=[stage_ref],
            throttle={"rateLimit": 1000.0, "burstLimit": 1000},
            quota={"limit": 100000, "period": "DAY"},
        )["id"],
        "tight": client.create_usage_plan(
            name=f"{name}-tight",
            apiStages=[stage_ref],
            throttle={"rateLimit": 0.01, "burstLimit": 3},
        )["id"],
        "quota": client.create_usage_plan(
            name=f"{name}-quota",
            apiStages=[stage_ref],
            throttle={"rateLimit": 1000.0, "burstLimit": 1000},
            quota={"limit": 4, "offset": 0, "period": "MONTH"},
        )["id"],
    }
    for label, plan in (
        ("alpha", "standard"),
        ("beta", "standard"),
        ("off", "standard"),
        ("tight", "tight"),
        ("quota", "quota"),
    ):
        client.create_usage_plan_key(usagePlanId=plans[plan], keyId=key_ids[label], keyType="API_KEY")
    return DeployedApi(api_id=api_id, keys=keys, key_ids=key_ids, plans=plans)


ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "apiKeyId": "$context.identity.apiKeyId",
        "apiKey": "$context.identity.apiKey",
        "error": "$context.error.message",
    }
)


Behaviour = Callable[[dict[str, Any]], InvokeResult]


def ok(payload: Any) -> InvokeResult:
    return InvokeResult(ok=True, payload=payload, error_type=None, duration_ms=1.0, status="ok")


def echo(event: dict[str, Any]) -> InvokeResult:
    """A proxy function that answers 200 with the event it received."""
    return ok({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)})


class FakeRunner:
    """Records invocations; answers with a per-function behaviour (default: echo the event)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self.behaviour: dict[str, Behaviour] = {}
        self._lock = threading.Lock()

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        payload: Any,
        timeout_s: float | None = None,
        trace_id: str | None = None,
    ) -> InvokeResult:
        assert trace_id is not None and trace_id.startswith("Root=1-")
        with self._lock:
            self.calls.append((function_name, qualifier, payload))
        return self.behaviour.get(function_name, echo)(payload)
