"""A partner's session with the API, as the soak's clients use it: requests (each with one of the
partner's read-write keys, picked at random) recorded in the ledger,
the items the client owns (it is their only writer, so it knows what each should look like), and an
answer in doubt resolved by reading the item back, as a careful client does.

``Budget`` (requests left, a deadline) and ``Registry`` (ids and users per partner, for isolation
probes) are shared by every client.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

from benchmarks.soak.ledger import Call, Ledger
from benchmarks.soak.target import Partner, Target

TIMEOUT_S = 35  # above API Gateway's 29 s, so a 504 is seen rather than a client timeout


class Budget:
    """Requests to send and a deadline, shared by every client; ``progress`` drives the fault plan.

    A client starts an operation only while both last, so a soak sends at most a few requests more
    than its budget (an operation in flight finishes)."""

    def __init__(self, requests_total: int, duration_s: float) -> None:
        self.total, self.duration = requests_total, duration_s
        self.started = time.monotonic()
        self.used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Whether a client may start another operation (one to a few requests)."""
        with self._lock:
            return self.used < self.total and time.monotonic() - self.started < self.duration

    def count(self) -> None:
        """One request sent."""
        with self._lock:
            self.used += 1

    @property
    def progress(self) -> float:
        return max(self.used / self.total, (time.monotonic() - self.started) / self.duration)


class Registry:
    """Ids each partner has created, for other partners' isolation probes; users per partner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ids: dict[str, list[str]] = {}
        self.users: dict[str, list[str]] = {}

    def add(self, partner: str, item_id: str) -> None:
        with self._lock:
            self.ids.setdefault(partner, []).append(item_id)

    def other(self, partner: str, rng: random.Random) -> tuple[str, str] | None:
        with self._lock:
            others = [(p, ids) for p, ids in self.ids.items() if p != partner and ids]
            if not others:
                return None
            owner, ids = rng.choice(others)
            return owner, rng.choice(ids)


@dataclass(frozen=True)
class Shared:
    """What every client of one soak shares."""

    target: Target
    ledger: Ledger
    budget: Budget
    registry: Registry


class PartnerSession:
    """One partner's app: a kept-alive session, one end user, the items it owns."""

    def __init__(
        self, name: str, partner: Partner, shared: Shared, *, seed: int, polite: bool = False
    ) -> None:
        self.label, self.partner, self.target = name, partner, shared.target
        self.ledger, self.budget, self.registry = shared.ledger, shared.budget, shared.registry
        self.rng = random.Random(seed)
        self.polite = polite
        self.user = f"soak-{self.ledger.run}-{name}"
        self.owned: dict[str, tuple[int, str]] = {}  # id -> (version, marker) as last acknowledged
        self.n = 0
        self.session = requests.Session()
        self.registry.users.setdefault(partner.name, []).append(self.user)

    def _marker(self) -> str:
        self.n += 1
        return self.ledger.marker(self.partner.name, self.label, self.n)

    def send(self, op: str, method: str, path: str, **kwargs: Any) -> Call:
        self.budget.count()
        started = time.time()
        try:
            # Any of the partner's read-write keys: the partner, not the key, owns the data, so an
            # item written with one key is read, patched and deleted with another.
            headers = {**kwargs.pop("headers", {}), "x-api-key": self.rng.choice(self.partner.write_keys)}
            response = self.session.request(
                method, f"{self.target.api_url}{path}", headers=headers, timeout=TIMEOUT_S, **kwargs
            )
        except requests.RequestException:
            return self.ledger.call(
                Call(self.label, self.partner.name, op, method, path, started, time.time(), None)
            )
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        call = Call(
            self.label,
            self.partner.name,
            op,
            method,
            path,
            started,
            time.time(),
            response.status_code,
            body,
            dict(response.headers),
        )
        self.ledger.call(call)
        if response.status_code == 429 and not self.polite:
            self.ledger.violation(f"{self.label}: a roomy plan was throttled ({method} {path})")
        retry_after = response.headers.get("Retry-After")
        if response.status_code == 429 or (retry_after and retry_after.replace(".", "", 1).isdigit()):
            time.sleep(min(float(retry_after or 1), 2.0))
        return call

    def _unexpected(self, call: Call, wanted: str) -> None:
        if call.status is not None and call.status < 500 and not (self.polite and call.status == 429):
            self.ledger.violation(
                f"{self.label}: {call.method} {call.path} answered {call.status}, expected {wanted}: "
                f"{str(call.body)[:200]}"
            )

    def _item_body(self, marker: str, **extra: Any) -> dict[str, Any]:
        return {"userId": self.user, "name": f"n-{self.n}", "info": {"soak": marker}, **extra}

    def _own(self, item_id: str, version: int, marker: str) -> None:
        self.owned[item_id] = (version, marker)
        self.registry.add(self.partner.name, item_id)

    def _resolve(self, item_id: str) -> None:
        """After an answer in doubt: read the item back (until answered) and adopt what is there."""
        for _ in range(20):
            call = self.send("resolve", "GET", f"/items/{item_id}")
            if call.status == 200:
                self.ledger.check_isolation(call, [call.body])
                self._own(item_id, int(call.body["version"]), call.body["info"]["soak"])
                return
            if call.status == 404:
                self.owned.pop(item_id, None)
                return
            time.sleep(0.5)
        self.owned.pop(item_id, None)  # unknown: never touched again
        self.ledger.note("items given up after answers in doubt")

    def _pick(self) -> tuple[str, int, str] | None:
        if not self.owned:
            return None
        item_id = self.rng.choice(sorted(self.owned))
        return item_id, *self.owned[item_id]
