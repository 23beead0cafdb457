"""In-process fixtures for the layer and function tests: a Lambda-like environment, moto in process,
the table from table.json, and the handlers called as API Gateway calls them.

Registered for the whole suite by tests/conftest.py; tests/layer and tests/functions switch the
Lambda environment on for every test in them (their conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from embedded_stack.moto_server.patches import serialize_dynamodb_writes
from scripts import table_spec
from tests.support import strict_dynamodb
from tests.support.events import PARTNER_A, PARTNER_B, FakeContext, api_event

ROOT = Path(__file__).resolve().parents[2]
TABLE = "items-test"
CURSOR_SECRET = "items-test-cursor-key"


def create_table(client: Any, name: str = TABLE) -> None:
    """The table exactly as Terraform builds it, from the shared definition."""
    table_spec.create_table(client, name)


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment as Lambda and Terraform set it (fake credentials, never real ones)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "TABLE_NAME": TABLE,
        "CURSOR_SECRET_ID": CURSOR_SECRET,
        "CURSOR_KEY_CACHE_SECONDS": "300",
        "STAGE": "test",
        "LOG_LEVEL": "INFO",
        "CORS_ALLOWED_ORIGINS": "https://app.example.com",
        "POWERTOOLS_SERVICE_NAME": "items",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "AWS_LAMBDA_FUNCTION_NAME": "items-test-fn",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _reset_caches() -> None:
    from apikit import clients, cursor

    clients.client.cache_clear()
    clients._session.cache_clear()
    cursor.reset_cache()


@pytest.fixture
def aws(lambda_env: None) -> Iterator[Any]:
    """moto in-process with the table and the cursor secret; yields a DynamoDB client.

    The layer's DynamoDB client refuses what DynamoDB refuses (tests/support/strict_dynamodb.py),
    and moto's writes are atomic per item as DynamoDB's are (its conditional writes race otherwise).
    """
    _reset_caches()
    serialize_dynamodb_writes()
    with mock_aws():
        import boto3
        from apikit import clients

        strict_dynamodb.install(clients.client("dynamodb"))

        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_table(ddb)
        boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
            Name=CURSOR_SECRET, SecretString="unit-test-cursor-secret-0123456789"
        )
        yield ddb
    _reset_caches()


def load_handler(name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """functions/<name>/handler.py under a unique module name (every handler is called handler.py)."""
    module_name = f"fn_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "handler.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name].handler


def _timeout_ms(fn: str) -> int:
    return int(json.loads((ROOT / "functions" / fn / "function.json").read_text())["timeout"] * 1000)


class Api:
    """Calls the handlers like API Gateway would, one method per route."""

    def __init__(self, partner: str) -> None:
        self.partner = partner

    def call(self, fn: str, method: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        """Invoke ``fn`` with the whole of its manifest's timeout left, as Lambda starts it."""
        kwargs.setdefault("partner", self.partner)
        remaining = kwargs.pop("remaining_ms", None) or _timeout_ms(fn)
        return load_handler(fn)(api_event(method, resource, **kwargs), FakeContext(remaining))

    def create(self, body: Any, **kw: Any) -> dict[str, Any]:
        return self.call("create_item", "POST", "/items", body=body, **kw)

    def get(self, item_id: str, **kw: Any) -> dict[str, Any]:
        return self.call("get_item", "GET", "/items/{id}", path_params={"id": item_id}, **kw)

    def patch(self, item_id: str, body: Any, **kw: Any) -> dict[str, Any]:
        return self.call("update_item", "PATCH", "/items/{id}", path_params={"id": item_id}, body=body, **kw)

    def delete(self, item_id: str, **kw: Any) -> dict[str, Any]:
        return self.call("delete_item", "DELETE", "/items/{id}", path_params={"id": item_id}, **kw)

    def list(self, query: dict[str, str], **kw: Any) -> dict[str, Any]:
        return self.call("list_items", "GET", "/items", query=query, **kw)

    def batch_write(self, body: Any, **kw: Any) -> dict[str, Any]:
        return self.call("batch_write", "POST", "/batch", body=body, **kw)

    def batch_get(self, ids: str, **kw: Any) -> dict[str, Any]:
        return self.call("batch_get", "GET", "/batch", query={"ids": ids}, **kw)


@pytest.fixture
def api(aws: Any) -> Api:
    return Api(PARTNER_A)


@pytest.fixture
def other(aws: Any) -> Api:
    return Api(PARTNER_B)
