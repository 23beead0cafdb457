"""Fault injection into the embedded stack, driven by one small JSON file.

The spec file (path from env ``EMBEDDED_FAULTS_FILE``, default ``.local/faults.json``) is re-read
whenever its mtime changes; no file means no faults; changing the file resets every counter. It
lives in the stack's process: ``install()`` wraps moto's Firehose (here) and DynamoDB
(``dynamodb_faults``), and the Lambda runner and the stream pollers ask ``worker_kill_delay`` and
``poller_crash`` before the step a fault would break. The spec, all keys optional::

    {
      "throttle": {"calls": 3, "until": 1764072000.0},   # Firehose: the whole call fails
                                                         #   (ServiceUnavailableException)
      "partial":  {"calls": 2, "every": 2},              # Firehose: every 2nd record of a call fails
      "poison":   ["MARKER"],                            # Firehose: records containing a marker fail
      "crash":    {"after_records": 5, "times": 1},      # Firehose: stores records up to the 5th,
                                                         #   then the call fails as a whole
      "dynamodb_throttle": {"until": 1764072000.0, "every": 2, "unprocessed_every": 3},
                                                         # DynamoDB item operations: every 2nd call
                                                         #   fails (ProvisionedThroughputExceeded);
                                                         #   batch calls that pass leave every 3rd
                                                         #   request unprocessed
      "kill_worker": {"function": "batch_write", "after_ms": 200, "times": 1},
                                                         # SIGKILL the worker running an invocation
                                                         #   of that function (deployed name, or its
                                                         #   folder name), 200 ms into it
      "poller_crash": {"times": 1}                       # a stream poller dies after its function
    }                                                    #   took a batch, before checkpointing it

A fault bounded by ``calls`` or ``times`` stops after that many; by ``until`` (epoch seconds) at
that time; both may be given. What fired is counted in ``<spec>.state.json`` so tests and the soak
that run the stack in another process can check that a fault really happened.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / ".local" / "faults.json"
_EXPECTED_PARAMETERS = ["self", "delivery_stream_name", "records"]


class FaultSpecError(ValueError):
    """The spec file is not what this module understands."""


def spec_path() -> Path:
    return Path(os.environ.get("EMBEDDED_FAULTS_FILE") or DEFAULT_PATH)


def write(spec: dict[str, Any], path: Path | None = None) -> Path:
    """Replace the spec atomically (tests and operators call this); counters restart."""
    path = path or spec_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    _validate(spec)
    before = path.stat().st_mtime_ns if path.exists() else None
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(spec))
    os.replace(tmp, path)
    if before is not None and path.stat().st_mtime_ns == before:  # coarse clocks: make the change visible
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))
    state_path(path).unlink(missing_ok=True)
    return path


def clear(path: Path | None = None) -> None:
    """No faults from now on."""
    path = path or spec_path()
    path.unlink(missing_ok=True)
    state_path(path).unlink(missing_ok=True)


def state_path(path: Path | None = None) -> Path:
    path = path or spec_path()
    return path.with_name(path.name + ".state.json")


def fired(path: Path | None = None) -> dict[str, int]:
    """How often each fault fired since the spec was last written."""
    try:
        return json.loads(state_path(path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


_OBJECT_FAULTS = ("throttle", "partial", "crash", "dynamodb_throttle", "kill_worker", "poller_crash")


def _validate(spec: dict[str, Any]) -> None:
    unknown = set(spec) - {"poison", *_OBJECT_FAULTS}
    if unknown:
        raise FaultSpecError(f"unknown fault(s): {sorted(unknown)}")
    if not isinstance(spec.get("poison", []), list):
        raise FaultSpecError("poison must be a list of marker strings")
    for name in _OBJECT_FAULTS:
        if not isinstance(spec.get(name, {}), dict):
            raise FaultSpecError(f"{name} must be an object")
    if "crash" in spec and not isinstance(spec["crash"].get("after_records"), int):
        raise FaultSpecError("crash.after_records must be an integer")
    if "kill_worker" in spec and not isinstance(spec["kill_worker"].get("function"), str):
        raise FaultSpecError("kill_worker.function must name a function")


class _Faults:
    """The spec currently in force and its counters (moto's server handles calls on many threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mtime: int | None = None
        self.spec: dict[str, Any] = {}
        self.used: dict[str, int] = {}
        self.accepted = 0

    def refresh(self) -> None:
        path = spec_path()
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime == self.mtime:
            return
        spec: dict[str, Any] = {}
        if mtime is not None:
            try:
                spec = json.loads(path.read_text())
                _validate(spec)
            except (OSError, ValueError) as error:  # half-written or wrong: say so, inject nothing
                print(f"[faults] ignoring {path}: {error}", flush=True)
                spec = {}
        self.mtime, self.spec, self.used, self.accepted = mtime, spec, {}, 0

    def active(self, name: str) -> bool:
        fault = self.spec.get(name)
        if not fault:
            return False
        if "calls" in fault and self.used.get(name, 0) >= fault["calls"]:
            return False
        if "times" in fault and self.used.get(name, 0) >= fault["times"]:
            return False
        return not ("until" in fault and time.time() >= fault["until"])

    def take(self, name: str) -> dict[str, Any] | None:
        """The fault's spec if it is active now, counted as fired once; None otherwise."""
        with self.lock:
            self.refresh()
            if not self.active(name):
                return None
            self.fire(name)
            return dict(self.spec[name])

    def fire(self, name: str, count: int = 1) -> None:
        self.used[name] = self.used.get(name, 0) + count
        with contextlib.suppress(OSError):
            state_path().write_text(json.dumps(self.used))


_faults = _Faults()


class InjectedFault(RuntimeError):
    """Raised where the spec asks a part of the stack to fail as if by a bug."""


def worker_kill_delay(function_name: str) -> float | None:
    """Seconds after which the worker about to run an invocation of ``function_name`` is killed.

    The spec names the function as deployed (``items-local-batch_write``) or as its folder under
    ``functions/`` (``batch_write``), which every stage's name ends with."""
    with _faults.lock:
        _faults.refresh()
        fault = _faults.spec.get("kill_worker") or {}
        wanted = fault.get("function")
        named = wanted is not None and (function_name == wanted or function_name.endswith(f"-{wanted}"))
        if not named or not _faults.active("kill_worker"):
            return None
        _faults.fire("kill_worker")
        return max(0.0, float(fault.get("after_ms", 0)) / 1000)


def poller_crash(poller: str) -> None:
    """Raise ``InjectedFault`` when the spec says a stream poller dies now (``times`` in all)."""
    if _faults.take("poller_crash") is not None:
        raise InjectedFault(f"injected crash of stream poller {poller}")


def dynamodb_verdict(operation: str) -> tuple[str, int] | None:
    """For one DynamoDB item operation, per ``dynamodb_throttle``: ("throttle", 0) fails the call,
    ("unprocessed", n) has a batch call leave every n-th request unprocessed, None lets it through."""
    with _faults.lock:
        _faults.refresh()
        if not _faults.active("dynamodb_throttle"):
            return None
        fault = _faults.spec["dynamodb_throttle"]
        seen = _faults.used.get("dynamodb_calls", 0) + 1
        _faults.used["dynamodb_calls"] = seen  # counted apart: `calls` bounds the throttled ones
        if seen % max(1, int(fault.get("every", 1))) == 0:
            _faults.fire("dynamodb_throttle")
            return "throttle", 0
        if operation.startswith("batch_") and fault.get("unprocessed_every"):
            return "unprocessed", max(2, int(fault["unprocessed_every"]))
        return None


def record(name: str, count: int = 1) -> None:
    """Count ``count`` occurrences of a fault that fired outside this module (for ``fired``)."""
    if count:
        with _faults.lock:
            _faults.fire(name, count)


def _unavailable(message: str) -> Exception:
    # moto finds an error's service model from the exception's module: it must be Firehose's.
    from moto.firehose.exceptions import FirehoseException

    return FirehoseException("ServiceUnavailableException", message)


def _faulty_put_record_batch(original: Any) -> Any:
    def put_record_batch(self: Any, delivery_stream_name: str, records: list[dict[str, bytes]]) -> Any:
        with _faults.lock:
            _faults.refresh()
            if _faults.active("throttle"):
                _faults.fire("throttle")
                raise _unavailable("Slow down. (injected throttle)")
            crash = _faults.spec.get("crash")
            if crash and _faults.used.get("crash", 0) < crash.get("times", 1):
                room = max(0, crash["after_records"] - _faults.accepted)
                if room < len(records):
                    if room:
                        original(self, delivery_stream_name, records[:room])
                    _faults.accepted += room
                    _faults.fire("crash")
                    raise _unavailable(f"injected crash after {room} of {len(records)} records")
            rejected = _rejected(records)
            keep = [r for i, r in enumerate(records) if i not in rejected]
            _faults.accepted += len(keep)
        result = original(self, delivery_stream_name, keep) if keep else {"RequestResponses": []}
        if not rejected:
            return result
        accepted = iter(result["RequestResponses"])
        responses = [
            {"ErrorCode": rejected[i], "ErrorMessage": "injected record failure"}
            if i in rejected
            else next(accepted)
            for i in range(len(records))
        ]
        return {"FailedPutCount": len(rejected), "Encrypted": False, "RequestResponses": responses}

    put_record_batch.__wrapped__ = original  # type: ignore[attr-defined]
    return put_record_batch


def _rejected(records: list[dict[str, bytes]]) -> dict[int, str]:
    """Per-record error codes for this call (the caller holds the lock)."""
    rejected: dict[int, str] = {}
    markers = [m.encode() for m in _faults.spec.get("poison", [])]
    for index, record in enumerate(records):
        if any(m in record["Data"] for m in markers):
            rejected[index] = "InvalidArgumentException"
    if markers and rejected:
        _faults.fire("poison", len(rejected))
    if _faults.active("partial"):
        every = max(1, int(_faults.spec["partial"].get("every", 2)))
        hit = [i for i in range(0, len(records), every) if i not in rejected]
        rejected.update(dict.fromkeys(hit, "ServiceUnavailableException"))
        _faults.fire("partial")
    return rejected


def install() -> None:
    """Wrap moto's Firehose and DynamoDB once; fail loudly if moto's internals changed."""
    from moto.firehose.models import FirehoseBackend

    from embedded_stack.moto_server import dynamodb_faults

    dynamodb_faults.install()

    current = FirehoseBackend.put_record_batch
    if hasattr(current, "__wrapped__"):
        return
    parameters = list(inspect.signature(current).parameters)
    if parameters != _EXPECTED_PARAMETERS:
        raise RuntimeError(
            f"moto's FirehoseBackend.put_record_batch{parameters} is not {_EXPECTED_PARAMETERS}: "
            "embedded_stack/moto_server/faults.py must be updated for this moto version"
        )
    FirehoseBackend.put_record_batch = _faulty_put_record_batch(current)  # type: ignore[method-assign]


def uninstall() -> None:
    """Undo ``install()`` (tests that patch an in-process moto)."""
    from moto.firehose.models import FirehoseBackend

    from embedded_stack.moto_server import dynamodb_faults

    dynamodb_faults.uninstall()

    current = FirehoseBackend.put_record_batch
    if hasattr(current, "__wrapped__"):
        FirehoseBackend.put_record_batch = current.__wrapped__  # type: ignore[method-assign]
