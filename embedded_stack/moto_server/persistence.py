"""moto's whole in-memory state as bytes, and back: what lets a restart skip `terraform apply`.

moto keeps every resource in plain Python objects, one backend per service, account and region
(``BackendDict`` -> ``AccountSpecificBackend`` -> backend). ``dump_state`` pickles those backends in
one pass, so objects shared between services keep their identity; ``load_state`` puts them back
before the server answers its first request. Ids, ARNs, API key values, KMS key material, items,
stream records, objects and messages are the very ones Terraform recorded, which replaying requests
could not give (moto draws ids at random).

A few moto objects do not pickle as they are; each gets an explicit reduction here (locks and
conditions are made anew, KMS private keys travel as DER, weak-value dicts as their live entries,
closure-free lambdas such as ``defaultdict`` factories as their code). Anything else that does not
pickle raises ``StateNotSaved`` naming it: the caller starts fresh next time and says why.
moto is pinned; its version and these sources are part of the snapshot fingerprint.
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import threading
import types
import weakref
from collections import defaultdict
from typing import Any

from moto.backends import get_backend
from moto.core.base_backend import BackendDict

_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())
# moto_api holds the server's own bookkeeping (recorder, state manager), not AWS resources.
_SKIPPED_SERVICES = frozenset({"moto_api"})


class StateNotSaved(RuntimeError):
    """moto's state holds something this module cannot carry across processes."""


def _private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _weak_values(entries: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(entries)


def _function(module: str, code: bytes, name: str, qualname: str) -> types.FunctionType:
    fn = types.FunctionType(marshal.loads(code), vars(importlib.import_module(module)), name)  # noqa: S302 - our own snapshot
    fn.__qualname__ = qualname
    return fn


def _defaultdict_subclass(cls: type[defaultdict[Any, Any]], factory: Any) -> defaultdict[Any, Any]:
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


def _reduce_function(fn: types.FunctionType) -> tuple[Any, ...]:
    if fn.__closure__ or fn.__defaults__ or fn.__kwdefaults__:
        raise StateNotSaved(f"moto state holds a function with captured values: {fn.__qualname__}")
    return (_function, (fn.__module__, marshal.dumps(fn.__code__), fn.__name__, fn.__qualname__))


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:  # noqa: PLR0911 - one case per kind of object
        if isinstance(obj, _LOCK):
            return (threading.Lock, ())
        if isinstance(obj, _RLOCK):
            return (threading.RLock, ())
        if isinstance(obj, threading.Condition):
            return (threading.Condition, ())
        if isinstance(obj, BackendDict):
            # A model pointing at a service's registry must point at the live one after loading.
            return (get_backend, (obj.service_name,))
        if isinstance(obj, defaultdict) and type(obj) is not defaultdict:
            # defaultdict pickles as cls(factory): wrong for subclasses with an __init__ of their own.
            args = (type(obj), obj.default_factory)
            return (_defaultdict_subclass, args, vars(obj) or None, None, iter(obj.items()))
        if isinstance(obj, weakref.WeakValueDictionary):
            return (_weak_values, (dict(obj),))
        if isinstance(obj, types.FunctionType) and "<locals>" in obj.__qualname__:
            return _reduce_function(obj)
        if type(obj).__module__.startswith("cryptography.") and hasattr(obj, "private_bytes"):
            from cryptography.hazmat.primitives import serialization

            der = obj.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return (_private_key, (der,))
        return NotImplemented


def _live_backends() -> dict[str, dict[str, dict[str, Any]]]:
    """service -> account -> region -> backend, for every service that holds anything."""
    state: dict[str, dict[str, dict[str, Any]]] = {}
    for registry in list(BackendDict._instances):  # moto's list of registries in use
        if registry.service_name in _SKIPPED_SERVICES:
            continue
        accounts = {account: dict(regions) for account, regions in registry.items() if len(regions)}
        if accounts:
            state[registry.service_name] = accounts
    return state


def dump_state() -> bytes:
    """Every backend moto holds, pickled; call while no request is being served."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(_live_backends())
    except StateNotSaved:
        raise
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise StateNotSaved(f"moto state does not pickle: {exc}") from exc
    return buffer.getvalue()


def load_state(blob: bytes) -> list[str]:
    """Install backends saved by ``dump_state`` (before the server serves); returns the services."""
    state = pickle.loads(blob)  # noqa: S301 - our own snapshot, checked against its digest first
    if not isinstance(state, dict):
        raise ValueError("not a moto state snapshot")
    for registry in list(BackendDict._instances):  # exactly the saved state, nothing left over
        dict.clear(registry)  # (BackendDict.reset would first rebuild every backend, IAM's policies too)
    for service, accounts in state.items():
        registry = get_backend(service)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                registry[account][region] = backend
    return sorted(state)


__all__ = ["StateNotSaved", "dump_state", "load_state"]
