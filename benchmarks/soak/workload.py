"""The soak's clients: threads that each act for one partner and one end user, as a partner's app would.

A client mixes creates (some with client-chosen ids, some with ``Idempotency-Key``, retried with the
same key when the answer is in doubt), patches with ``If-Match`` (and some with a stale one, which must
be refused), deletes, batches (some atomic, some racing plain creates for the same ids), reads of its
own items, and probes of other partners' ids and users. It never patches batch items or contested
ids. What it sees that it must not (a 412 on its own item, a stale If-Match accepted, another
partner's item) is a violation at once; the rest is decided by ``reconcile`` from the ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from benchmarks.soak.ledger import IN_DOUBT, Ledger, Write, outcome_of
from benchmarks.soak.session import TIMEOUT_S, Budget, PartnerSession, Registry, Shared
from benchmarks.soak.target import Partner, Target

OPS = (
    ("create", 20),
    ("create_idempotent", 12),
    ("patch", 24),
    ("patch_stale", 4),
    ("delete", 8),
    ("batch", 10),
    ("contest", 3),
    ("read", 8),
    ("probe", 7),
    ("list", 4),
)
POLITE_OPS = (("create", 40), ("patch", 30), ("read", 20), ("probe", 10))


class Client(PartnerSession, threading.Thread):
    """One partner's client thread; ``error`` holds what stopped it early (the driver reports it)."""

    def __init__(
        self, name: str, partner: Partner, shared: Shared, *, seed: int, polite: bool = False
    ) -> None:
        PartnerSession.__init__(self, name, partner, shared, seed=seed, polite=polite)
        threading.Thread.__init__(self, name=f"soak-{name}", daemon=True)
        self.error: BaseException | None = None

    def run(self) -> None:
        ops = POLITE_OPS if self.polite else OPS
        names, weights = [o for o, _ in ops], [w for _, w in ops]
        try:
            while self.budget.take():
                op = self.rng.choices(names, weights)[0]
                getattr(self, f"_{op}")()
                if self.polite:
                    time.sleep(1.0 / max(self.partner.rate_limit, 0.1))
        except BaseException as exc:  # reported by the driver, never silently lost
            self.error = exc

    # -- operations ------------------------------------------------------------------------------

    def _create(self) -> None:
        marker = self._marker()
        given = f"s{self.ledger.run}-{self.label}-{self.n}" if self.rng.random() < 0.3 else None
        body = self._item_body(marker, **({"id": given} if given else {}))
        call = self.send("create", "POST", "/items", json=body)
        outcome = outcome_of(call.status)
        item_id = call.body.get("id") if call.status == 201 else given
        version = int(call.body["version"]) if call.status == 201 else None
        self.ledger.write(Write(marker, self.partner.name, item_id, "create", call, outcome, version))
        if call.status == 201:
            self._own(item_id, version or 0, marker)
        elif outcome == IN_DOUBT and given:
            self._resolve(given)
        elif outcome != IN_DOUBT:
            self._unexpected(call, "201")

    def _create_idempotent(self) -> None:
        marker = self._marker()
        key = f"soak-{self.ledger.run}-{self.label}-{self.n}"
        body = self._item_body(marker)
        for _ in range(8):  # a client retries an answer in doubt with the same key and body
            call = self.send(
                "create_idempotent", "POST", "/items", json=body, headers={"Idempotency-Key": key}
            )
            outcome = outcome_of(call.status)
            item_id = call.body.get("id") if call.status == 201 else None
            version = int(call.body["version"]) if call.status == 201 else None
            self.ledger.write(
                Write(marker, self.partner.name, item_id, "create", call, outcome, version, key)
            )
            if outcome != IN_DOUBT:
                break
            time.sleep(0.5)
        if call.status != 201:
            if outcome == IN_DOUBT:
                self.ledger.note("idempotent creates never answered")
            else:
                self._unexpected(call, "201")
            return
        self._own(item_id, version or 0, marker)
        if self.rng.random() < 0.3:
            again = self.send("create_replay", "POST", "/items", json=body, headers={"Idempotency-Key": key})
            if again.status == 201 and (
                again.body.get("id") != item_id or again.headers.get("Idempotent-Replayed") != "true"
            ):
                self.ledger.violation(f"{self.label}: replaying key {key} did not return item {item_id}")
            elif again.status is not None and again.status < 500 and again.status != 201:
                self._unexpected(again, "201 replayed")

    def _patch(self) -> None:
        picked = self._pick()
        if picked is None:
            return self._create()
        item_id, version, _ = picked
        marker = self._marker()
        body = {"name": f"p-{self.n}", "info": {"soak": marker}}
        call = self.send(
            "patch", "PATCH", f"/items/{item_id}", json=body, headers={"If-Match": f'"{version}"'}
        )
        outcome = outcome_of(call.status)
        new = int(call.body["version"]) if call.status == 200 else None
        self.ledger.write(Write(marker, self.partner.name, item_id, "patch", call, outcome, new))
        if call.status == 200:
            if new != version + 1:
                self.ledger.violation(f"{self.label}: PATCH {item_id} from {version} answered version {new}")
            self._own(item_id, new or version, marker)
        elif outcome == IN_DOUBT:
            self._resolve(item_id)
        else:
            self._unexpected(call, "200 (its only writer, with the version it was last told)")
            self._resolve(item_id)

    def _patch_stale(self) -> None:
        picked = self._pick()
        if picked is None:
            return self._create()
        item_id, version, _ = picked
        marker = self._marker()
        body = {"name": f"stale-{self.n}", "info": {"soak": marker}}
        call = self.send(
            "patch_stale", "PATCH", f"/items/{item_id}", json=body, headers={"If-Match": str(version + 7)}
        )
        self.ledger.write(Write(marker, self.partner.name, item_id, "patch", call, outcome_of(call.status)))
        if call.status == 200:
            self.ledger.violation(f"{self.label}: PATCH {item_id} with a stale If-Match was accepted")
        elif outcome_of(call.status) == IN_DOUBT:
            self._resolve(item_id)
        elif call.status != 412:
            self._unexpected(call, "412")

    def _delete(self) -> None:
        picked = self._pick()
        if picked is None:
            return self._create()
        item_id = picked[0]
        marker = self._marker()
        call = self.send("delete", "DELETE", f"/items/{item_id}")
        self.ledger.write(Write(marker, self.partner.name, item_id, "delete", call, outcome_of(call.status)))
        if call.status == 204:
            self.owned.pop(item_id, None)
        elif outcome_of(call.status) == IN_DOUBT:
            self._resolve(item_id)
        else:
            self._unexpected(call, "204")
            self._resolve(item_id)

    def _batch(self, contested: list[str] | None = None, after: Callable[[], None] | None = None) -> None:
        base = self._marker()
        count = self.rng.randint(5, 25)
        given = self.rng.random() < 0.2
        bodies = []
        for i in range(count):
            body = self._item_body(f"{base}.{i}")
            if given:
                body["id"] = f"b{self.ledger.run}-{self.label}-{self.n}-{i}"
            bodies.append(body)
        for i, cid in enumerate(contested or []):
            bodies.append({**self._item_body(f"{base}.{count + i}"), "id": cid})
        atomic = self.rng.random() < 0.15
        racer = threading.Thread(target=after, daemon=True) if after else None
        if racer:
            racer.start()
        call = self.send("batch", "POST", "/batch", json={"items": bodies, "atomic": atomic})
        if racer:
            racer.join(timeout=TIMEOUT_S * 2)
        outcome = outcome_of(call.status)
        for i, body in enumerate(bodies):
            self.ledger.write(Write(f"{base}.{i}", self.partner.name, body.get("id"), "batch", call, outcome))
        if call.status in (201, 207):
            for item_id in call.body.get("written", []):
                self.registry.add(self.partner.name, item_id)
        elif outcome != IN_DOUBT and not (atomic and contested and call.status == 409):
            self._unexpected(call, "201 or 207")

    def _contest(self) -> None:
        """A batch and plain creates racing for the same client-chosen ids: one may win each id."""
        ids = [f"x{self.ledger.run}-{self.label}-{self.n}-{j}" for j in range(3)]

        def race() -> None:
            time.sleep(self.rng.uniform(0.0, 0.03))
            for cid in ids:
                marker = self._marker()
                call = self.send("contest_create", "POST", "/items", json=self._item_body(marker, id=cid))
                self.ledger.write(
                    Write(
                        marker,
                        self.partner.name,
                        cid,
                        "create",
                        call,
                        outcome_of(call.status),
                        1 if call.status == 201 else None,
                    )
                )
                if call.status not in (201, 409) and outcome_of(call.status) != IN_DOUBT:
                    self._unexpected(call, "201 or 409")

        self._batch(contested=ids, after=race)

    def _read(self) -> None:
        picked = self._pick()
        if picked is None:
            return self._create()
        item_id, version, marker = picked
        call = self.send("read", "GET", f"/items/{item_id}")
        if call.status == 200:
            self.ledger.check_isolation(call, [call.body])
            if (call.body.get("version"), (call.body.get("info") or {}).get("soak")) != (version, marker):
                self.ledger.violation(
                    f"{self.label}: GET {item_id} shows version {call.body.get('version')} "
                    f"{call.body.get('info')}, its only writer was told {version} {marker}"
                )
                self._resolve(item_id)
        elif outcome_of(call.status) != IN_DOUBT:
            self._unexpected(call, "200 (an item it owns)")
            self._resolve(item_id)

    def _probe(self) -> None:
        """Another partner's id: absent here, whether asked alone or in a batch read."""
        other = self.registry.other(self.partner.name, self.rng)
        if other is None:
            return self._create()
        owner, foreign = other
        call = self.send("probe", "GET", f"/items/{foreign}")
        if call.status == 200:
            self.ledger.violation(f"isolation: {self.partner.name} read {owner}'s item {foreign}")
        elif call.status not in (404, None) and call.status < 500:
            self._unexpected(call, "404")
        mine = sorted(self.owned)[:5]
        call = self.send("probe", "GET", "/batch", params={"ids": ",".join([*mine, foreign])})
        if call.status == 200:
            self.ledger.check_isolation(call, call.body.get("items", []))
            if foreign not in call.body.get("missing", []) and foreign not in mine:
                self.ledger.violation(
                    f"isolation: GET /batch by {self.partner.name} found {owner}'s {foreign}"
                )

    def _list(self) -> None:
        users = self.registry.users
        others = [u for p, us in users.items() if p != self.partner.name for u in us]
        for user in [self.user, *([self.rng.choice(others)] if others else [])]:
            call = self.send("list", "GET", "/items", params={"userId": user, "limit": 100})
            if call.status == 200:
                self.ledger.check_isolation(call, call.body.get("items", []))
                if user != self.user and call.body.get("items"):
                    self.ledger.violation(f"isolation: {self.partner.name} listed items of {user}")
            elif outcome_of(call.status) != IN_DOUBT:
                self._unexpected(call, "200")


def start_clients(
    target: Target, ledger: Ledger, budget: Budget, clients_per_partner: int, seed: int
) -> list[Client]:
    """Clients for every partner with a roomy plan, plus one polite client of the tightest plan."""
    shared = Shared(target, ledger, budget, Registry())
    partners = target.partners.values()
    roomy = [p for p in partners if p.burst_limit >= 20 and (p.quota_limit or 10**9) >= 10_000]
    tight = [p for p in partners if p.burst_limit < 20 and (p.quota_limit or 10**9) >= 1_000]
    if len(roomy) < 2:
        raise SystemExit(
            f"the soak needs two partners with roomy plans; the stage has {sorted(target.partners)}"
        )
    clients = [
        Client(f"{p.name}-c{i}", p, shared, seed=seed * 1000 + n * 10 + i)
        for n, p in enumerate(roomy)
        for i in range(clients_per_partner)
    ]
    if tight:
        slow = min(tight, key=lambda p: p.burst_limit)
        clients.append(Client(f"{slow.name}-c0", slow, shared, seed=seed, polite=True))
    for client in clients:
        client.start()
    return clients
