"""CORS as a browser sees it: preflight (OPTIONS, no key) on every routed resource, and the
Access-Control-Allow-Origin of function responses and gateway errors, for the target stage's origins
(terraform/stages/<stage>.json) and the routes in functions/*/function.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from tests.e2e.client import TIMEOUT_S, Api
from tests.e2e.targets import ROOT, StackInfo

pytestmark = pytest.mark.e2e

OTHER_ORIGIN = "https://not-allowed.example"
REQUIRED_HEADERS = {"content-type", "x-api-key", "idempotency-key", "if-match"}


def _routes() -> dict[str, set[str]]:
    """Methods by path, from the manifests (the same source Terraform reads)."""
    routes: dict[str, set[str]] = {}
    for manifest in sorted((ROOT / "functions").glob("*/function.json")):
        route = json.loads(manifest.read_text()).get("route")
        if route:
            routes.setdefault(route["path"], set()).add(route["method"].upper())
    return routes


@pytest.fixture(scope="module")
def origins(stack: StackInfo) -> list[str]:
    stage_file = Path(ROOT / "terraform" / "stages" / f"{stack.stage}.json")
    if not stage_file.exists():
        pytest.skip(f"no stage file for {stack.stage!r}: cannot tell which origins it allows")
    allowed = json.loads(stage_file.read_text())["api"]["cors_origins"]
    if not allowed:
        pytest.skip(f"stage {stack.stage} allows no CORS origins, so it has no preflight")
    return list(allowed)


def _expected(origins: list[str], origin: str) -> str:
    return "*" if "*" in origins else origin


def _preflight(stack: StackInfo, path: str, origin: str, method: str = "GET") -> requests.Response:
    return requests.options(
        f"{stack.api_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,x-api-key",
        },
        timeout=TIMEOUT_S,
    )


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "cors-probe", path)


def test_preflight_of_items_answers_every_allowed_origin(stack, origins):
    for origin in [o for o in origins if o != "*"] or ["https://any.example"]:
        response = _preflight(stack, "/items", origin, "POST")
        assert response.status_code == 200, response.text
        assert response.headers.get("Access-Control-Allow-Origin") == _expected(origins, origin)
        methods = set(response.headers["Access-Control-Allow-Methods"].split(","))
        assert methods == _routes()["/items"] | {"OPTIONS"}
        allowed_headers = {
            h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
        }
        assert allowed_headers >= REQUIRED_HEADERS
        assert int(response.headers["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize("path", sorted(_routes()))
def test_every_routed_resource_has_a_preflight_listing_its_methods(stack, origins, path):
    response = _preflight(stack, _concrete(path), origins[0])
    assert response.status_code == 200, (path, response.text)
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) == _routes()[path] | {"OPTIONS"}
    assert response.headers.get("Access-Control-Allow-Origin") == _expected(origins, origins[0])


def test_preflight_from_another_origin_allows_nothing(stack, origins):
    if "*" in origins:
        pytest.skip("the stage allows any origin")
    response = _preflight(stack, "/items", OTHER_ORIGIN, "POST")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_function_responses_carry_the_allowed_origin(api_a, origins):
    for origin in origins[-1:]:
        response = api_a.request("GET", "/items/cors-probe-absent", headers={"Origin": origin})
        assert response.status_code == 404, response.text
        assert response.headers.get("Access-Control-Allow-Origin") == _expected(origins, origin)
    listed = api_a.request("GET", "/items", params={"userId": "cors-probe"}, headers={"Origin": origins[0]})
    assert listed.status_code == 200, listed.text
    assert listed.headers.get("Access-Control-Allow-Origin") == _expected(origins, origins[0])


def test_function_responses_to_another_origin_carry_none(api_a, origins):
    if "*" in origins:
        pytest.skip("the stage allows any origin")
    response = api_a.request("GET", "/items/cors-probe-absent", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 404
    assert "Access-Control-Allow-Origin" not in response.headers


def test_gateway_errors_carry_the_first_origin(stack, origins):
    anonymous = Api(stack.api_url, None)
    response = anonymous.request("GET", "/items/cors-probe", headers={"Origin": origins[0]})
    assert response.status_code == 401
    assert response.headers.get("Access-Control-Allow-Origin") == origins[0]
