"""The OpenAPI document: generated, never edited; valid OpenAPI 3.1; complete for every route; its
examples hold against its own schemas. The live document (GET /openapi.json) is tested in tests/e2e."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from scripts import openapi

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "functions" / "openapi" / "openapi.json"
MANIFESTS = {p.parent.name: json.loads(p.read_text()) for p in sorted(ROOT.glob("functions/*/function.json"))}
ROUTED = {name: m for name, m in MANIFESTS.items() if "route" in m}
DOCUMENT = json.loads(COMMITTED.read_text())


def test_committed_document_is_what_the_generator_writes() -> None:
    assert COMMITTED.read_text() == openapi.render(), (
        "functions/openapi/openapi.json drifted: run python scripts/openapi.py and commit it"
    )


def test_check_mode_fails_on_drift(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text(openapi.render().replace('"3.1.0"', '"3.0.3"', 1))
    assert openapi.main(["--check", "--output", str(stale)]) == 1
    stale.write_text(openapi.render())
    assert openapi.main(["--check", "--output", str(stale)]) == 0


def test_document_is_valid_openapi_3_1() -> None:
    assert DOCUMENT["openapi"] == "3.1.0"
    validate(DOCUMENT)  # openapi-spec-validator picks the 3.1 validator from the version


def test_every_route_and_only_routes_are_operations() -> None:
    documented = {
        (method.upper(), path): op["operationId"]
        for path, ops in DOCUMENT["paths"].items()
        for method, op in ops.items()
    }
    routed = {(m["route"]["method"].upper(), m["route"]["path"]) for m in ROUTED.values()}
    assert set(documented) == routed
    assert ("GET", "/openapi.json") in documented


@pytest.mark.parametrize("name", sorted(ROUTED))
def test_every_status_a_partner_can_see_is_documented(name: str) -> None:
    route = ROUTED[name]["route"]
    op = DOCUMENT["paths"][route["path"]][route["method"].lower()]
    statuses = set(op["responses"])
    assert {"400", "401", "403", "429", "500", "502", "503", "504"} <= statuses, statuses
    if route.get("request_model"):
        assert {"413", "415"} <= statuses
        assert op["requestBody"]["required"] is True
    assert any(s.startswith("2") for s in statuses)
    assert op["security"] if "security" in op else DOCUMENT["security"] == [{"apiKey": []}]


def test_api_key_scheme_and_headers() -> None:
    components = DOCUMENT["components"]
    assert components["securitySchemes"]["apiKey"] == {
        **components["securitySchemes"]["apiKey"],
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert set(components["headers"]) == {"ETag", "Idempotent-Replayed", "Retry-After"}
    params = {p["name"] for p in components["parameters"].values()}
    assert {"Idempotency-Key", "If-Match"} <= params
    create = DOCUMENT["paths"]["/items"]["post"]
    assert set(create["responses"]["201"]["headers"]) == {"ETag", "Idempotent-Replayed"}
    assert "Retry-After" in components["responses"]["ServiceUnavailable"]["headers"]
    update = DOCUMENT["paths"]["/items/{id}"]["patch"]
    assert {"$ref": "#/components/parameters/IfMatch"} in update["parameters"]
    assert set(create["responses"]["201"]["links"]) == {"GetItem", "UpdateItem", "DeleteItem"}


def test_request_schemas_are_the_models_api_gateway_validates() -> None:
    """One source: the body schemas are the files Terraform turns into API Gateway models."""
    schemas = DOCUMENT["components"]["schemas"]
    for path in sorted((ROOT / "shared" / "apikit" / "schemas").glob("*.json")):
        source = json.loads(path.read_text())
        source.pop("$schema")
        assert schemas[source["title"]] == source, path.name


def _examples(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any], Any]]:
    """(JSON pointer, schema, example) for every media type object with both."""
    found = []
    if isinstance(node, dict):
        if "schema" in node and "example" in node and isinstance(node["schema"], dict):
            found.append((where, node["schema"], node["example"]))
        for key, value in node.items():
            found += _examples(value, f"{where}/{key.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _examples(value, f"{where}/{i}")
    return found


EXAMPLES = _examples(DOCUMENT)


def test_there_are_examples_for_every_success() -> None:
    for path, ops in DOCUMENT["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if status.startswith("2") and status != "204" and path != "/openapi.json":
                    assert "example" in answer["content"]["application/json"], (method, path, status)


@pytest.mark.parametrize(("where", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples_match_their_schemas(where: str, schema: dict[str, Any], example: Any) -> None:
    registry = Registry().with_resource("urn:doc", Resource(DOCUMENT, specification=DRAFT202012))
    # Validate through the document, so that the schema's own $refs resolve against it.
    jsonschema.Draft202012Validator({"$ref": f"urn:doc{where}/schema"}, registry=registry).validate(example)
