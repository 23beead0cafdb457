"""apikit.retry, cursor, validation, logs, http and tracing details."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from apikit import cursor, retry, validation
from apikit.errors import BadRequest

from tests.support.events import FakeContext, api_event, body_of

ROOT = Path(__file__).resolve().parents[2]


def test_full_jitter_delays_grow_and_are_capped():
    delays = retry.delays(base=0.1, cap=0.5)
    got = [next(delays) for _ in range(20)]
    assert all(0 <= d <= 0.5 for d in got)
    assert got[0] <= 0.1 and got[1] <= 0.2


def test_deadline_and_sleep_within():
    now = [100.0]
    deadline = retry.Deadline(1.0, clock=lambda: now[0])
    slept = []
    assert retry.sleep_within(deadline, 0.5, slept.append) and slept == [0.5]
    now[0] += 0.9
    assert not retry.sleep_within(deadline, 0.5, slept.append)
    now[0] += 1
    assert deadline.expired() and deadline.remaining() == 0
    assert retry.Deadline.from_remaining_ms(1000).expired()


def test_cursor_round_trip_and_binding(aws):
    key = {"PK": {"S": "P#p1#I#a"}, "SK": {"S": "ITEM"}, "GSI1PK": {"S": "P#p1#U#u1"}, "GSI1SK": {"S": "t#a"}}
    token = cursor.encode("p1", "u1", key)
    assert "=" not in token and cursor.decode("p1", "u1", token) == key
    for partner, user in (("p2", "u1"), ("p1", "u2")):
        with pytest.raises(BadRequest):
            cursor.decode(partner, user, token)


def test_cursor_signed_with_another_secret_is_rejected(aws):
    import base64
    import hashlib
    import hmac

    import boto3

    key = {"PK": {"S": "P#p1#I#a"}, "SK": {"S": "ITEM"}, "GSI1PK": {"S": "P#p1#U#u1"}, "GSI1SK": {"S": "t#a"}}
    token = cursor.encode("p1", "u1", key)
    kid, body, _mac = token.split(".")
    forged = hmac.new(b"not-our-key", f"{kid}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(BadRequest):
        cursor.decode("p1", "u1", f"{kid}.{body}.{base64.urlsafe_b64encode(forged).rstrip(b'=').decode()}")
    # Two rotations later the signing key is neither current nor previous: retired.
    secrets = boto3.client("secretsmanager", region_name="eu-west-1")
    for value in ("rotated-once", "rotated-twice"):
        secrets.put_secret_value(SecretId="items-test-cursor-key", SecretString=value)
    cursor.reset_cache()
    with pytest.raises(BadRequest):
        cursor.decode("p1", "u1", token)


def test_cursor_with_valid_signature_but_foreign_key_is_rejected(aws):
    """Defence in depth: even a correctly signed payload must name the caller's own partition."""
    foreign = {
        "PK": {"S": "P#p2#I#a"},
        "SK": {"S": "ITEM"},
        "GSI1PK": {"S": "P#p2#U#u1"},
        "GSI1SK": {"S": "t"},
    }
    with pytest.raises(BadRequest):
        cursor.decode("p1", "u1", cursor.encode("p1", "u1", foreign))


def test_schemas_are_draft_04():
    for path in (ROOT / "shared/apikit/schemas").glob("*.json"):
        assert json.loads(path.read_text())["$schema"] == "http://json-schema.org/draft-04/schema#"
        validation.validator(path.stem)


def test_validation_reasons_never_echo_values():
    errors = validation.errors("item_create", {"userId": "x" * 500, "name": "y" * 5000})
    assert all(len(e["reason"]) < 100 for e in errors)


def test_logs_are_json_with_request_fields_and_no_api_key(api, capsys):
    api.create({"userId": "u1", "name": "n"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["message"] == "request"][-1]
    assert access["level"] == "INFO" and access["status"] == 201 and access["partner"] == api.partner
    assert access["route"] == "POST /items" and access["request_id"] and access["aws_request_id"]
    assert access["function"] == "items-test-fn" and isinstance(access["latency_ms"], float)
    assert access["timestamp"].endswith("Z")
    assert "secret-api-key-value-never-logged" not in json.dumps(lines)


def test_log_fields_do_not_leak_between_requests(api, capsys):
    from apikit import logs

    api.get("x")
    logging.getLogger("apikit").info("outside")
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "partner" not in line and logs._fields.get() == {}


def test_cors_headers_only_for_allowed_origins(api, monkeypatch):
    ok = api.get("x", headers={"Origin": "https://app.example.com"})
    assert ok["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert ok["headers"]["Vary"] == "Origin" and "ETag" in ok["headers"]["Access-Control-Expose-Headers"]
    assert (
        "Access-Control-Allow-Origin"
        not in api.get("x", headers={"Origin": "https://evil.example"})["headers"]
    )
    assert "Access-Control-Allow-Origin" not in api.get("x")["headers"]
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "")
    assert (
        "Access-Control-Allow-Origin"
        not in api.get("x", headers={"Origin": "https://app.example.com"})["headers"]
    )


def test_base64_body_too_large_is_413_before_decoding(aws):
    from tests.support.inprocess import load_handler

    event = api_event("POST", "/items", raw_body="A" * (200 * 1024), base64_body=False)
    event["isBase64Encoded"] = True
    resp = load_handler("create_item")(event, FakeContext())
    assert resp["statusCode"] == 413


def test_missing_request_context_is_403(aws):
    from tests.support.inprocess import load_handler

    resp = load_handler("get_item")({"httpMethod": "GET", "pathParameters": {"id": "x"}}, FakeContext())
    assert resp["statusCode"] == 403 and body_of(resp) == {"message": "Forbidden"}


HANDLERS = [
    "create_item",
    "get_item",
    "update_item",
    "delete_item",
    "list_items",
    "batch_write",
    "batch_get",
    "usage",
]
VALIDATING = {"create_item", "update_item", "batch_write"}


def _imported(name: str) -> set[str]:
    """Top-level modules loaded by importing functions/<name>/handler.py in a fresh interpreter."""
    code = (
        "import importlib.util, sys, os; os.environ['LAMBDA_TASK_ROOT'] = '/var/task';"
        f"spec = importlib.util.spec_from_file_location('h', 'functions/{name}/handler.py');"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m);"
        "print(','.join(sorted({n.split('.')[0] for n in sys.modules})))"
    )
    env = {"PYTHONPATH": f"{ROOT / 'shared'}", "AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return set(out.strip().split(","))


@pytest.mark.parametrize("name", HANDLERS)
def test_handlers_import_only_what_they_use(name):
    """Cold start: a body validator only where bodies are validated, and jsonschema (the costly one)
    nowhere at import; never boto3 or Powertools."""
    modules = _imported(name)
    assert "boto3" not in modules and "aws_lambda_powertools" not in modules
    assert ("fastjsonschema" in modules) == (name in VALIDATING)
    assert "jsonschema" not in modules
    assert "aws_xray_sdk" in modules


@pytest.mark.parametrize("name", HANDLERS)
def test_manifests_list_the_actions_the_code_calls(name):
    manifest = json.loads((ROOT / "functions" / name / "function.json").read_text())
    actions = {a for p in manifest["permissions"] for a in p["actions"]}
    expected = {
        "create_item": {"dynamodb:PutItem", "dynamodb:GetItem"},
        "get_item": {"dynamodb:GetItem"},
        "update_item": {"dynamodb:UpdateItem", "dynamodb:GetItem"},
        "delete_item": {"dynamodb:DeleteItem"},
        "list_items": {"dynamodb:Query", "secretsmanager:GetSecretValue"},
        # GetItem: an old image a DynamoDB implementation omits; UpdateItem: the /batch idempotency record
        "batch_write": {
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
        "batch_get": {"dynamodb:BatchGetItem"},
        "usage": {"apigateway:GET"},
    }[name]
    assert actions == expected
    assert manifest["handler"] == "handler.handler" and manifest["route"]["method"]


def test_the_authorizer_imports_no_tracing_and_no_validation():
    """It runs on every authorizer cache miss: its init stays near a bare client's (benchmarks)."""
    modules = _imported("authorizer")
    assert not modules & {"boto3", "aws_lambda_powertools", "aws_xray_sdk", "jsonschema", "fastjsonschema"}
    assert "botocore" in modules
    manifest = json.loads((ROOT / "functions" / "authorizer" / "function.json").read_text())
    assert {a for p in manifest["permissions"] for a in p["actions"]} == {"dynamodb:GetItem"}


def test_clients_are_created_once_with_standard_retries(aws):
    from apikit import clients

    first = clients.client("dynamodb")
    assert clients.client("dynamodb") is first
    assert first.meta.config.retries["mode"] == "standard"
    assert first.meta.config.retries["total_max_attempts"] >= 3
    assert first.meta.config.connect_timeout == 1 and first.meta.config.read_timeout == 3
    assert first.meta.region_name == "eu-west-1"


def test_tracing_is_harmless_without_segment_or_daemon(api, caplog):
    from apikit import tracing  # noqa: F401  (configures the SDK's global recorder on import)
    from aws_xray_sdk.core import xray_recorder

    assert xray_recorder.context.context_missing == "IGNORE_ERROR"
    with caplog.at_level(logging.WARNING):
        assert api.get("x")["statusCode"] == 404
    assert not [r for r in caplog.records if r.name.startswith("aws_xray_sdk")]
