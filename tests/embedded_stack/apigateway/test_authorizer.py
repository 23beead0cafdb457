"""Unit tests of apigateway.authorizer: identity sources, the method ARN and the result cache, with plain
values (the gateway running real authorizer functions is test_authorizer_http.py)."""

from __future__ import annotations

import pytest

from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.authorizer import (
    ResultCache,
    UnsupportedIdentitySource,
    identity_values,
    method_arn,
)
from embedded_stack.apigateway.controlplane import Snapshot
from embedded_stack.apigateway.policy import parse_output

HEADERS = [("X-Api-Key", "k1"), ("X-Tenant", "a"), ("x-tenant", "b"), ("Empty", "")]
QUERY = [("scope", "read"), ("Scope", "other"), ("tag", "x"), ("tag", "y")]


def values(*sources: str) -> tuple[str, ...] | None:
    return identity_values(
        sources,
        headers={k.lower(): v for k, v in HEADERS},
        header_pairs=HEADERS,
        query_pairs=QUERY,
        stage_variables={"alias": "live"},
        context={"identity.sourceIp": "203.0.113.7"},
    )


def test_identity_sources_are_read_as_api_gateway_reads_them():
    assert values("method.request.header.x-api-key") == ("k1",)  # headers: any case
    assert values("method.request.header.X-TENANT") == ("b",)  # the last value
    assert values("method.request.multivalueheader.x-tenant") == ("a,b",)
    assert values("method.request.querystring.scope") == ("read",)  # query strings: exact case
    assert values("method.request.multivaluequerystring.tag") == ("x,y",)
    assert values("stageVariables.alias", "context.identity.sourceIp") == ("live", "203.0.113.7")
    assert values() == ()


@pytest.mark.parametrize(
    "source",
    [
        "method.request.header.missing",
        "method.request.header.empty",
        "method.request.querystring.SCOPE",
        "method.request.multivaluequerystring.none",
        "stageVariables.nope",
        "context.authorizer.principalId",
    ],
)
def test_a_missing_or_empty_identity_source_means_unauthorized(source):
    assert values("method.request.header.x-api-key", source) is None


@pytest.mark.parametrize("source", ["method.request.path.id", "method.request.body", "header.x-api-key"])
def test_expressions_api_gateway_does_not_define_are_refused(source):
    with pytest.raises(UnsupportedIdentitySource):
        values(source)


def test_method_arn():
    snapshot = Snapshot(
        api_id="abc123",
        stage="local",
        deployment_id="d1",
        account_id="123456789012",
        binary_media_types=(),
        stage_variables={},
        methods={},
        models={},
        gateway_responses={},
        method_throttles={},
        access_log_format=None,
        keys_by_value={},
        region="eu-west-1",
    )
    assert (
        method_arn(snapshot, "get", "/items/abc")
        == "arn:aws:execute-api:eu-west-1:123456789012:abc123/local/GET/items/abc"
    )
    assert method_arn(snapshot, "GET", "/") == "arn:aws:execute-api:eu-west-1:123456789012:abc123/local/GET/"


def test_cache_entries_expire_after_their_ttl_and_stay_bounded():
    now = [1000.0]
    cache = ResultCache(clock=lambda: now[0], max_entries=3)
    output = parse_output({"principalId": "p", "policyDocument": {"Statement": []}})
    cache.put(("d", "a", "k1"), output, 10)
    now[0] += 9.9
    assert cache.get(("d", "a", "k1")) is output
    assert cache.get(("d", "a", "k2")) is None
    now[0] += 0.1  # exactly the TTL: expired
    assert cache.get(("d", "a", "k1")) is None
    for key in ("k1", "k2", "k3", "k4"):
        cache.put(("d", "a", key), output, 10)
    assert cache.get(("d", "a", "k1")) is None  # the oldest went first
    assert all(cache.get(("d", "a", key)) is output for key in ("k2", "k3", "k4"))


def test_default_gateway_responses_for_authorizers_are_api_gateways():
    def render(kind: r.GatewayErrorType, message: str | None = None) -> tuple[int, bytes, str]:
        response = r.render_gateway_error(
            kind, {}, context={}, request_headers={}, request_query={}, message=message
        )
        return response.status, response.body, dict(response.headers)["x-amzn-ErrorType"]

    assert render(r.UNAUTHORIZED) == (401, b'{"message": "Unauthorized"}', "UnauthorizedException")
    assert render(r.ACCESS_DENIED) == (
        403,
        b'{"Message": "User is not authorized to access this resource"}',
        "AccessDeniedException",
    )
    assert render(r.ACCESS_DENIED, r.EXPLICIT_DENY_MESSAGE)[1] == (
        b'{"Message": "User is not authorized to access this resource with an explicit deny"}'
    )
    assert render(r.AUTHORIZER_CONFIGURATION_ERROR) == (
        500,
        b'{"message": null}',
        "AuthorizerConfigurationException",
    )
