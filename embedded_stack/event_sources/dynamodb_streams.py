"""Event source mappings for DynamoDB streams, following the deployed mappings in the control plane.

For every enabled mapping whose source is a DynamoDB stream, one ``ShardPoller`` thread per shard
reads records through the DynamoDB Streams API at the moto endpoint (moto itself must not consume
the stream: see moto_server.patches) and invokes the function through the runner. Mappings are
re-read every few seconds: new ones start, removed or changed ones stop (a changed one resumes
from its checkpoint), and a poller that died (an unexpected error: it logs why) is restarted from its
checkpoint, as Lambda's pollers are, with a warning: records it had taken but not checkpointed are
delivered again (at least once).
"""

from __future__ import annotations

import logging
import threading
import time

from embedded_stack.event_sources.clients import Clients
from embedded_stack.event_sources.settings import MappingSettings, is_dynamodb_stream
from embedded_stack.event_sources.shard_poller import POLL_INTERVAL_S, Invoke, ShardPoller

log = logging.getLogger("embedded.streams")

REFRESH_INTERVAL_S = 2.0  # how often the set of mappings is re-read from the control plane


class StreamPollers:
    """Keeps one poller per (DynamoDB stream mapping, shard) running, following the control plane."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        invoke: Invoke,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        checkpoints: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self._clients = Clients(endpoint_url, region)
        self._invoke = invoke
        self._poll = poll_interval_s
        self._refresh = refresh_interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pollers: dict[tuple[str, str], tuple[ShardPoller, threading.Event]] = {}
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()
        self.restarts = 0  # pollers found dead and restarted (tests and the soak read it)
        # (mapping UUID, shard id) -> sequence number dealt with, from a previous run (fast restart).
        self._resume = dict(checkpoints or {})

    def start(self) -> StreamPollers:
        self.sync()
        self._thread = threading.Thread(target=self._watch, name="stream-mappings", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self._refresh):
            try:
                self.sync()
            except Exception:
                log.exception("could not refresh event source mappings")

    def _mappings(self) -> list[MappingSettings]:
        found = []
        for page in self._clients.lambda_.get_paginator("list_event_source_mappings").paginate():
            for m in page.get("EventSourceMappings", []):
                if is_dynamodb_stream(m.get("EventSourceArn", "")) and m.get("State") == "Enabled":
                    if (m.get("FilterCriteria") or {}).get("Filters") and m["UUID"] not in self._warned:
                        self._warned.add(m["UUID"])
                        log.warning(
                            "mapping %s: FilterCriteria are not applied here (all records delivered)",
                            m["UUID"],
                        )
                    found.append(MappingSettings.from_api(m))
        return found

    def sync(self) -> None:
        """Start pollers for new mappings and shards; stop those of removed or changed mappings."""
        wanted: dict[tuple[str, str], MappingSettings] = {}
        for settings in self._mappings():
            shards = self._clients.streams.describe_stream(StreamArn=settings.stream_arn)["StreamDescription"]
            for shard in shards.get("Shards", []):
                wanted[(settings.uuid, shard["ShardId"])] = settings
        retired: dict[tuple[str, str], ShardPoller] = {}
        with self._lock:
            for key, (poller, stop) in list(self._pollers.items()):
                if wanted.get(key) != poller.settings:
                    stop.set()
                    del self._pollers[key]
                    retired[key] = poller
                elif not poller.is_alive() and not stop.is_set():
                    del self._pollers[key]
                    retired[key] = poller
                    self.restarts += 1
                    log.warning(
                        "stream poller %s for %s died; restarting it from checkpoint %s",
                        poller.name,
                        poller.settings.function_arn,
                        poller.checkpoint or "(none: the starting position)",
                    )
        for poller in retired.values():
            poller.join(timeout=60)  # let it finish its batch so the checkpoint is exact
        with self._lock:
            for key, settings in wanted.items():
                if key in self._pollers or self._stop.is_set():
                    continue
                stop = threading.Event()
                poller = ShardPoller(
                    settings,
                    key[1],
                    self._clients,
                    self._invoke,
                    stop,
                    poll_interval_s=self._poll,
                    resume_after=retired[key].checkpoint if key in retired else self._resume.get(key),
                )
                self._pollers[key] = (poller, stop)
                poller.start()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until every shard poller has delivered all that was in its shard when this was called."""
        since = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pollers = self.pollers()
            if all(p.stats.caught_up_at > since for p in pollers):
                return True
            time.sleep(0.05)
        return False

    def pollers(self) -> list[ShardPoller]:
        with self._lock:
            return [p for p, _ in self._pollers.values()]

    def checkpoints(self) -> dict[tuple[str, str], str]:
        """(mapping UUID, shard id) -> the last sequence number dealt with, for the next run to resume
        after (as Lambda keeps a mapping's position); exact once ``join`` has returned."""
        found = dict(self._resume)
        with self._lock:
            for key, (poller, _) in self._pollers.items():
                if poller.checkpoint is not None:
                    found[key] = poller.checkpoint
        return found

    def halt(self) -> None:
        """Ask every poller to stop after its current step (does not wait)."""
        self._stop.set()
        with self._lock:
            for _, stop in self._pollers.values():
                stop.set()

    def join(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            pollers = {key: p for key, (p, _) in self._pollers.items()}
            self._pollers.clear()
        for key, poller in pollers.items():
            poller.join(timeout=timeout_s)
            if poller.checkpoint is not None:
                self._resume[key] = poller.checkpoint
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.halt()
        self.join(timeout_s)
