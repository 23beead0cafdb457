"""GET /openapi.json: the committed document, byte for byte, to any scope; nothing else accepted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.events import FakeContext, api_event
from tests.support.inprocess import load_handler

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = (ROOT / "functions" / "openapi" / "openapi.json").read_text()


def _call(**kwargs: object) -> dict:
    return load_handler("openapi")(api_event("GET", "/openapi.json", **kwargs), FakeContext(5000))


def test_serves_the_committed_document_to_any_scope() -> None:
    for scope in ("read-write", "read-only"):
        answer = _call(scope=scope)
        assert answer["statusCode"] == 200
        assert answer["body"] == DOCUMENT
        assert answer["headers"]["Content-Type"] == "application/json"
        assert answer["headers"]["ETag"].startswith('"')
        assert json.loads(answer["body"])["openapi"] == "3.1.0"


def test_refuses_parameters_and_a_missing_authorizer_context() -> None:
    answer = _call(query={"format": "yaml"})
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["errors"] == [{"field": "format", "reason": "unknown parameter"}]
    assert _call(partner=None)["statusCode"] == 403
