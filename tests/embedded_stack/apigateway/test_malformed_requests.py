"""The gateway over raw sockets: requests it cannot frame or route are answered as API Gateway answers
them (JSON 400 / 403 / 431), promptly, and the server keeps serving."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
import requests

from tests.embedded_stack.apigateway.support import STAGE

TIMEOUT_S = 5  # every answer here is immediate; a server reading to EOF would hit this instead


def _exchange(gateway, raw: bytes, *, shut_write: bool = False) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a fresh connection; the parsed response (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(raw)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _head(method: str, path: str, api, *lines: str) -> bytes:
    fields = [f"{method} /{STAGE}{path} HTTP/1.1", "Host: x", f"x-api-key: {api.keys['alpha']}", *lines]
    return ("\r\n".join(fields) + "\r\n\r\n").encode()


def _still_serving(gateway, api) -> None:
    response = requests.get(
        f"{gateway.url}/items/after", headers={"x-api-key": api.keys["alpha"]}, timeout=TIMEOUT_S
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "framing",
    [
        ["Content-Length: -1"],
        ["Content-Length: abc"],
        ["Content-Length: +5"],
        ["Content-Length: 5, 6"],
        ["Content-Length: 5", "Content-Length: 6"],
        ["Content-Length: 5", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: gzip"],
        ["Transfer-Encoding: gzip, chunked"],
    ],
)
def test_a_body_length_that_cannot_be_trusted_is_400(gateway, api, runner, framing):
    """Answered at once (the client keeps its connection open: nothing is read to EOF), then closed."""
    status, headers, body = _exchange(gateway, _head("PATCH", "/items/a", api, *framing) + b"hello")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"message": "Bad Request"}
    assert headers["connection"] == "close"
    assert runner.calls == []
    _still_serving(gateway, api)


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",  # not hexadecimal
        b"-1\r\nhello\r\n0\r\n\r\n",  # negative: must not mean "read to EOF"
        b"5\r\nhelloXX0\r\n\r\n",  # chunk data not followed by CRLF
        b"5\nhello\r\n0\r\n\r\n",  # bare LF
        b"9\r\nhello",  # the body ends inside a chunk
        b"5\r\nhello\r\n",  # the body ends before the last chunk
    ],
)
def test_bad_chunked_encoding_is_400_not_413(gateway, api, runner, chunks):
    raw = _head("PATCH", "/items/a", api, "Transfer-Encoding: chunked") + chunks
    status, _, body = _exchange(gateway, raw, shut_write=True)
    assert status == 400
    assert json.loads(body) == {"message": "Bad Request"}
    assert runner.calls == []
    _still_serving(gateway, api)


def test_chunk_extensions_and_trailers_are_read(gateway, api):
    raw = _head("PATCH", "/items/a", api, "Transfer-Encoding: chunked") + (
        b"5;name=value\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    status, _, body = _exchange(gateway, raw)
    assert status == 200
    assert json.loads(body)["body"] == "hello!"


def test_deeply_nested_json_is_an_invalid_body(gateway, api, runner):
    nested = b'{"userId":"u","name":"n","info":' + b'{"a":' * 20_000 + b"1" + b"}" * 20_001
    response = requests.post(
        f"{gateway.url}/items",
        headers={"x-api-key": api.keys["alpha"], "Content-Type": "application/json"},
        data=nested,
        timeout=TIMEOUT_S,
    )
    assert response.status_code == 400
    assert response.text.startswith('{"message":"Invalid request body"')
    assert runner.calls == []
    _still_serving(gateway, api)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "PUT", "BREW"])
@pytest.mark.parametrize("path", ["/items", "/nowhere"])
def test_a_method_no_route_defines_is_missing_authentication_token(gateway, api, runner, method, path):
    status, headers, body = _exchange(gateway, _head(method, path, api))
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert runner.calls == []
    _still_serving(gateway, api)


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET /local/items HTTP/9.9\r\nHost: x\r\n\r\n", 505),
        (b"GET /local/items HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    ],
)
def test_the_http_servers_own_errors_are_json(gateway, api, raw, status):
    got, headers, body = _exchange(gateway, raw)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert set(json.loads(body)) == {"message"}
    _still_serving(gateway, api)


def test_a_failure_inside_the_gateway_is_a_json_500_and_it_keeps_serving(gateway, api, monkeypatch):
    def broken(_request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(gateway, "dispatch", broken)
    response = requests.get(f"{gateway.url}/items/a", timeout=TIMEOUT_S)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}
    monkeypatch.undo()
    _still_serving(gateway, api)
