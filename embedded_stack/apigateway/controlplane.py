"""Read one REST API stage from the API Gateway control plane into an immutable snapshot.

Everything the data plane needs comes from here (what Terraform deployed), never from a second list
of routes: resources with their methods and integrations, the stage (variables, method settings,
access log format), models and validators, gateway responses, Lambda authorizers, the API key
source, API keys, usage plans and their keys.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from embedded_stack.apigateway.limits import Quota, Throttle

# arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations
_LAMBDA_URI = re.compile(
    r"^arn:aws[\w-]*:apigateway:(?P<region>[\w-]+):lambda:path/[\d-]+/functions/(?P<arn>.+)/invocations$"
)
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


class ControlPlaneError(RuntimeError):
    """The deployed API cannot be served (no such API or stage, unsupported integration...)."""


@dataclass(frozen=True)
class LambdaTarget:
    """The function an AWS_PROXY integration invokes, parsed from its URI."""

    function_name: str
    qualifier: str | None
    region: str
    account_id: str


@dataclass(frozen=True)
class IntegrationResponse:
    """How a non-proxy (MOCK) integration's result becomes the method response."""

    status_code: str
    selection_pattern: str | None
    parameters: dict[str, str]  # method.response.header.X -> 'static' or another source
    templates: dict[str, str]  # content type -> VTL template ("" when none)


@dataclass(frozen=True)
class Method:
    """One deployed method of one resource, with what the data plane enforces for it."""

    resource_id: str
    resource_path: str
    http_method: str
    api_key_required: bool
    integration_type: str
    target: LambdaTarget | None
    timeout_ms: int
    validate_body: bool
    validate_parameters: bool
    request_models: dict[str, str]
    request_parameters: dict[str, bool]
    request_templates: dict[str, str] = field(default_factory=dict)
    integration_responses: tuple[IntegrationResponse, ...] = ()
    method_responses: frozenset[str] = frozenset()  # declared status codes
    authorization_type: str = "NONE"  # NONE, CUSTOM (a Lambda authorizer), AWS_IAM, COGNITO_USER_POOLS
    authorizer_id: str | None = None


# API Gateway's default when an authorizer's TTL is not set (Authorizer.authorizerResultTtlInSeconds).
DEFAULT_AUTHORIZER_TTL_S = 300


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer of the API (GetAuthorizers); ``target`` is None when its URI is not Lambda's."""

    id: str
    name: str
    type: str  # REQUEST or TOKEN (Lambda), COGNITO_USER_POOLS
    target: LambdaTarget | None
    identity_sources: tuple[str, ...]  # "method.request.header.x-api-key", ... in the order given
    ttl_s: int


@dataclass(frozen=True)
class GatewayResponse:
    """A customised gateway response (status, headers and body templates)."""

    status_code: str | None
    parameters: dict[str, str]
    templates: dict[str, str]


@dataclass(frozen=True)
class Plan:
    """A usage plan as it applies to this API stage."""

    id: str
    throttle: Throttle | None
    quota: Quota | None
    method_throttles: dict[str, Throttle]  # "/items/{id}/GET" -> throttle


@dataclass(frozen=True)
class ApiKey:
    """An API key; ``value`` is the secret partners send in x-api-key."""

    id: str
    value: str
    enabled: bool


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to serve one stage; replaced atomically when the control plane changes."""

    api_id: str
    stage: str
    deployment_id: str
    account_id: str
    binary_media_types: tuple[str, ...]
    stage_variables: dict[str, str]
    methods: dict[tuple[str, str], Method]  # (resource path, HTTP method or ANY)
    models: dict[str, dict[str, Any]]
    gateway_responses: dict[str, GatewayResponse]
    method_throttles: dict[str, Throttle]  # "*/*" or "/items/GET" from the stage's method settings
    access_log_format: str | None
    keys_by_value: dict[str, ApiKey]
    plans_by_key: dict[str, Plan] = field(default_factory=dict)
    fingerprint: str = ""
    region: str = "us-east-1"
    api_key_source: str = "HEADER"  # or AUTHORIZER: the key is the authorizer's usageIdentifierKey
    authorizers: dict[str, Authorizer] = field(default_factory=dict)


def parse_lambda_uri(uri: str, stage_variables: dict[str, str]) -> LambdaTarget:
    """Function name and qualifier from an AWS_PROXY integration URI (stage variables resolved)."""
    resolved = _STAGE_VARIABLE.sub(lambda m: stage_variables.get(m.group(1), ""), uri)
    match = _LAMBDA_URI.match(resolved)
    if not match:
        raise ControlPlaneError(f"not a Lambda integration URI: {uri}")
    arn = match.group("arn")
    parts = arn.split(":")
    # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function":
        raise ControlPlaneError(f"not a Lambda function ARN in integration URI: {uri}")
    qualifier = parts[7] if len(parts) > 7 and parts[7] else None
    return LambdaTarget(function_name=parts[6], qualifier=qualifier, region=parts[3], account_id=parts[4])


def _throttle(raw: dict[str, Any] | None) -> Throttle | None:
    if not raw or ("rateLimit" not in raw and "burstLimit" not in raw):
        return None
    return Throttle(rate_limit=float(raw.get("rateLimit", 0.0)), burst_limit=int(raw.get("burstLimit", 0)))


def _method_setting_key(key: str) -> str:
    """Normalise a stage method-settings key: "~1items~1{id}/GET" -> "/items/{id}/GET"."""
    if key == "*/*":
        return key
    key = key.replace("~1", "/")
    return key if key.startswith("/") else "/" + key


def _all_pages(call: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Follow API Gateway's position-based pagination (limit 500 per page)."""
    items: list[dict[str, Any]] = []
    position: str | None = None
    while True:
        page = call(**kwargs, limit=500, **({"position": position} if position else {}))
        items.extend(page.get("items", page.get("item", [])))
        position = page.get("position")
        if not position:
            return items


def find_api(client: Any, rest_api_id: str | None, stage: str | None) -> tuple[str, str]:
    """Resolve which API and stage to serve when the caller did not say (exactly one must exist)."""
    if rest_api_id is None:
        apis = _all_pages(client.get_rest_apis)
        if len(apis) != 1:
            names = sorted(a["name"] for a in apis)
            raise ControlPlaneError(f"expected exactly one REST API, found {len(apis)}: {names}")
        rest_api_id = apis[0]["id"]
    if stage is None:
        stages = client.get_stages(restApiId=rest_api_id).get("item", [])
        if len(stages) != 1:
            names = sorted(s["stageName"] for s in stages)
            raise ControlPlaneError(f"expected exactly one stage of {rest_api_id}, found {names}")
        stage = stages[0]["stageName"]
    return rest_api_id, stage


def fingerprint(client: Any, rest_api_id: str, stage: str) -> str:
    """A cheap digest of what changes between deployments: the stage, keys, plans, plan keys."""
    stage_info = client.get_stage(restApiId=rest_api_id, stageName=stage)
    keys = _all_pages(client.get_api_keys, includeValues=True)
    plans = _all_pages(client.get_usage_plans)
    plan_keys = {p["id"]: _all_pages(client.get_usage_plan_keys, usagePlanId=p["id"]) for p in plans}
    material = {
        "deployment": stage_info.get("deploymentId"),
        "stage": {k: v for k, v in stage_info.items() if k not in ("ResponseMetadata", "lastUpdatedDate")},
        "keys": [(k["id"], k.get("value"), k.get("enabled")) for k in keys],
        "plans": plans,
        "plan_keys": {pid: sorted(k["id"] for k in ks) for pid, ks in plan_keys.items()},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def _integration_responses(integration: dict[str, Any]) -> tuple[IntegrationResponse, ...]:
    """Integration responses, sorted by status code (their order carries no meaning in AWS)."""
    return tuple(
        IntegrationResponse(
            status_code=str(raw.get("statusCode", status)),
            selection_pattern=raw.get("selectionPattern") or None,
            parameters=dict(raw.get("responseParameters") or {}),
            templates={k: v or "" for k, v in (raw.get("responseTemplates") or {}).items()},
        )
        for status, raw in sorted((integration.get("integrationResponses") or {}).items())
    )


def _load_methods(
    client: Any, rest_api_id: str, stage_variables: dict[str, str], validators: dict[str, dict[str, Any]]
) -> dict[tuple[str, str], Method]:
    methods: dict[tuple[str, str], Method] = {}
    for resource in _all_pages(client.get_resources, restApiId=rest_api_id, embed=["methods"]):
        for verb, embedded in (resource.get("resourceMethods") or {}).items():
            raw = (
                embedded
                if "httpMethod" in embedded  # embedded by get_resources(embed=["methods"])
                else client.get_method(restApiId=rest_api_id, resourceId=resource["id"], httpMethod=verb)
            )
            integration = raw.get("methodIntegration") or {}
            kind = integration.get("type", "")
            target = (
                parse_lambda_uri(integration["uri"], stage_variables)
                if kind in ("AWS_PROXY", "AWS") and ":lambda:path/" in integration.get("uri", "")
                else None
            )
            validator = validators.get(raw.get("requestValidatorId") or "", {})
            timeout_ms = int(integration.get("timeoutInMillis") or 29000)
            methods[(resource["path"], verb.upper())] = Method(
                resource_id=resource["id"],
                resource_path=resource["path"],
                http_method=verb.upper(),
                api_key_required=bool(raw.get("apiKeyRequired")),
                integration_type=kind,
                target=target,
                timeout_ms=min(max(timeout_ms, 50), 29000),
                validate_body=bool(validator.get("validateRequestBody")),
                validate_parameters=bool(validator.get("validateRequestParameters")),
                request_models=dict(raw.get("requestModels") or {}),
                request_parameters={k: bool(v) for k, v in (raw.get("requestParameters") or {}).items()},
                request_templates={
                    k: v or "" for k, v in (integration.get("requestTemplates") or {}).items()
                },
                integration_responses=_integration_responses(integration),
                method_responses=frozenset(str(s) for s in (raw.get("methodResponses") or {})),
                authorization_type=str(raw.get("authorizationType") or "NONE").upper(),
                authorizer_id=raw.get("authorizerId") or None,
            )
    return methods


def _load_authorizers(
    client: Any, rest_api_id: str, stage_variables: dict[str, str]
) -> dict[str, Authorizer]:
    """The API's authorizers; a URI that is not a Lambda function leaves ``target`` None (a 500 if used)."""
    authorizers: dict[str, Authorizer] = {}
    for raw in _all_pages(client.get_authorizers, restApiId=rest_api_id):
        try:
            target = parse_lambda_uri(raw.get("authorizerUri") or "", stage_variables)
        except ControlPlaneError:
            target = None
        ttl = raw.get("authorizerResultTtlInSeconds")
        sources = (raw.get("identitySource") or "").split(",")
        authorizers[raw["id"]] = Authorizer(
            id=raw["id"],
            name=str(raw.get("name") or raw["id"]),
            type=str(raw.get("type") or "").upper(),
            target=target,
            identity_sources=tuple(s.strip() for s in sources if s.strip()),
            ttl_s=DEFAULT_AUTHORIZER_TTL_S if ttl is None else int(ttl),
        )
    return authorizers


def _load_plans(client: Any, rest_api_id: str, stage: str) -> dict[str, Plan]:
    """Usage plans covering this API stage, indexed by the id of each key they hold."""
    plans_by_key: dict[str, Plan] = {}
    for raw in _all_pages(client.get_usage_plans):
        api_stage = next(
            (
                s
                for s in raw.get("apiStages", [])
                if s.get("apiId") == rest_api_id and s.get("stage") == stage
            ),
            None,
        )
        if api_stage is None:
            continue
        quota_raw = raw.get("quota")
        plan = Plan(
            id=raw["id"],
            throttle=_throttle(raw.get("throttle")),
            quota=Quota(
                limit=int(quota_raw["limit"]),
                period=str(quota_raw["period"]),
                offset=int(quota_raw.get("offset", 0)),
            )
            if quota_raw and "limit" in quota_raw
            else None,
            method_throttles={
                path: t
                for path, t_raw in (api_stage.get("throttle") or {}).items()
                if (t := _throttle(t_raw))
            },
        )
        for key in _all_pages(client.get_usage_plan_keys, usagePlanId=raw["id"]):
            plans_by_key[key["id"]] = plan
    return plans_by_key


def load_snapshot(client: Any, rest_api_id: str, stage: str) -> Snapshot:
    """Read the whole stage from the control plane (a dozen calls; done on start and on change)."""
    digest = fingerprint(client, rest_api_id, stage)
    api = client.get_rest_api(restApiId=rest_api_id)
    stage_info = client.get_stage(restApiId=rest_api_id, stageName=stage)
    stage_variables = dict(stage_info.get("variables") or {})
    validators = {v["id"]: v for v in _all_pages(client.get_request_validators, restApiId=rest_api_id)}
    methods = _load_methods(client, rest_api_id, stage_variables, validators)
    models: dict[str, dict[str, Any]] = {}
    for model in _all_pages(client.get_models, restApiId=rest_api_id):
        try:
            models[model["name"]] = json.loads(model.get("schema") or "{}")
        except json.JSONDecodeError as exc:
            raise ControlPlaneError(f"model {model['name']} has an invalid JSON schema: {exc}") from exc
    responses = {
        r["responseType"]: GatewayResponse(
            status_code=r.get("statusCode"),
            parameters=dict(r.get("responseParameters") or {}),
            templates=dict(r.get("responseTemplates") or {}),
        )
        for r in _all_pages(client.get_gateway_responses, restApiId=rest_api_id)
    }
    method_throttles = {
        _method_setting_key(key): t
        for key, settings in (stage_info.get("methodSettings") or {}).items()
        if (
            t := _throttle(
                {
                    "rateLimit": settings.get("throttlingRateLimit"),
                    "burstLimit": settings.get("throttlingBurstLimit"),
                }
                if settings.get("throttlingRateLimit") is not None
                else None
            )
        )
    }
    keys = {
        k["value"]: ApiKey(id=k["id"], value=k["value"], enabled=bool(k.get("enabled")))
        for k in _all_pages(client.get_api_keys, includeValues=True)
        if k.get("value")
    }
    targets = [m.target for m in methods.values() if m.target]
    account_id = targets[0].account_id if targets else "123456789012"
    return Snapshot(
        api_id=rest_api_id,
        stage=stage,
        deployment_id=str(stage_info.get("deploymentId") or ""),
        account_id=account_id,
        binary_media_types=tuple(api.get("binaryMediaTypes") or ()),
        stage_variables=stage_variables,
        methods=methods,
        models=models,
        gateway_responses=responses,
        method_throttles=method_throttles,
        access_log_format=(stage_info.get("accessLogSettings") or {}).get("format"),
        keys_by_value=keys,
        plans_by_key=_load_plans(client, rest_api_id, stage),
        fingerprint=digest,
        region=str(getattr(getattr(client, "meta", None), "region_name", None) or "us-east-1"),
        api_key_source=str(api.get("apiKeySource") or "HEADER").upper(),
        authorizers=_load_authorizers(client, rest_api_id, stage_variables),
    )
