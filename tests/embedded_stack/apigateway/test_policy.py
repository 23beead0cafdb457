"""Unit tests of apigateway.policy: what API Gateway accepts from a Lambda authorizer, and IAM's verdict."""

from __future__ import annotations

import pytest

from embedded_stack.apigateway.policy import MalformedOutput, UnsupportedPolicy, parse_output

API = "arn:aws:execute-api:us-east-1:123456789012:abc123"
GET_ITEM = f"{API}/local/GET/items/abc"


def output(*statements: dict, **extra: object) -> dict:
    return {
        "principalId": "partner-a",
        "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        **extra,
    }


def allow(resource: object, action: object = "execute-api:Invoke") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(resource: object) -> dict:
    return {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": resource}


def test_exact_method_arn_is_allowed_and_others_implicitly_denied():
    parsed = parse_output(output(allow(GET_ITEM)))
    assert parsed.decide(GET_ITEM) == "allow"
    assert parsed.decide(f"{API}/local/DELETE/items/abc") == "implicit_deny"
    assert parsed.decide(f"{API}/prod/GET/items/abc") == "implicit_deny"


@pytest.mark.parametrize(
    ("resource", "arn", "decision"),
    [
        (f"{API}/local/GET/*", GET_ITEM, "allow"),  # * spans slashes
        (f"{API}/*/GET/items/*", GET_ITEM, "allow"),
        (f"{API}/local/*/items/*", f"{API}/local/PATCH/items/x/y", "allow"),
        (f"{API}/local/GET/items/?bc", GET_ITEM, "allow"),  # ? is exactly one character
        (f"{API}/local/GET/items/?c", GET_ITEM, "implicit_deny"),
        (f"{API}/local/GET/items", GET_ITEM, "implicit_deny"),  # no implicit prefix match
        (f"{API}/local/get/items/abc", GET_ITEM, "implicit_deny"),  # ARNs are case-sensitive
        (f"{API}/local/GET/items.abc", f"{API}/local/GET/items/abc", "implicit_deny"),  # . is literal
        ("*", GET_ITEM, "allow"),
        ([f"{API}/local/POST/items", f"{API}/local/GET/items/*"], GET_ITEM, "allow"),
    ],
)
def test_resource_wildcards(resource, arn, decision):
    assert parse_output(output(allow(resource))).decide(arn) == decision


@pytest.mark.parametrize(
    "action", ["execute-api:Invoke", "execute-api:*", "*", "EXECUTE-API:invoke", ["s3:*", "execute-api:Inv*"]]
)
def test_actions_that_cover_invoke(action):
    assert parse_output(output(allow("*", action))).decide(GET_ITEM) == "allow"


def test_an_action_that_is_not_invoke_allows_nothing():
    assert (
        parse_output(output(allow("*", "execute-api:ManageConnections"))).decide(GET_ITEM) == "implicit_deny"
    )


def test_deny_beats_allow_whatever_the_order():
    for statements in ((allow("*"), deny(f"{API}/*/DELETE/*")), (deny(f"{API}/*/DELETE/*"), allow("*"))):
        parsed = parse_output(output(*statements))
        assert parsed.decide(f"{API}/local/DELETE/items/abc") == "explicit_deny"
        assert parsed.decide(GET_ITEM) == "allow"


def test_not_resource_and_not_action():
    parsed = parse_output(
        output(
            {"Effect": "Allow", "Action": "execute-api:Invoke", "NotResource": f"{API}/*/DELETE/*"},
            {"Effect": "Deny", "NotAction": "execute-api:Invoke", "Resource": "*"},
        )
    )
    assert parsed.decide(GET_ITEM) == "allow"
    assert parsed.decide(f"{API}/local/DELETE/items/abc") == "implicit_deny"


def test_a_single_statement_object_and_no_version_are_accepted():
    raw = {"principalId": "p", "policyDocument": {"Statement": allow(GET_ITEM)}}
    assert parse_output(raw).decide(GET_ITEM) == "allow"


def test_context_values_are_stringified_as_api_gateway_passes_them():
    parsed = parse_output(
        output(
            allow("*"),
            context={"partner": "a", "n": 7, "ratio": 1.5, "flag": True, "off": False, "none": None},
        )
    )
    assert parsed.context == {
        "partner": "a",
        "n": "7",
        "ratio": "1.5",
        "flag": "true",
        "off": "false",
        "none": None,
    }
    assert parsed.principal_id == "partner-a"
    assert parsed.usage_identifier_key is None


def test_usage_identifier_key_is_kept():
    assert parse_output(output(allow("*"), usageIdentifierKey="k-value")).usage_identifier_key == "k-value"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "Allow",
        [],
        {"policyDocument": {"Statement": [allow("*")]}},  # no principalId
        {"principalId": 7, "policyDocument": {"Statement": [allow("*")]}},
        {"principalId": "p"},  # no policy
        {"principalId": "p", "policyDocument": "Allow"},
        {"principalId": "p", "policyDocument": {"Version": "2012-10-17"}},  # no Statement
        {"principalId": "p", "policyDocument": {"Version": "2020-01-01", "Statement": [allow("*")]}},
        {"principalId": "p", "policyDocument": {"Statement": "Allow"}},
        output(
            {"Effect": "allow", "Action": "execute-api:Invoke", "Resource": "*"}
        ),  # Effect is case-sensitive
        output({"Effect": "Maybe", "Action": "execute-api:Invoke", "Resource": "*"}),
        output({"Effect": "Allow", "Resource": "*"}),  # no Action
        output({"Effect": "Allow", "Action": "execute-api:Invoke"}),  # no Resource
        output({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*", "NotResource": "x"}),
        output({"Effect": "Allow", "Action": [], "Resource": "*"}),
        output({"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [1]}),
        output(
            allow("*"), {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}
        ),
        output(allow(f"{API}/local/GET/" + "x" * 600)),  # Resource ARNs are limited to 512 characters
        output(allow("*"), context=["a"]),
        output(allow("*"), context={"nested": {"a": 1}}),  # only strings, numbers and booleans
        output(allow("*"), context={"list": [1, 2]}),
        output(allow("*"), usageIdentifierKey=12345),
    ],
)
def test_malformed_outputs_are_refused(raw):
    with pytest.raises(MalformedOutput):
        parse_output(raw)


def test_a_condition_is_refused_rather_than_guessed():
    statement = {**allow("*"), "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    with pytest.raises(UnsupportedPolicy):
        parse_output(output(statement))
