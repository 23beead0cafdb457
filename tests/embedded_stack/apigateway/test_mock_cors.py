"""Over HTTP: MOCK integrations served from a moto control plane: the CORS preflight modules/api
deploys, and the edges (selection patterns, status overrides, constructs we refuse with a logged 500)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from embedded_stack.apigateway import Gateway
from tests.embedded_stack.apigateway.support import STAGE, FakeRunner, lambda_uri
from tests.embedded_stack.apigateway.test_vtl import ECHO

ALLOW_HEADERS = "Content-Type,X-Api-Key,Idempotency-Key,If-Match,X-Amz-Date,Authorization"
STATIC = {
    "method.response.header.Access-Control-Allow-Methods": "'GET,POST,OPTIONS'",
    "method.response.header.Access-Control-Allow-Headers": f"'{ALLOW_HEADERS}'",
    "method.response.header.Access-Control-Max-Age": "'600'",
    "method.response.header.Vary": "'Origin'",
}


def _mock(
    client: Any,
    api_id: str,
    resource_id: str,
    *,
    request_templates: dict[str, str] | None,
    responses: list[dict[str, Any]],
) -> None:
    """An open OPTIONS method with a MOCK integration, as modules/api declares one."""
    client.put_method(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        authorizationType="NONE",
        apiKeyRequired=False,
    )
    client.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod="OPTIONS",
        type="MOCK",
        passthroughBehavior="WHEN_NO_MATCH",
        **({"requestTemplates": request_templates} if request_templates is not None else {}),
    )
    for response in responses:
        client.put_method_response(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod="OPTIONS",
            statusCode=response["statusCode"],
            responseParameters={k: False for k in response.get("responseParameters", {})},
        )
        client.put_integration_response(
            restApiId=api_id, resourceId=resource_id, httpMethod="OPTIONS", **response
        )


@pytest.fixture(scope="module")
def mock_api(apigw: Any) -> str:
    client = apigw
    api_id = client.create_rest_api(name="mockcors")["id"]
    root = next(r["id"] for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")

    def resource(part: str, parent: str = root) -> str:
        return client.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]

    items = resource("items")
    for verb in ("GET", "POST"):
        client.put_method(
            restApiId=api_id, resourceId=items, httpMethod=verb, authorizationType="NONE", apiKeyRequired=True
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=items,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri("list_items"),
        )
    status_200 = json.dumps({"statusCode": 200})
    _mock(
        client,
        api_id,
        items,
        request_templates={"application/json": status_200},
        responses=[
            {
                "statusCode": "200",
                "responseParameters": STATIC,
                "responseTemplates": {"application/json": ECHO},
            }
        ],
    )
    _mock(
        client,
        api_id,
        resource("teapot"),
        request_templates={"application/json": '#set($s = 418)\n{"statusCode": $s}'},
        responses=[
            {"statusCode": "200", "responseTemplates": {"application/json": "ok"}},
            {
                "statusCode": "418",
                "selectionPattern": "4\\d\\d",
                "responseParameters": {"method.response.header.X-Kind": "'teapot'"},
                "responseTemplates": {
                    "application/json": '{"short": true}',
                    "text/plain": "short and stout",
                },
            },
        ],
    )
    _mock(
        client,
        api_id,
        resource("override"),
        request_templates={"application/json": status_200},
        responses=[
            {
                "statusCode": "200",
                "responseParameters": {"method.response.header.X-Kind": "'static'"},
                "responseTemplates": {
                    "application/json": "#set($context.responseOverride.status = 202)\n"
                    "#set($context.responseOverride.header.X-Kind = \"$input.params('kind')\")\n"
                    '{"id": "$context.requestId"}'
                },
            }
        ],
    )
    _mock(
        client,
        api_id,
        resource("unsupported"),
        request_templates={"application/json": status_200},
        responses=[{"statusCode": "200", "responseTemplates": {"application/json": "$util.urlEncode('x')"}}],
    )
    _mock(
        client,
        api_id,
        resource("notemplate"),
        request_templates=None,
        responses=[{"statusCode": "200"}],
    )
    _mock(
        client,
        api_id,
        resource("nomatch"),
        request_templates={"application/json": json.dumps({"statusCode": 500})},
        responses=[{"statusCode": "200", "selectionPattern": "2\\d\\d"}],
    )
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    return api_id


@pytest.fixture
def mock_gateway(apigw: Any, mock_api: str, tmp_path: Any) -> Iterator[tuple[Gateway, FakeRunner]]:
    runner = FakeRunner()
    gw = Gateway(
        apigw,
        runner,
        "127.0.0.1",
        0,
        rest_api_id=mock_api,
        stage=STAGE,
        access_log_path=tmp_path / "access.log",
        refresh_interval_s=0,
    )
    gw.start()
    yield gw, runner
    gw.stop()


def _options(gateway: Gateway, path: str, **headers: str) -> requests.Response:
    return requests.options(f"{gateway.url}{path}", headers=headers, timeout=10)


@pytest.mark.parametrize("origin", ["https://a.example", "https://b.example"])
def test_preflight_from_an_allowed_origin_echoes_it_without_a_key_or_a_function(mock_gateway, origin):
    gateway, runner = mock_gateway
    response = _options(gateway, "/items", Origin=origin, **{"Access-Control-Request-Method": "POST"})
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == ALLOW_HEADERS
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.headers["Vary"] == "Origin"
    assert response.headers["x-amzn-RequestId"]
    assert response.content == b""
    assert runner.calls == []


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {}])
def test_preflight_from_another_or_no_origin_has_no_allow_origin(mock_gateway, headers):
    gateway, _ = mock_gateway
    response = _options(gateway, "/items", **headers)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"


def test_lowercase_origin_header_is_found(mock_gateway):
    gateway, _ = mock_gateway
    response = _options(gateway, "/items", origin="https://b.example")
    assert response.headers["Access-Control-Allow-Origin"] == "https://b.example"


def test_other_methods_of_the_resource_still_need_a_key(mock_gateway):
    gateway, runner = mock_gateway
    response = requests.get(f"{gateway.url}/items", headers={"Origin": "https://a.example"}, timeout=10)
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}
    assert runner.calls == []


def test_selection_pattern_picks_the_integration_response_and_accept_its_template(mock_gateway):
    gateway, _ = mock_gateway
    response = _options(gateway, "/teapot")
    assert response.status_code == 418
    assert response.headers["X-Kind"] == "teapot"
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"short": True}
    plain = _options(gateway, "/teapot", Accept="text/plain")
    assert (plain.headers["Content-Type"], plain.text) == ("text/plain", "short and stout")


def test_template_overrides_replace_status_and_static_headers(mock_gateway):
    gateway, _ = mock_gateway
    response = requests.options(f"{gateway.url}/override?kind=from-query", timeout=10)
    assert response.status_code == 202
    assert response.headers["X-Kind"] == "from-query"
    assert response.json() == {"id": response.headers["x-amzn-RequestId"]}


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/unsupported", "unsupported reference $util.urlEncode('x')"),
        ("/notemplate", "no request template"),
        ("/nomatch", "no integration response matches status 500"),
    ],
)
def test_what_we_do_not_emulate_is_a_logged_500(mock_gateway, caplog, path, logged):
    gateway, _ = mock_gateway
    with caplog.at_level(logging.ERROR, logger="embedded.gateway"):
        response = _options(gateway, path)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    messages = [record.getMessage() for record in caplog.records]
    assert any(logged in m and "OPTIONS" in m for m in messages), messages
