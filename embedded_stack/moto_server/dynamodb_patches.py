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

from embedded_stack.moto_server.internals import _require, _source_has

# Writes, and DescribeTable (it counts the items by iterating the item map).
_DYNAMODB_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_DYNAMODB_ITERATING_READS = ("describe_table",)
_dynamodb_write_lock = threading.RLock()


def serialize_dynamodb_writes() -> None:
    """Make moto's DynamoDB safe under concurrency, as DynamoDB is (idempotent, once per process).

    moto checks a ConditionExpression and then writes without a lock, so two threads racing a
    conditional write can both succeed (a lost update AWS never allows); its TransactWriteItems even
    restores a table snapshot on cancellation, undoing concurrent writes (and swapping the stream's
    shard for a copy: see ``_patch_transaction_rollback``). One lock around every write operation of
    the backend (BatchWriteItem goes through ``put_item``/``delete_item``). Query and Scan iterate a
    copy of the item map taken under that lock, and a GetItem of an absent key no longer inserts into
    the map: a write or a transaction's snapshot changing it mid-iteration failed with "dictionary
    changed size during iteration" (500s the soak found).
    """
    from moto.dynamodb.models import DynamoDBBackend

    _patch_get_item_without_inserting()
    _patch_item_iteration()
    _patch_transaction_rollback()
    for name in (*_DYNAMODB_WRITES, *_DYNAMODB_ITERATING_READS):
        original = getattr(DynamoDBBackend, name)
        _require(callable(original), f"DynamoDBBackend.{name} is gone")
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
    _require(
        list(inspect.signature(original).parameters)
        == ["self", "hash_key", "range_key", "projection_expression"]
        and _source_has(original, "self.items[hash_key][range_key]"),
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
        _require(
            _source_has(original, "self.items.values()", "sorted(", "(x.hash_key, x.range_key)"),
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
        _require(
            _source_has(original, "self.items.values()"), "Table.has_idx_items no longer walks self.items"
        )

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


def _patch_transaction_rollback() -> None:
    """A transaction's snapshot costs what the transaction touches, and a rollback keeps the objects.

    moto snapshots every table a TransactWriteItems names with ``copy.deepcopy`` (every item and
    every stream record: a second under the write lock for a table of 5,000 items, so each
    idempotent create stalled every other write) and, when the transaction is cancelled, swaps the
    copy in: its stream shard with it, so every shard iterator handed out before (our pollers') read a
    shard that never grew again, while the records of the undone writes stayed in the old one. Now a
    table's snapshot copies its item map and shares the items, except those an ``Update`` of the
    transaction changes in place; a rollback puts the snapshot's items back into the same table object;
    and the transaction's stream records are held back (``pending_records``) until it commits, so an
    undone write never reaches a poller, as in DynamoDB, and no sequence number is ever used twice.
    """
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    current = DynamoDBBackend.transact_write_items
    original = getattr(current, "__wrapped__", current) if getattr(current, "_serialized", False) else current
    if getattr(original, "_keeps_tables", False):
        return
    _require(
        _source_has(original, "copy.deepcopy(", "self.tables[table_name] = original_table_state[table_name]")
        and not hasattr(Table, "__deepcopy__"),
        "DynamoDBBackend.transact_write_items no longer rolls back by restoring deep-copied tables",
    )

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        updates = getattr(_snapshot, "updates", None)
        if updates is None:  # not a transaction's snapshot: what copy.deepcopy does for any object
            clone = self.__class__.__new__(self.__class__)
            memo[id(self)] = clone
            for name, value in self.__dict__.items():
                setattr(clone, name, copy.deepcopy(value, memo))
            return clone
        clone = copy.copy(self)
        clone.items = defaultdict(
            dict, {h: dict(v) if isinstance(v, dict) else v for h, v in self.items.items()}
        )
        for hash_key, range_key in updates.get(self.name, ()):
            if range_key is None and hash_key in self.items:
                clone.items[hash_key] = copy.deepcopy(self.items[hash_key])
            elif range_key is not None and range_key in self.items.get(hash_key, {}):
                clone.items[hash_key][range_key] = copy.deepcopy(self.items[hash_key][range_key])
        return clone

    def updated_keys(backend: Any, transact_items: list[dict[str, Any]]) -> dict[str, list[Any]]:
        keys: dict[str, list[Any]] = {}
        for entry in transact_items:
            kind, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if kind != "Update" or table is None or table.hash_key_attr not in op.get("Key", {}):
                continue
            key = op["Key"]
            ranged = table.range_key_attr is not None and table.range_key_attr in key
            keys.setdefault(table.name, []).append(
                (
                    DynamoType(key[table.hash_key_attr]),
                    DynamoType(key[table.range_key_attr]) if ranged else None,
                )
            )
        return keys

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        before = dict(self.tables)
        _snapshot.updates = updated_keys(self, transact_items)
        _snapshot.records = {}
        try:
            original(self, transact_items)
        except Exception:
            for name, table in before.items():
                restored = self.tables.get(name)
                if restored is not None and restored is not table:
                    table.items = restored.items
                    self.tables[name] = table
            raise
        else:  # committed: its stream records appear, all at once
            for shard, records in _snapshot.records.values():
                shard.items.extend(records)
        finally:
            _snapshot.updates = _snapshot.records = None

    Table.__deepcopy__ = __deepcopy__  # type: ignore[attr-defined]
    transact_write_items.__wrapped__ = original  # type: ignore[attr-defined]
    transact_write_items._keeps_tables = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
