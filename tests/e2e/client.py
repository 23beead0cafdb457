"""A thin HTTP client for the partner API: one per partner, black-box (requests only)."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.e2e.targets import Partner

TIMEOUT_S = 35  # above API Gateway's 29 s integration limit, so a 504 is seen, not a client timeout


class Api:
    """Calls ``{api_url}{path}`` with this partner's ``x-api-key`` (or none for ``partner=None``)."""

    def __init__(self, api_url: str, partner: Partner | None, key_override: str | None = None) -> None:
        self.api_url = api_url
        self.partner = partner
        self.session = requests.Session()
        key = key_override if key_override is not None else (partner.api_key if partner else None)
        if key is not None:
            self.session.headers["x-api-key"] = key

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Any request; ``path`` is relative to the stage URL (starts with /)."""
        kwargs.setdefault("timeout", TIMEOUT_S)
        return self.session.request(method, f"{self.api_url}{path}", **kwargs)

    def create(self, body: dict[str, Any], **headers: str) -> requests.Response:
        return self.request("POST", "/items", json=body, headers=headers)

    def get(self, item_id: str) -> requests.Response:
        return self.request("GET", f"/items/{item_id}")

    def patch(self, item_id: str, body: Any, if_match: str | None = None) -> requests.Response:
        headers = {"If-Match": if_match} if if_match is not None else {}
        return self.request("PATCH", f"/items/{item_id}", json=body, headers=headers)

    def delete(self, item_id: str) -> requests.Response:
        return self.request("DELETE", f"/items/{item_id}")

    def list(self, user_id: str, **params: Any) -> requests.Response:
        return self.request("GET", "/items", params={"userId": user_id, **params})

    def batch_write(
        self, items: list[dict[str, Any]], atomic: bool | None = None, **headers: str
    ) -> requests.Response:
        body: dict[str, Any] = {"items": items}
        if atomic is not None:
            body["atomic"] = atomic
        return self.request("POST", "/batch", json=body, headers=headers)

    def batch_get(self, ids: list[str]) -> requests.Response:
        return self.request("GET", "/batch", params={"ids": ",".join(ids)})

    def list_all(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        """Follow nextCursor to the end; fails loudly on any non-200 page."""
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = self.list(user_id, **params)
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["items"]) <= limit
            out.extend(body["items"])
            cursor = body["nextCursor"]
            if not cursor:
                return out
        raise AssertionError("pagination did not end")


def message(response: requests.Response) -> str:
    """The ``message`` of a JSON error body (every error of the API has one)."""
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError) as exc:
        raise AssertionError(f"not a JSON error body: {response.status_code} {response.text!r}") from exc


def new_item(user_id: str, **fields: Any) -> dict[str, Any]:
    """A valid create body for ``user_id``."""
    return {
        "userId": user_id,
        "name": fields.pop("name", "widget"),
        "info": fields.pop("info", {"n": 1}),
        **fields,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
