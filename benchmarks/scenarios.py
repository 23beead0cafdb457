"""The same work for our handler and for the seed-style baseline: one request per function.

Each scenario writes what its request needs into the backend (an item to read, patch or delete) and
returns the event both handlers receive, plus the status our handler must answer. Keys follow
docs/data-model.md for our table; the seed-style table is keyed by `id`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.backend import Backend
from benchmarks.events import item_path, new_item, rest_event


@dataclass(frozen=True)
class Request:
    """An event for both handlers and the status ours must return."""

    event: dict[str, Any]
    expected_status: int


def _existing(backend: Backend, item_id: str) -> None:
    backend.put_our_item(item_id)
    backend.put_seed_item(item_id)


def create_item(backend: Backend, n: int) -> Request:
    """POST /items with a valid body."""
    return Request(rest_event("POST", "/items", "/items", body=new_item(index=n)), 201)


def get_item(backend: Backend, n: int) -> Request:
    """GET /items/{id} of an item that exists."""
    item_id = f"get-{n}"
    _existing(backend, item_id)
    resource, path, params = item_path(item_id)
    return Request(rest_event("GET", resource, path, path_parameters=params), 200)


def update_item(backend: Backend, n: int) -> Request:
    """PATCH /items/{id} of an item that exists."""
    item_id = f"patch-{n}"
    _existing(backend, item_id)
    resource, path, params = item_path(item_id)
    body = {"name": "renamed", "info": {"patched": n}}
    return Request(rest_event("PATCH", resource, path, path_parameters=params, body=body), 200)


def delete_item(backend: Backend, n: int) -> Request:
    """DELETE /items/{id} of an item that exists."""
    item_id = f"delete-{n}"
    _existing(backend, item_id)
    resource, path, params = item_path(item_id)
    return Request(rest_event("DELETE", resource, path, path_parameters=params), 204)


def list_items(backend: Backend, n: int) -> Request:
    """GET /items?userId= of a user with a few items."""
    user = f"list-user-{n}"
    for i in range(5):
        backend.put_our_item(f"list-{n}-{i}", user_id=user)
        backend.put_seed_item(f"list-{n}-{i}", user_id=user)
    query = {"userId": user, "limit": "3"}
    return Request(rest_event("GET", "/items", "/items", query=query), 200)


def batch_write(backend: Backend, n: int, size: int = 25) -> Request:
    """POST /batch with `size` new items."""
    body = {"items": [new_item(user_id=f"batch-user-{n}", index=i) for i in range(size)]}
    return Request(rest_event("POST", "/batch", "/batch", body=body), 201)


def batch_get(backend: Backend, n: int) -> Request:
    """GET /batch?ids= of ten items that exist."""
    ids = [f"bget-{n}-{i}" for i in range(10)]
    for item_id in ids:
        _existing(backend, item_id)
    return Request(rest_event("GET", "/batch", "/batch", query={"ids": ",".join(ids)}), 200)


SCENARIOS: dict[str, Callable[[Backend, int], Request]] = {
    "create_item": create_item,
    "get_item": get_item,
    "update_item": update_item,
    "delete_item": delete_item,
    "list_items": list_items,
    "batch_write": batch_write,
    "batch_get": batch_get,
}
