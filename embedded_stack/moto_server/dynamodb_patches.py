"""moto's DynamoDB made as safe under concurrency as DynamoDB is (the embedded stack's moto server, and
the unit tests whose threads race on an in-process moto).

moto's backend is not written for threads: it checks a condition and then writes without a lock, its
reads insert into and iterate the table's item map while writes change it, and a cancelled
TransactWriteItems deep-copies whole tables and swaps the copy in. Each patch checks the moto
internals it replaces and raises ``MotoPatchError`` when they changed (moto is pinned).
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections import defaultdict
from typing import Any

from embedded_stack.moto_server.internals import require, source_has

# Writes, and DescribeTable (it counts the items by iterating the item map).
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_DYNAMODB_ITERATING_READS = ("describe_table",)
_dynamodb_write_lock = threading.RLock()


def serialize_dynamodb_writes() -> None:
    """Make moto's DynamoDB safe under concurrency, as DynamoDB is (idempotent, once per process).

    moto checks a ConditionExpression and then writes without a lock, so two threads racing a
    conditional write can both succeed (a lost update AWS never allows); its TransactWriteItems even
    restores a table snapshot on cancellation, undoing concurrent writes (and swapping the stream's
    shard for a copy: see ``_patch_transactions``). One lock around every write operation of
    the backend (BatchWriteItem goes through ``put_item``/``delete_item``). Query and Scan iterate a
    copy of the item map taken under that lock, and a GetItem of an absent key no longer inserts into
    the map: a write or a transaction's snapshot changing it mid-iteration failed with "dictionary
    changed size during iteration" (500s the soak found).
    """
    from moto.dynamodb.models import DynamoDBBackend

    _patch_get_item_without_inserting()
    _patch_item_iteration()
    _patch_transactions()
    for name in (*_DYNAMODB_WRITES, *_DYNAMODB_ITERATING_READS):
        original = getattr(DynamoDBBackend, name)
        require(callable(original), f"DynamoDBBackend.{name} is gone")
        if getattr(original, "_serialized", False):
            continue

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _dynamodb_write_lock:
                return __original(self, *args, **kwargs)

        locked.__wrapped__ = original  # type: ignore[attr-defined]
        locked._serialized = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


def _patch_get_item_without_inserting() -> None:
    """moto's Table.items is a defaultdict: ``items[hash][range]`` of an absent hash adds an entry."""
    from moto.dynamodb.models.table import Table

    original = Table.get_item
    if getattr(original, "_no_insert", False):
        return
    require(
        list(inspect.signature(original).parameters)
        == ["self", "hash_key", "range_key", "projection_expression"]
        and source_has(original, "self.items[hash_key][range_key]"),
        "Table.get_item no longer looks items up as items[hash_key][range_key]",
    )

    def get_item(self: Any, hash_key: Any, range_key: Any = None, projection_expression: Any = None) -> Any:
        if range_key and hash_key not in self.items:
            return None  # what moto answers too, after inserting an empty entry
        return original(self, hash_key, range_key, projection_expression)

    get_item.__wrapped__ = original  # type: ignore[attr-defined]
    get_item._no_insert = True  # type: ignore[attr-defined]
    Table.get_item = get_item  # type: ignore[method-assign]


def _item_map(table: Any) -> Any:
    """A copy of a table's item map (the items themselves shared), taken under the write lock."""
    with _dynamodb_write_lock:
        return defaultdict(dict, {h: dict(v) if isinstance(v, dict) else v for h, v in table.items.items()})


def _patch_item_iteration() -> None:
    """Query and Scan read a copy of the item map, not the map writes change under them.

    Both go through ``Table.all_items`` or ``Table.has_idx_items``, which walk ``self.items``; each
    now walks a shallow copy taken under the write lock (a millisecond for thousands of items), so a
    query does not hold every write back. ``all_items`` also sorts on precomputed key values: moto
    compared DynamoType objects, recomputing both values at each comparison (0.7 s for a GSI query
    over 4,000 items, which kept functions waiting long enough to time out).
    """
    from moto.dynamodb.models.table import Table

    original = Table.all_items
    if not getattr(original, "_on_a_copy", False):
        require(
            source_has(original, "self.items.values()", "sorted(", "(x.hash_key, x.range_key)"),
            "Table.all_items no longer sorts the items of self.items by (hash key, range key)",
        )

        def all_items(self: Any) -> list[Any]:
            items: list[Any] = []
            for hash_set in _item_map(self).values():
                if self.range_key_attr:
                    items.extend(hash_set.values())
                else:
                    items.append(hash_set)
            return sorted(items, key=_sort_key)

        all_items.__wrapped__ = original  # type: ignore[attr-defined]
        all_items._on_a_copy = True  # type: ignore[attr-defined]
        Table.all_items = all_items  # type: ignore[method-assign]

    original = Table.has_idx_items
    if not getattr(original, "_on_a_copy", False):
        require(source_has(original, "self.items.values()"), "Table.has_idx_items no longer walks self.items")

        def has_idx_items(self: Any, index_name: str, __original: Any = original) -> Any:
            view = copy.copy(self)
            view.items = _item_map(self)
            return __original(view, index_name)

        has_idx_items.__wrapped__ = original  # type: ignore[attr-defined]
        has_idx_items._on_a_copy = True  # type: ignore[attr-defined]
        Table.has_idx_items = has_idx_items  # type: ignore[method-assign]


def _sort_key(item: Any) -> tuple[Any, ...]:
    """moto's order, (hash key, range key), on values computed once per item."""
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return (item.hash_key.cast_value,)


_snapshot = threading.local()  # set while a TransactWriteItems of this thread runs


def pending_records(shard: Any) -> list[Any] | None:
    """Where a TransactWriteItems running in this thread keeps a shard's new stream records until it
    commits (None outside one): a poller must never read the record of a write that is undone."""
    records = getattr(_snapshot, "records", None)
    if records is None:
        return None
    return records.setdefault(id(shard), (shard, []))[1]


def _patch_transactions() -> None:
    """TransactWriteItems as DynamoDB runs it, its stream records appearing only when it commits.

    moto snapshots every table a transaction names with ``copy.deepcopy`` (a second under the write
    lock for a table of 5,000 items) and, when it is cancelled, swaps the copy in, stream shard and all:
    every poller's shard iterator then read a shard that never grew again. ``transactions`` replaces it
    (every condition checked, then every write; nothing copied but what a refused write must undo), and
    here the transaction's stream records are held back (``pending_records``) until it commits: a
    write undone half way (and its undoing) never reaches a poller, as in DynamoDB, and no sequence
    number is ever used twice.
    """
    from moto.dynamodb.models import DynamoDBBackend

    from embedded_stack.moto_server.transactions import patch_transactions

    current = DynamoDBBackend.transact_write_items
    if getattr(current, "_holds_records", False) or getattr(current, "_serialized", False):
        return
    patch_transactions(DynamoDBBackend, require, source_has)
    two_phase = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _snapshot.records = {}
        try:
            two_phase(self, transact_items)
            for shard, records in _snapshot.records.values():  # committed: its records, all at once
                shard.items.extend(records)
        finally:
            _snapshot.records = None

    transact_write_items.__wrapped__ = two_phase  # type: ignore[attr-defined]
    transact_write_items._holds_records = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
