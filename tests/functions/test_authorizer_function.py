"""functions/authorizer: every scope, unknown, disabled and malformed keys, and the policy's shape,
evaluated against every route of the manifests as API Gateway evaluates a cached policy."""

from __future__ import annotations

import fnmatch
import json
import re

import pytest

from tests.support.inprocess import ROOT, TABLE, load_handler

STAGE_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123defg/test"
KEYS = {
    "rw": "RwKey0123456789abcdefghijklmnopqrstuvwxyz",
    "ro": "RoKey0123456789abcdefghijklmnopqrstuvwxyz",
    "off": "OffKey123456789abcdefghijklmnopqrstuvwxyz",
    "odd": "OddKey123456789abcdefghijklmnopqrstuvwxyz",
}
MANIFEST = json.loads((ROOT / "functions" / "authorizer" / "function.json").read_text())
ROUTES = [
    m["route"]
    for p in sorted((ROOT / "functions").glob("*/function.json"))
    if "route" in (m := json.loads(p.read_text()))
]


def _record(value: str, *, partner: str, scope: str, name: str, state: str = "active") -> dict:
    """A key record as Terraform writes it (terraform/modules/api_key_records)."""
    from apikit import api_keys, keys

    return {
        **keys.api_key_record_key(api_keys.digest(value)),
        "entity": {"S": keys.API_KEY_RECORD["entity"]},
        "partnerId": {"S": partner},
        "scope": {"S": scope},
        "keyName": {"S": name},
        "apiKeyId": {"S": f"id-{name}"},
        "usagePlanId": {"S": "plan-1"},
        "state": {"S": state},
    }


@pytest.fixture
def records(aws):
    aws.put_item(
        TableName=TABLE, Item=_record(KEYS["rw"], partner="partner-a", scope="read-write", name="primary")
    )
    aws.put_item(
        TableName=TABLE, Item=_record(KEYS["ro"], partner="partner-a", scope="read-only", name="analytics")
    )
    aws.put_item(
        TableName=TABLE,
        Item=_record(KEYS["off"], partner="partner-a", scope="read-write", name="old", state="disabled"),
    )
    aws.put_item(TableName=TABLE, Item=_record(KEYS["odd"], partner="partner-b", scope="admin", name="odd"))
    return aws


def _event(key: str | None, method: str = "GET", path: str = "/items/abc", header: str = "x-api-key") -> dict:
    headers = {"Host": "abc123defg.execute-api.eu-west-1.amazonaws.com"}
    if key is not None:
        headers[header] = key
    return {
        "type": "REQUEST",
        "methodArn": f"{STAGE_ARN}/{method}{path}",
        "resource": "/items/{id}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "pathParameters": {"id": "abc"},
        "stageVariables": None,
        "requestContext": {"stage": "test", "httpMethod": method, "resourcePath": "/items/{id}"},
    }


def _authorize(event: dict) -> dict:
    from tests.support.events import FakeContext

    return load_handler("authorizer")(event, FakeContext())


def _allowed(answer: dict, method_arn: str) -> bool:
    """IAM evaluation of a policy for one method ARN: an explicit Deny wins, then any Allow."""
    effects = set()
    for statement in answer["policyDocument"]["Statement"]:
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if statement["Action"] == "execute-api:Invoke" and any(
            fnmatch.fnmatchcase(method_arn, r) for r in resources
        ):
            effects.add(statement["Effect"])
    return "Allow" in effects and "Deny" not in effects


def _route_arns() -> list[tuple[str, str]]:
    return [(r["method"], f"{STAGE_ARN}/{r['method']}{re.sub(r'{[^}]+}', 'x1', r['path'])}") for r in ROUTES]


def test_a_read_write_key_gets_every_method_its_partner_and_the_usage_identifier(records):
    answer = _authorize(_event(KEYS["rw"]))
    assert answer["principalId"] == "partner-a"
    assert answer["usageIdentifierKey"] == KEYS["rw"]
    assert answer["context"] == {
        "partner": "partner-a",
        "scope": "read-write",
        "keyName": "primary",
        "apiKeyId": "id-primary",
        "usagePlanId": "plan-1",
    }
    assert all(isinstance(v, str) for v in answer["context"].values())  # API Gateway takes no objects
    assert answer["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": [f"{STAGE_ARN}/{m}/*" for m in ("DELETE", "GET", "PATCH", "POST", "PUT")],
            }
        ],
    }


def test_the_cached_policy_covers_every_route_of_its_scope_whatever_request_caused_it(records):
    """API Gateway caches one answer per key for all methods: the policy from a GET must allow the
    key's writes too, and the one from a POST must not allow a read-only key anything but GETs."""
    assert ROUTES, "no routes in the manifests"
    for trigger in ("GET", "POST", "DELETE"):
        read_write = _authorize(_event(KEYS["rw"], method=trigger))
        read_only = _authorize(_event(KEYS["ro"], method=trigger))
        for method, arn in _route_arns():
            assert _allowed(read_write, arn), arn
            assert _allowed(read_only, arn) is (method == "GET"), arn


def test_the_policy_names_only_this_api_and_stage(records):
    answer = _authorize(_event(KEYS["rw"]))
    other_stage = STAGE_ARN.replace("/test", "/prod") + "/GET/items"
    other_api = STAGE_ARN.replace("abc123defg", "zzz999zzzz") + "/GET/items"
    assert not _allowed(answer, other_stage) and not _allowed(answer, other_api)


def test_a_disabled_key_gets_an_explicit_deny_on_the_whole_stage(records):
    answer = _authorize(_event(KEYS["off"]))
    assert answer["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{STAGE_ARN}/*"]}
    ]
    assert "usageIdentifierKey" not in answer and "context" not in answer
    assert not any(_allowed(answer, arn) for _, arn in _route_arns())


def test_a_scope_the_authorizer_does_not_know_is_denied(records):
    answer = _authorize(_event(KEYS["odd"]))
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def test_an_unknown_key_is_unauthorized(records):
    with pytest.raises(Exception, match=r"^Unauthorized$") as caught:
        _authorize(_event("Unknown0123456789abcdefghijklmnopqrstuvw"))
    assert str(caught.value) == "Unauthorized"  # Lambda's errorMessage: API Gateway's 401


@pytest.mark.parametrize(
    "value",
    [None, "", "short", "has space in it 0123456789", "é" * 30, "x" * 129, "tab\there-0123456789abcdef"],
    ids=["absent", "empty", "short", "space", "non-ascii", "too-long", "control"],
)
def test_no_key_or_a_malformed_key_is_unauthorized_without_a_lookup(records, monkeypatch, value):
    from apikit import clients

    client = clients.client("dynamodb")
    calls = []
    monkeypatch.setattr(client, "get_item", lambda **kw: calls.append(kw))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_event(value))
    assert calls == []


def test_a_record_missing_a_field_counts_as_unknown(records):
    value = "Partial0123456789abcdefghijklmnopqrstuvwx"
    item = _record(value, partner="partner-a", scope="read-write", name="partial")
    del item["usagePlanId"]
    records.put_item(TableName=TABLE, Item=item)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_event(value))


def test_the_header_name_is_case_insensitive(records):
    assert _authorize(_event(KEYS["ro"], header="X-API-Key"))["context"]["scope"] == "read-only"


def test_the_lookup_is_a_get_item_by_hash_inside_the_manifests_leading_keys(records, monkeypatch):
    from apikit import api_keys, clients

    client = clients.client("dynamodb")
    original, calls = client.get_item, []
    monkeypatch.setattr(client, "get_item", lambda **kw: calls.append(kw) or original(**kw))
    _authorize(_event(KEYS["rw"]))
    (call,) = calls
    pk = call["Key"]["PK"]["S"]
    assert pk == f"APIKEY#{api_keys.digest(KEYS['rw'])}" and KEYS["rw"] not in json.dumps(call)
    (permission,) = MANIFEST["permissions"]
    assert permission["actions"] == ["dynamodb:GetItem"]
    patterns = permission["condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert any(fnmatch.fnmatchcase(pk, pattern) for pattern in patterns)


def test_a_table_failure_is_an_error_not_unauthorized(records, monkeypatch):
    """API Gateway answers a failed authorizer with 500: a throttled table must not look like a bad key."""
    from apikit import clients
    from botocore.exceptions import ClientError

    def throttled(**_kw):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "GetItem")

    monkeypatch.setattr(clients.client("dynamodb"), "get_item", throttled)
    with pytest.raises(ClientError):
        _authorize(_event(KEYS["rw"]))


def test_a_method_arn_that_is_not_one_is_an_error(records):
    event = _event(KEYS["rw"])
    event["methodArn"] = "not-an-arn"
    with pytest.raises(ValueError, match="methodArn"):
        _authorize(event)


def test_the_key_value_is_never_logged(records, capsys):
    _authorize(_event(KEYS["rw"]))
    with pytest.raises(Exception, match="Unauthorized"):
        _authorize(_event("Unknown0123456789abcdefghijklmnopqrstuvw"))
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["decision"] for line in lines] == ["allow", "unauthorized"]
    assert lines[0]["partner"] == "partner-a" and lines[0]["key"] == "primary"
    assert KEYS["rw"] not in out and "Unknown0123" not in out


def test_the_handler_does_not_import_the_xray_sdk():
    """Cold start: the authorizer stays within a few ms of a bare client (benchmarks/README.md)."""
    source = (ROOT / "functions" / "authorizer" / "handler.py").read_text()
    assert "tracing" not in re.findall(r"^from apikit import (.*)$", source, re.MULTILINE)[0]
    assert "jsonschema" not in source and "aws_xray_sdk" not in source
