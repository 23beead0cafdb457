"""Unit tests of apigateway.routing: which method a stage-relative path reaches, with its parameters."""

from __future__ import annotations

from embedded_stack.apigateway.controlplane import Method
from embedded_stack.apigateway.routing import RouteTable


def _method(path: str, verb: str) -> Method:
    return Method(
        resource_id=path,
        resource_path=path,
        http_method=verb,
        api_key_required=True,
        integration_type="AWS_PROXY",
        target=None,
        timeout_ms=29000,
        validate_body=False,
        validate_parameters=False,
        request_models={},
        request_parameters={},
    )


def test_routing_prefers_literals_then_params_then_greedy():
    methods = {
        (p, v): _method(p, v)
        for p, v in [
            ("/", "GET"),
            ("/items", "GET"),
            ("/items/{id}", "GET"),
            ("/items/new", "GET"),
            ("/files/{proxy+}", "ANY"),
        ]
    }
    table = RouteTable(methods)
    assert table.match("/", "GET")[0].resource_path == "/"
    assert table.match("/items", "GET")[0].resource_path == "/items"
    assert table.match("/items/", "GET")[0].resource_path == "/items"
    found = table.match("/items/a%2Fb", "GET")
    assert found[0].resource_path == "/items/{id}" and found[1] == {"id": "a/b"}
    assert table.match("/items/new", "GET")[1] == {}
    assert table.match("/files/a/b/c.txt", "DELETE")[1] == {"proxy": "a/b/c.txt"}
    assert table.match("/items/x", "POST") is None
    assert table.match("/items/x/y", "GET") is None
    assert table.match("/other", "GET") is None
