"""DynamoDB throttling for a window, injected into the moto server (the ``dynamodb_throttle`` fault).

moto never throttles. With the fault active, the item operations the functions use answer as a table
out of capacity does: the whole call fails with ``ProvisionedThroughputExceededException`` (400, which
botocore's standard retry mode retries), or a ``BatchWriteItem`` / ``BatchGetItem`` that goes through
leaves some of its requests in ``UnprocessedItems`` / ``UnprocessedKeys`` for the caller to retry.
Control-plane calls, ``Scan`` and the Streams API are never throttled (the soak reconciles with them).
"""

from __future__ import annotations

from typing import Any

from embedded_stack.moto_server import faults

ITEM_OPERATIONS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
)
_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API. (injected)"
)


def _throttled() -> Exception:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    return DynamodbException(ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException", _MESSAGE)


def _every(requests: list[Any], nth: int) -> tuple[list[Any], list[Any]]:
    """(kept, left unprocessed): every ``nth`` request is left out, the first one always kept."""
    kept = [r for i, r in enumerate(requests) if i == 0 or (i + 1) % nth]
    left = [r for i, r in enumerate(requests) if i != 0 and not (i + 1) % nth]
    return kept, left


def _batch_write(handler: Any, original: Any, nth: int) -> Any:
    unprocessed: dict[str, list[Any]] = {}
    for table, requests in list(handler.body["RequestItems"].items()):
        kept, left = _every(requests, nth)
        handler.body["RequestItems"][table] = kept
        if left:
            unprocessed[table] = left
    result = original(handler)
    result.result["UnprocessedItems"] = unprocessed
    faults.record("dynamodb_unprocessed", sum(len(v) for v in unprocessed.values()))
    return result


def _batch_get(handler: Any, original: Any, nth: int) -> Any:
    unprocessed: dict[str, dict[str, Any]] = {}
    for table, request in list(handler.body["RequestItems"].items()):
        kept, left = _every(request["Keys"], nth)
        request["Keys"] = kept
        if left:
            unprocessed[table] = {**request, "Keys": left}
    result = original(handler)
    result.result["UnprocessedKeys"] = unprocessed
    faults.record("dynamodb_unprocessed", sum(len(v["Keys"]) for v in unprocessed.values()))
    return result


def _wrap(name: str, original: Any) -> Any:
    def action(self: Any) -> Any:
        verdict = faults.dynamodb_verdict(name)
        if verdict is not None and verdict[0] == "throttle":
            raise _throttled()
        if verdict is not None and name == "batch_write_item":
            return _batch_write(self, original, verdict[1])
        if verdict is not None and name == "batch_get_item":
            return _batch_get(self, original, verdict[1])
        return original(self)

    action._fault_original = original  # type: ignore[attr-defined]
    action.__name__ = name
    return action


def install() -> None:
    """Wrap moto's DynamoDB item operations once; fail loudly if moto's handler changed."""
    from moto.dynamodb.responses import DynamoHandler

    for name in ITEM_OPERATIONS:
        current = getattr(DynamoHandler, name, None)
        if not callable(current):
            raise RuntimeError(
                f"moto's DynamoHandler.{name} is gone: embedded_stack/moto_server/dynamodb_faults.py "
                "must be updated for this moto version"
            )
        if not hasattr(current, "_fault_original"):
            setattr(DynamoHandler, name, _wrap(name, current))


def uninstall() -> None:
    """Undo ``install()``."""
    from moto.dynamodb.responses import DynamoHandler

    for name in ITEM_OPERATIONS:
        current = getattr(DynamoHandler, name)
        if hasattr(current, "_fault_original"):
            setattr(DynamoHandler, name, current._fault_original)
