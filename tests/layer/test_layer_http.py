"""apikit.http parsing of what clients send: If-Match (read back from our ETag) and query parameters."""

from __future__ import annotations

import pytest
from apikit.errors import BadRequest
from apikit.http import Request, etag


def _request(headers: dict[str, str] | None = None, query: dict[str, str] | None = None) -> Request:
    return Request(event={}, context=None, partner="p1", headers=headers or {}, query=query or {})


@pytest.mark.parametrize(("header", "version"), [("5", 5), ('"5"', 5), (' "12" ', 12), ("*", None)])
def test_if_match_is_a_version_or_any(header, version):
    assert _request({"if-match": header}).if_match() == version


def test_no_if_match_expects_no_version():
    assert _request().if_match() is None


def test_if_match_reads_back_the_etag_we_write():
    assert _request({"if-match": etag(42)["ETag"]}).if_match() == 42


@pytest.mark.parametrize("header", ["abc", 'W/"1"', "-1", "1.5", '"1', "", "1" * 19])
def test_malformed_if_match_is_400_naming_the_header(header):
    with pytest.raises(BadRequest) as caught:
        _request({"if-match": header}).if_match()
    assert caught.value.body() == {
        "message": "invalid If-Match",
        "errors": [{"field": "If-Match", "reason": 'must be a version: 5 or "5"'}],
    }


def test_query_params_within_allowed_are_returned():
    query = {"userId": "u1", "limit": "5"}
    assert _request(query=query).query_params(allowed={"userId", "limit", "cursor"}) == query
    assert _request().query_params(allowed={"ids"}) == {}


def test_unknown_query_parameters_are_400_each_named_in_order():
    with pytest.raises(BadRequest) as caught:
        _request(query={"ids": "a", "zeta": "1", "alpha": "2"}).query_params(allowed={"ids"})
    assert caught.value.body() == {
        "message": "unknown query parameter",
        "errors": [
            {"field": "alpha", "reason": "unknown parameter"},
            {"field": "zeta", "reason": "unknown parameter"},
        ],
    }
