"""Lambda REQUEST authorizers through the gateway over HTTP: a real authorizer function deployed to moto
with boto3 and run by the Lambda runtime (python3.12 workers), integrations answered by the fake runner
(it echoes the proxy event), an API with ``apiKeySource`` AUTHORIZER deployed by boto3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
import requests

from embedded_stack.apigateway import Gateway
from embedded_stack.lambda_runtime import Runner
from embedded_stack.moto_server import MotoServer
from embedded_stack.moto_server import usage as moto_usage
from tests.embedded_stack.apigateway.support import ACCOUNT, STAGE, FakeRunner, lambda_uri
from tests.embedded_stack.conftest import REGION as LAMBDA_REGION
from tests.embedded_stack.conftest import ROLE
from tests.embedded_stack.support import make_zip

_names = count()

# The identity (x-api-key) says what to answer: "<behaviour>:<key label>"; KEYS maps labels to values.
AUTHORIZER = """
import json, os, time

KEYS = json.loads(os.environ["KEYS"])


def handler(event, context):
    token = event["headers"].get("x-api-key", "")
    behaviour, _, label = token.partition(":")
    api_arn, stage = event["methodArn"].split("/")[:2]
    everything = f"{api_arn}/{stage}/*"
    statements = [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": everything}]
    if behaviour == "unauthorized":
        raise Exception("Unauthorized")
    if behaviour == "fail":
        raise RuntimeError("the key store is down")
    if behaviour == "slow":
        time.sleep(5)
    if behaviour == "malformed":
        return {"principalId": label, "policyDocument": {"Statement": [{"Effect": "Perhaps"}]}}
    if behaviour == "get-only":
        statements[0]["Resource"] = f"{api_arn}/{stage}/GET/*"
    if behaviour == "one":
        statements[0]["Resource"] = event["methodArn"]
    if behaviour == "wild":
        statements[0]["Resource"] = f"{api_arn}/{stage}/GET/items/?bc"
    if behaviour == "other":
        statements[0]["Resource"] = f"{api_arn}/{stage}/GET/elsewhere"
    if behaviour == "deny":
        statements = [
            {"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": f"{api_arn}/*/DELETE/*"},
        ]
    output = {
        "principalId": f"principal-{label}",
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {
            "partner": label,
            "n": 7,
            "flag": True,
            "none": None,
            "sawType": event["type"],
            "sawArn": event["methodArn"],
            "sawBody": "body" in event,
            "sawQuery": json.dumps(event["queryStringParameters"]),
        },
    }
    if behaviour == "badcontext":
        output["context"]["nested"] = {"not": "allowed"}
    if behaviour != "nokey":
        output["usageIdentifierKey"] = KEYS.get(label, label)
    return output
"""

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'  # as terraform/modules/api deploys


@dataclass
class AuthorizedApi:
    api_id: str
    function: str
    keys: dict[str, str]  # label -> value
    key_ids: dict[str, str]
    plans: dict[str, str]


class Runners:
    """The authorizer function runs for real; integrations go to the fake runner (echo)."""

    def __init__(self, real: Runner, fake: FakeRunner, function: str) -> None:
        self.real, self.fake, self.function = real, fake, function
        self.calls: list[tuple[str | None, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        payload: Any,
        timeout_s: float | None = None,
        trace_id: str | None = None,
    ) -> Any:
        if function_name != self.function:
            return self.fake.invoke(function_name, qualifier, payload, timeout_s, trace_id)
        with self._lock:
            self.calls.append((qualifier, payload))
        return self.real.invoke(function_name, qualifier, payload, timeout_s=timeout_s, trace_id=trace_id)


def _deploy_function(aws: Any, keys: dict[str, str]) -> str:
    lam = aws("lambda")
    name = f"authz{next(_names)}"
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"ZipFile": make_zip({"handler.py": AUTHORIZER})},
        Timeout=1,
        MemorySize=128,
        Environment={"Variables": {"KEYS": json.dumps(keys)}},
    )
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    return name


def _authorizer_uri(function: str) -> str:
    arn = f"arn:aws:lambda:{LAMBDA_REGION}:{ACCOUNT}:function:{function}:live"
    return f"arn:aws:apigateway:{LAMBDA_REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def _deploy_api(client: Any, aws: Any, name: str) -> AuthorizedApi:
    labels = ("gold", "gold2", "tight", "quota", "off", "orphan")
    keys = {label: f"{name}-{label}-0123456789abcdef" for label in labels}
    function = _deploy_function(aws, keys)
    api_id = client.create_rest_api(name=name, apiKeySource="AUTHORIZER")["id"]
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")

    def authorizer(label: str, ttl: int, sources: str, kind: str = "REQUEST") -> str:
        return client.create_authorizer(
            restApiId=api_id,
            name=f"{name}-{label}",
            type=kind,
            authorizerUri=_authorizer_uri(function),
            identitySource=sources,
            authorizerResultTtlInSeconds=ttl,
        )["id"]

    main = authorizer("main", 300, "method.request.header.x-api-key")
    short = authorizer("short", 1, "method.request.header.x-api-key,method.request.querystring.scope")
    nocache = authorizer("nocache", 0, "method.request.header.x-api-key")
    token = authorizer("token", 300, "method.request.header.x-api-key", kind="TOKEN")

    def resource(parent: str, part: str) -> str:
        return client.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

    def method(
        resource_id: str, verb: str, auth: str | None, *, key: bool = True, kind: str = "CUSTOM"
    ) -> None:
        extra = {"authorizerId": auth} if auth else {}
        client.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            authorizationType=kind if auth or kind != "CUSTOM" else "NONE",
            apiKeyRequired=key,
            **extra,
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri("backend"),
        )

    items = resource(root, "items")
    item = resource(items, "{id}")
    method(items, "GET", main)
    method(item, "GET", main)
    method(item, "DELETE", main)
    method(resource(root, "short"), "GET", short)
    method(resource(root, "nocache"), "GET", nocache, key=False)
    method(resource(root, "token"), "GET", token)
    method(resource(root, "iam"), "GET", None, kind="AWS_IAM")
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        client.put_gateway_response(
            restApiId=api_id, responseType=kind, responseTemplates={"application/json": DEFAULT_TEMPLATE}
        )
    key_ids = {
        label: client.create_api_key(name=f"{name}-{label}", enabled=label != "off", value=value)["id"]
        for label, value in keys.items()
    }
    stage_ref = {"apiId": api_id, "stage": STAGE}
    plans = {
        "standard": client.create_usage_plan(
            name=f"{name}-standard",
            apiStages=[stage_ref],
            throttle={"rateLimit": 1000.0, "burstLimit": 1000},
            quota={"limit": 100000, "period": "DAY"},
        )["id"],
        "tight": client.create_usage_plan(
            name=f"{name}-tight", apiStages=[stage_ref], throttle={"rateLimit": 0.01, "burstLimit": 2}
        )["id"],
        "quota": client.create_usage_plan(
            name=f"{name}-quota",
            apiStages=[stage_ref],
            throttle={"rateLimit": 1000.0, "burstLimit": 1000},
            quota={"limit": 3, "offset": 0, "period": "MONTH"},
        )["id"],
        "elsewhere": client.create_usage_plan(name=f"{name}-elsewhere", apiStages=[])["id"],
    }
    for label, plan in (("gold", "standard"), ("gold2", "standard"), ("off", "standard")):
        client.create_usage_plan_key(usagePlanId=plans[plan], keyId=key_ids[label], keyType="API_KEY")
    client.create_usage_plan_key(usagePlanId=plans["tight"], keyId=key_ids["tight"], keyType="API_KEY")
    client.create_usage_plan_key(usagePlanId=plans["quota"], keyId=key_ids["quota"], keyType="API_KEY")
    client.create_usage_plan_key(usagePlanId=plans["elsewhere"], keyId=key_ids["gold"], keyType="API_KEY")
    return AuthorizedApi(api_id=api_id, function=function, keys=keys, key_ids=key_ids, plans=plans)


@pytest.fixture(scope="module")
def authorized(apigw: Any, aws: Any) -> AuthorizedApi:
    return _deploy_api(apigw, aws, f"authz-api{next(_names)}")


@pytest.fixture(scope="module")
def real_runner(moto_server: MotoServer, lambda_python: str, tmp_path_factory: Any) -> Iterator[Runner]:
    runner = Runner(
        moto_server.endpoint_url,
        LAMBDA_REGION,
        state_dir=tmp_path_factory.mktemp("authz-runner"),
        python=lambda_python,
        console=None,
    )
    yield runner
    runner.close()


@pytest.fixture
def runners(real_runner: Runner, authorized: AuthorizedApi) -> Runners:
    return Runners(real_runner, FakeRunner(), authorized.function)


def _gateway(apigw: Any, api: AuthorizedApi, runners: Runners, tmp_path: Any, refresh_s: float) -> Gateway:
    return Gateway(
        apigw,
        runners,
        "127.0.0.1",
        0,
        rest_api_id=api.api_id,
        stage=STAGE,
        access_log_path=tmp_path / "access.log",
        refresh_interval_s=refresh_s,
    ).start()


@pytest.fixture
def gateway(apigw: Any, authorized: AuthorizedApi, runners: Runners, tmp_path: Any) -> Iterator[Gateway]:
    gw = _gateway(apigw, authorized, runners, tmp_path, refresh_s=0)
    yield gw
    gw.stop()


def call(gateway: Gateway, path: str, identity: str | None, method: str = "GET", **kwargs: Any) -> Any:
    headers = {} if identity is None else {"x-api-key": identity}
    return requests.request(method, f"{gateway.url}{path}", headers=headers, timeout=30, **kwargs)


def test_allowed_request_reaches_the_function_with_the_authorizer_context(gateway, authorized, runners):
    response = call(gateway, "/items/abc?q=1", "allow:gold")
    assert response.status_code == 200, response.text
    event = response.json()
    arn = f"arn:aws:execute-api:{gateway.snapshot.region}:{ACCOUNT}:{authorized.api_id}/{STAGE}/GET/items/abc"
    authorizer = event["requestContext"]["authorizer"]
    latency = authorizer.pop("integrationLatency")
    assert isinstance(latency, int) and latency >= 0
    assert authorizer == {
        "partner": "gold",
        "n": "7",  # numbers and booleans arrive stringified, null stays null
        "flag": "true",
        "none": None,
        "sawType": "REQUEST",
        "sawArn": arn,
        "sawBody": "false",  # a REQUEST authorizer gets no body
        "sawQuery": '{"q": "1"}',
        "principalId": "principal-gold",
    }
    # apiKeySource AUTHORIZER: the key is the authorizer's usageIdentifierKey, as the request context says.
    identity = event["requestContext"]["identity"]
    assert (identity["apiKeyId"], identity["apiKey"]) == (authorized.key_ids["gold"], authorized.keys["gold"])
    qualifier, authorizer_event = runners.calls[-1]
    assert qualifier == "live"  # the alias in authorizerUri
    assert authorizer_event["headers"]["x-api-key"] == "allow:gold"
    assert authorizer_event["pathParameters"] == {"id": "abc"}


def test_results_are_cached_per_identity_for_the_ttl(gateway, runners):
    for _ in range(3):
        response = call(gateway, "/items/abc", "allow:gold")
        assert response.status_code == 200
    assert len(runners.calls) == 1
    assert response.json()["requestContext"]["authorizer"]["integrationLatency"] == 0  # from the cache
    assert call(gateway, "/items", "allow:gold2").status_code == 200  # another identity: another entry
    assert call(gateway, "/items/xyz", "allow:gold2").status_code == 200
    assert [event["headers"]["x-api-key"] for _, event in runners.calls] == ["allow:gold", "allow:gold2"]


def test_ttl_expiry_and_no_cache(gateway, runners):
    started = time.monotonic()
    assert call(gateway, "/short?scope=read", "allow:gold").status_code == 200  # TTL 1 s
    assert call(gateway, "/short?scope=write", "allow:gold").status_code == 200  # both sources are the key
    assert len(runners.calls) == 2
    while time.monotonic() - started < 1.2:  # wait out the TTL
        time.sleep(0.05)
    assert call(gateway, "/short?scope=read", "allow:gold").status_code == 200
    assert len(runners.calls) == 3
    for _ in range(2):  # TTL 0: every request invokes
        assert call(gateway, "/nocache", "allow:gold").status_code == 200
    assert len(runners.calls) == 5


def test_a_cached_policy_serves_the_other_methods_of_the_api(gateway, runners):
    assert call(gateway, "/items/abc", "one:gold").status_code == 200
    denied = call(gateway, "/items/abc", "one:gold", method="DELETE")
    assert denied.status_code == 403  # the cached policy names GET /items/abc only, as on AWS
    assert len(runners.calls) == 1


def test_missing_or_empty_identity_source_is_401_without_invoking(gateway, runners):
    for path, identity in (
        ("/items", None),
        ("/items", ""),
        ("/short", "allow:gold"),
        ("/short?scope=", "allow:gold"),
    ):
        response = call(gateway, path, identity)
        assert response.status_code == 401, (path, identity)
        assert response.json() == {"message": "Unauthorized"}
        assert response.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert runners.calls == [] and runners.fake.calls == []


def test_explicit_and_implicit_denies_are_403(gateway, runners):
    denied = call(gateway, "/items/abc", "deny:gold", method="DELETE")
    assert denied.status_code == 403
    assert denied.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }
    assert denied.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert call(gateway, "/items/abc", "deny:gold").status_code == 200  # Allow * minus the Deny
    implicit = call(gateway, "/items/abc", "other:gold")
    assert implicit.status_code == 403
    assert implicit.json() == {"message": "User is not authorized to access this resource"}
    assert call(gateway, "/items/abc", "get-only:gold", method="DELETE").status_code == 403
    assert [c[0] for c in runners.fake.calls] == ["backend"]  # only the allowed GET reached the integration


def test_wildcards_in_the_policy(gateway):
    assert [call(gateway, f"/items/{i}", "wild:gold").status_code for i in ("abc", "xbc", "abcd", "bc")] == [
        200,
        200,
        403,
        403,
    ]


@pytest.mark.parametrize("behaviour", ["fail", "malformed", "badcontext", "slow"])
def test_failures_timeouts_and_malformed_outputs_are_500_and_not_cached(gateway, runners, behaviour):
    for attempt in (1, 2):
        response = call(gateway, "/items/abc", f"{behaviour}:gold")
        assert response.status_code == 500, response.text
        assert response.json() == {"message": None}
        assert response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
        assert len(runners.calls) == attempt
    assert runners.fake.calls == []


def test_raising_unauthorized_is_401(gateway, runners):
    response = call(gateway, "/items/abc", "unauthorized:gold")
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert len(runners.calls) == 1


def test_usage_identifier_key_is_checked_and_feeds_throttle_and_quota(gateway):
    for identity in ("nokey:gold", "allow:off", "allow:orphan", "allow:not-a-key"):
        response = call(gateway, "/items/abc", identity)
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"}), identity
    assert call(gateway, "/nocache", "nokey:gold").status_code == 200  # no key required, none needed
    tight = [call(gateway, "/items/abc", "allow:tight") for _ in range(3)]
    assert [r.status_code for r in tight] == [200, 200, 429]  # the tight plan's burst of 2
    assert tight[-1].json() == {"message": "Too Many Requests"}
    quota = [call(gateway, "/items", "allow:quota").status_code for _ in range(4)]
    assert quota == [200, 200, 200, 429]  # the quota plan's 3 a month


def test_unsupported_authorization_is_refused_not_skipped(gateway, runners):
    for path in ("/token", "/iam"):
        response = call(gateway, path, "allow:gold")
        assert response.status_code == 500, path
    assert runners.calls == [] and runners.fake.calls == []


def test_disabling_a_key_takes_effect_within_5_s(apigw, authorized, runners, tmp_path):
    gateway = _gateway(apigw, authorized, runners, tmp_path, refresh_s=2.0)
    try:
        assert call(gateway, "/items/abc", "allow:gold2").status_code == 200  # cached for 300 s
        apigw.update_api_key(
            apiKey=authorized.key_ids["gold2"],
            patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}],
        )
        disabled_at = time.monotonic()
        while (status := call(gateway, "/items/abc", "allow:gold2").status_code) == 200:
            assert time.monotonic() - disabled_at < 5, "the disabled key still works after 5 s"
            time.sleep(0.1)
        assert status == 403
        assert call(gateway, "/items/abc", "allow:gold").status_code == 200  # the partner's other key
        assert len(runners.calls) == 2  # no re-invocation was needed: the key check is the gateway's
    finally:
        apigw.update_api_key(
            apiKey=authorized.key_ids["gold2"],
            patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}],
        )
        gateway.stop()


def test_get_usage_on_the_control_plane_reports_the_gateways_counts(gateway, authorized, apigw):
    moto_usage.set_provider(gateway.usage)
    try:
        for _ in range(3):
            assert call(gateway, "/items/abc", "allow:gold").status_code == 200
        assert call(gateway, "/items/abc", "allow:gold2").status_code == 200
        today = datetime.now(UTC).date().isoformat()
        usage = apigw.get_usage(usagePlanId=authorized.plans["standard"], startDate=today, endDate=today)
        if usage["startDate"] != datetime.now(UTC).date().isoformat():
            pytest.skip("the UTC day changed during the test")
        assert usage["usagePlanId"] == authorized.plans["standard"]
        assert usage["items"] == {
            authorized.key_ids["gold"]: [[3, 100000 - 3]],
            authorized.key_ids["gold2"]: [[1, 100000 - 1]],
        }
        one = apigw.get_usage(
            usagePlanId=authorized.plans["standard"],
            keyId=authorized.key_ids["gold2"],
            startDate=today,
            endDate=today,
        )
        assert one["items"] == {authorized.key_ids["gold2"]: [[1, 99999]]}
        # A plan that does not cover this stage has no usage here, even for the same key.
        other = apigw.get_usage(usagePlanId=authorized.plans["elsewhere"], startDate=today, endDate=today)
        assert other["items"] == {}
        if shutil.which("aws") is None:
            return  # the AWS CLI is optional here; boto3 above made the same call
        cli = subprocess.run(
            [
                "aws",
                "apigateway",
                "get-usage",
                "--endpoint-url",
                apigw.meta.endpoint_url,
                "--region",
                apigw.meta.region_name,
                "--usage-plan-id",
                authorized.plans["standard"],
                "--start-date",
                today,
                "--end-date",
                today,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["items"][authorized.key_ids["gold"]] == [[3, 99997]]
    finally:
        moto_usage.set_provider(None)
