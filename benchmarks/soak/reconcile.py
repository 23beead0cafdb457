"""After the load: what the table, the stream and the audit log hold, checked against the ledger.

- **Table.** Every item the soak wrote carries the marker of the write that produced its state. For each
  item id: the state must come from its last acknowledged write (at the version that answer gave), or
  from a write in doubt after it; an item whose last acknowledged write was a delete must be gone; no
  state may come from a rejected write. No id may be acknowledged as created twice (a batch writing
  over a concurrent create: issue 11 part A made that impossible, so it fails the soak).
- **Batches.** Every answer of POST /batch has the shape docs/api.md#batches gives (each item written
  or failed once, with its index, id and reason; 201 only when all were written, 503 only when all
  were throttled). A client-chosen id the answer called written is acknowledged; ``unknown``, in
  doubt; any other reason, refused. Server ids: exactly the written ones exist (and perhaps the
  ``unknown`` ones); a refused batch or a 503 wrote none. Items written with one Idempotency-Key: at
  most one. Every marker found is known and sits in its partner's partition.
- **Audit.** Once the pollers have caught up (batches parked in the failure bucket replayed with
  scripts/audit_replay.py when it holds any): every item change in the stream during the soak is in
  S3 (``audit_verify``), exactly once after dedupe on eventId, nothing else; and the last event of
  each soak item agrees with the table.
- **5xx.** Each must overlap a fault that can cause it. DynamoDB throttling: 503 (our answer when
  retries run out), 502 and 504 (retries outlasting the function's or the integration's timeout),
  500 (reserved concurrency exhausted by invocations still retrying) or no answer, up to 30 s after
  the window; the killed worker: 502 on POST /batch.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from benchmarks.soak.ledger import ACKED, IN_DOUBT, REJECTED, Call, Ledger, Write, partner_of
from benchmarks.soak.plan import Phase
from benchmarks.soak.target import Target
from scripts import audit_replay, audit_verify
from scripts.audit_common import s3_events

AUDIT_DEADLINE_S = 240.0
REASONS = ("exists", "throttled", "unknown", "invalid")  # docs/api.md#batches
SETTLE_S = 30.0  # an invocation API Gateway gave up on (504) may still write for this long
EXPLAINS = {
    "DynamoDB throttling": lambda call: call.status in (500, 502, 503, 504, None),
    "batch_write worker killed": lambda call: call.op in ("batch", "contest") and call.status == 502,
}


@dataclass
class Findings:
    """The figures the soak prints, and every violation found."""

    violations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    deserialize = TypeDeserializer().deserialize
    return {k: deserialize(v) for k, v in raw.items()}


def scan_table(target: Target, run: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(partner name, item id) -> item, for every item carrying a marker of this run."""
    ddb = target.client("dynamodb")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=target.audit.table_name, ConsistentRead=True):
        for raw in page.get("Items", []):
            # Picked out in wire format: the table may hold others' items whose numbers boto3's
            # deserializer refuses (DynamoDB keeps 38 digits; its context traps rounding).
            marker = ((raw.get("info") or {}).get("M") or {}).get("soak", {}).get("S", "")
            if raw.get("SK", {}).get("S") != "ITEM" or not marker.startswith(f"soak.{run}."):
                continue
            item = _item(raw)
            partner = str(item["PK"]).split("#")[1]  # P#<partner>#I#<id>: the partner is the tenant
            if partner not in target.partners:
                partner = f"unknown partner {partner}"
            found[(partner, str(item["id"]))] = item
    return found


def _marker(item: dict[str, Any]) -> str:
    return str(item["info"]["soak"])


def check_table(ledger: Ledger, table: dict[tuple[str, str], dict[str, Any]], findings: Findings) -> None:
    """Each id's state against its history; every marker in the table; each idempotency key."""
    answers = _batch_outcomes(ledger, findings)
    settled = [_settled(write, answers) for write in ledger.writes]
    by_marker: dict[str, list[Write]] = defaultdict(list)
    for write in settled:
        by_marker[write.marker].append(write)
    _check_ids(settled, table, by_marker, findings)
    for (partner, item_id), item in table.items():
        writes = by_marker.get(_marker(item))
        if not writes:
            findings.violations.append(f"unknown write: {partner} item {item_id} has marker {_marker(item)}")
        elif partner_of(_marker(item)) != partner:
            findings.violations.append(
                f"isolation: {partner} holds item {item_id} written by another partner"
            )
        elif all(w.outcome == REJECTED for w in writes):
            findings.violations.append(
                f"unacknowledged write present: {partner} item {item_id} ({_marker(item)})"
            )
    idempotent: dict[str, list[Write]] = defaultdict(list)
    for write in ledger.writes:
        if write.idempotency_key:
            idempotent[write.idempotency_key].append(write)
    for key, writes in idempotent.items():
        stored = [k for k, item in table.items() if _marker(item) == writes[0].marker]
        ids = {w.item_id for w in writes if w.outcome == ACKED}
        if len(stored) > 1 or len(ids) > 1:
            findings.violations.append(f"idempotency: key {key} produced items {sorted(stored)} / ids {ids}")


def _check_ids(
    settled: list[Write],
    table: dict[tuple[str, str], dict[str, Any]],
    by_marker: dict[str, list[Write]],
    findings: Findings,
) -> None:
    history: dict[tuple[str, str], list[Write]] = defaultdict(list)
    for write in settled:
        if write.item_id is not None:
            history[(write.partner, write.item_id)].append(write)
    counts: Counter[str] = Counter()
    for key, writes in history.items():
        writes.sort(key=lambda w: w.call.started)
        created = [w for w in writes if w.creates and w.outcome == ACKED]
        if len(created) > 1:
            findings.violations.append(
                f"overwrite: {key[0]} id {key[1]} acknowledged as created {len(created)} times "
                f"({', '.join(f'{w.call.method} {w.call.path} {w.call.status}' for w in created)})"
            )
            continue
        counts[_final_state(key, writes, table.get(key), by_marker, findings)] += 1
    findings.figures["ids checked against the table"] = dict(counts)


@dataclass(frozen=True)
class BatchAnswer:
    """What one POST /batch answer says happened to its items: written, and failed by reason."""

    written: frozenset[str]
    unknown: frozenset[str]  # sent, answer lost: may or may not be written
    failed: dict[int, str]  # request index -> reason

    @property
    def nothing_written(self) -> bool:
        return not self.written and not self.unknown


def batch_answer(call: Call, count: int) -> tuple[BatchAnswer | None, str | None]:
    """The answer of a POST /batch of ``count`` items, or None when its body says nothing (a 502,
    a 4xx); with what is wrong with its shape, if anything (docs/api.md#batches: every item is in
    ``written`` or, once, in ``failed`` with its index, id and reason; a 503 only when all were
    throttled)."""
    body = call.body if isinstance(call.body, dict) else {}
    if call.status not in (201, 207, 503) or "failed" not in body:
        return None, None if call.status != 201 else f"a 201 without the batch body: {str(body)[:200]}"
    written, failed = body.get("written") or [], body.get("failed") or []
    indexes = [f.get("index") for f in failed]
    problems = []
    if len(written) + len(failed) != count or len(set(indexes)) != len(indexes):
        problems.append(f"{len(written)} written + {len(failed)} failed for {count} items")
    if any(not isinstance(i, int) or not 0 <= i < count for i in indexes):
        problems.append(f"failed indexes {indexes} out of range")
    if any(f.get("reason") not in REASONS or not f.get("id") for f in failed):
        problems.append(f"failed entries without an id or a known reason: {failed[:3]}")
    if (call.status == 201) != (not failed) or (
        call.status == 503 and (written or any(f.get("reason") != "throttled" for f in failed))
    ):
        problems.append(f"status {call.status} for {len(written)} written and {failed[:3]}")
    answer = BatchAnswer(
        frozenset(written),
        frozenset(str(f.get("id")) for f in failed if f.get("reason") == "unknown"),
        {f["index"]: str(f.get("reason")) for f in failed if isinstance(f.get("index"), int)},
    )
    return answer, "; ".join(problems) or None


def _batch_outcomes(ledger: Ledger, findings: Findings) -> dict[int, BatchAnswer]:
    """For each batch call whose answer says what happened to its items: that answer (its shape
    checked: a malformed answer is a violation)."""
    calls: dict[int, tuple[Call, int]] = {}
    for write in ledger.writes:
        if write.kind == "batch":
            call, count = calls.get(id(write.call), (write.call, 0))
            calls[id(write.call)] = (call, count + 1)
    out: dict[int, BatchAnswer] = {}
    for key, (call, count) in calls.items():
        answer, problem = batch_answer(call, count)
        if problem:
            findings.violations.append(f"batch answer: {call.method} {call.path} {call.status}: {problem}")
        if answer is not None:
            out[key] = answer
    findings.figures["batch requests acknowledged"] = sum(
        1 for call, _ in calls.values() if call.status in (201, 207)
    )
    return out


def _settled(write: Write, answers: dict[int, BatchAnswer]) -> Write:
    """A batch item as its batch's answer said (by its index, the marker's last part): written
    (acknowledged), ``unknown`` (in doubt), or any other reason (rejected: it must leave nothing)."""
    answer = answers.get(id(write.call))
    if write.kind != "batch" or answer is None:
        return write
    reason = answer.failed.get(int(write.marker.rpartition(".")[2]))
    if reason is None:
        outcome, version = ACKED, 1
    elif reason == "unknown":
        outcome, version = IN_DOUBT, None
    else:
        outcome, version = REJECTED, None
    return Write(write.marker, write.partner, write.item_id, "batch", write.call, outcome, version)


def _final_state(
    key: tuple[str, str],
    writes: list[Write],
    item: dict[str, Any] | None,
    by_marker: dict[str, list[Write]],
    findings: Findings,
) -> str:
    """Compare one id's table state with its history; returns how it was explained."""
    acked = [i for i, w in enumerate(writes) if w.outcome == ACKED]
    last = writes[acked[-1]] if acked else None
    doubtful = [w for w in (writes[acked[-1] + 1 :] if acked else writes) if w.outcome == IN_DOUBT]
    where = f"{key[0]} item {key[1]}"
    if item is None:
        if last is None or last.kind == "delete":
            return "absent as acknowledged"
        if any(w.kind == "delete" for w in doubtful):
            return "absent after a delete in doubt"
        refused = [
            w
            for w in writes
            if w.kind == "delete" and w.outcome == REJECTED and w.call.started > last.call.started
        ]
        if refused:
            findings.violations.append(
                f"retried write: {where} is gone, though its DELETE answered {refused[-1].call.status}"
            )
            return "deleted, answered as refused"
        findings.violations.append(f"lost: {where} missing; last acknowledged {last.kind} {last.marker}")
        return "lost"
    return _present(where, item, last, doubtful, by_marker=by_marker, findings=findings)


def _present(
    where: str,
    item: dict[str, Any],
    last: Write | None,
    doubtful: list[Write],
    *,
    by_marker: dict[str, list[Write]],
    findings: Findings,
) -> str:
    marker = _marker(item)
    if last is not None and marker == last.marker and last.kind != "delete":
        if last.version is not None and int(item["version"]) != last.version:
            findings.violations.append(
                f"version: {where} is at {item['version']}, its last acknowledged write said {last.version}"
            )
            return "wrong version"
        return "as acknowledged"
    if any(w.marker == marker for w in doubtful):
        return "from a write in doubt"
    producers = by_marker.get(marker, [])
    if producers and all(w.outcome == REJECTED for w in producers):
        return "rejected"  # reported by the table pass
    if last is not None and any(w.kind == "batch" for w in producers) and last.call is not producers[0].call:
        findings.violations.append(
            f"overwrite: {where} holds batch write {marker} ({producers[0].outcome}) over the "
            f"acknowledged {last.kind} {last.marker}"
        )
        return "overwritten by a batch"
    findings.violations.append(
        f"lost: {where} holds {marker}; its last acknowledged write was {last.marker if last else 'none'}"
    )
    return "lost"


def check_batches(ledger: Ledger, table: dict[tuple[str, str], dict[str, Any]], findings: Findings) -> None:
    """Batch items with server-generated ids: exactly the written ones exist (plus, perhaps, those
    whose outcome the answer called unknown); a refused batch, or a 503 (all throttled), wrote none."""
    stored: dict[str, set[str]] = defaultdict(set)  # batch marker base -> ids in the table
    for (_partner, item_id), item in table.items():
        base, _, _ = _marker(item).rpartition(".")
        stored[base].add(item_id)
    seen: set[int] = set()
    for write in ledger.writes:
        call = write.call
        if write.kind != "batch" or id(call) in seen:
            continue
        seen.add(id(call))
        base = write.marker.rpartition(".")[0]
        items = [w for w in ledger.writes if w.call is call]
        given = {w.item_id for w in items if w.item_id}
        present = stored.get(base, set()) - given
        answer, _ = batch_answer(call, len(items))
        if answer is not None and (write.outcome == ACKED or answer.nothing_written):
            written = answer.written - given
            if not written <= present or not present <= written | answer.unknown:
                findings.violations.append(
                    f"batch {base} ({call.status}): written {sorted(written - present)} missing, "
                    f"{sorted(present - written - answer.unknown)} present though not written"
                )
        elif write.outcome == REJECTED and present:
            findings.violations.append(
                f"batch {base} was refused ({call.status}) but wrote {sorted(present)}"
            )


def _route(path: str) -> str:
    parts = path.split("?", 1)[0].strip("/").split("/")
    return "/items/{id}" if len(parts) == 2 and parts[0] == "items" else "/" + "/".join(parts)


def check_5xx(ledger: Ledger, plan: list[Phase], findings: Findings) -> None:
    """Every 5xx (or request left unanswered) must overlap a fault that can cause it."""
    explained: Counter[str] = Counter()
    unexplained = []
    candidates = sorted(
        (p for p in plan if p.name in EXPLAINS), key=lambda p: not p.once
    )  # the most specific first
    for call in ledger.calls:
        if call.status is not None and call.status < 500:
            continue
        cause = next(
            (p.name for p in candidates if p.covers(call.started, call.ended) and EXPLAINS[p.name](call)),
            None,
        )
        label = f"{call.status or 'no answer'} {call.method} {_route(call.path)}"
        if cause:
            explained[f"{label} ({cause})"] += 1
        else:
            unexplained.append(f"{label} at {datetime.fromtimestamp(call.started, UTC):%H:%M:%S}")
    findings.figures["5xx explained by a fault"] = dict(explained)
    if unexplained:
        findings.violations.append(f"{len(unexplained)} 5xx no fault explains: {unexplained[:10]}")


def settle(ledger: Ledger) -> None:
    """Wait until no invocation API Gateway gave up on can still be writing."""
    abandoned = [c.ended for c in ledger.calls if c.status in (504, None)]
    if abandoned:
        time.sleep(max(0.0, max(abandoned) + SETTLE_S - time.time()))


def check_audit(
    target: Target,
    run: str,
    table: dict[tuple[str, str], dict[str, Any]],
    since: datetime,
    findings: Findings,
) -> None:
    """Wait for the audit log to hold every change (replaying parked batches as needed), then compare.

    Batches the stream mapping gave up on (the Firehose outage) are parked in the failure bucket;
    they are replayed with scripts/audit_replay.py, as the runbook says, whenever some are there."""
    s3 = target.client("s3")
    deadline = time.monotonic() + AUDIT_DEADLINE_S
    replayed: list[audit_replay.Report] = []
    while True:
        until = datetime.now(UTC)
        result = audit_verify.verify(target.audit, since, until, endpoint_url=target.endpoint_url)
        parked = _parked(s3, target)
        if parked and time.monotonic() < deadline:
            replayed += audit_replay.replay(target.audit, target.endpoint_url, progress=False)
            time.sleep(1)  # a record Firehose refused again stays parked: do not spin on it
            continue
        if not result.missing or time.monotonic() > deadline:
            break
        time.sleep(2)
    findings.figures["audit"] = {
        "changes in the stream": result.expected,
        "distinct events in S3": result.stored,
        "missing": len(result.missing),
        "delivered more than once (deduplicated on eventId)": len(result.duplicates),
        "parked batches replayed": sum(r.retired for r in replayed),
        "events replayed": sum(r.events for r in replayed if r.retired),
    }
    if parked:
        findings.violations.append(f"audit: {parked} parked batches could not be replayed")
    if result.missing:
        findings.violations.append(
            f"audit: {len(result.missing)} changes never reached S3: {result.missing[:5]}"
        )
    if result.unexpected:
        findings.violations.append(
            f"audit: {len(result.unexpected)} events not from the stream: {result.unexpected[:5]}"
        )
    _last_word(target, run, table, (since, until), findings)


def _parked(s3: Any, target: Target) -> int:
    """How many on-failure records wait in the failure bucket."""
    return sum(1 for _ in audit_replay.failure_objects(s3, target.audit.failure_bucket))


def _last_word(
    target: Target,
    run: str,
    table: dict[tuple[str, str], dict[str, Any]],
    window: tuple[datetime, datetime],
    findings: Findings,
) -> None:
    """The last audit event of every soak item says what the table holds."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    s3 = target.client("s3")
    events = s3_events(s3, target.audit.bucket, target.audit.prefix, *window, slack=timedelta(hours=1))
    for _key, event in events:
        image = event.get("newImage") or event.get("oldImage") or {}
        info = image.get("info") if isinstance(image.get("info"), dict) else {}
        if not str(info.get("soak", "")).startswith(f"soak.{run}."):
            continue
        key = (str(event.get("partnerId")), str(event.get("itemId")))
        if key not in last or int(event["sequenceNumber"]) > int(last[key]["sequenceNumber"]):
            last[key] = event
    disagree = []
    for key, event in last.items():
        item = table.get(key)
        if item is None and event["eventName"] != "REMOVE":
            disagree.append(f"{key}: table has none, audit ends with {event['eventName']}")
        elif item is not None and (
            event["eventName"] == "REMOVE"
            or (event["newImage"] or {}).get("info", {}).get("soak") != _marker(item)
            or int(event["version"]) != int(item["version"])
        ):
            disagree.append(
                f"{key}: table v{item['version']}, audit ends with {event['eventName']} v{event['version']}"
            )
    missing = sorted(set(table) - set(last))
    if missing:
        disagree.append(f"{len(missing)} items with no audit event: {missing[:5]}")
    if disagree:
        findings.violations.append(f"audit vs table: {disagree[:10]}")
    findings.figures["items whose last audit event matches the table"] = len(last) - len(disagree)


def summarize_calls(calls: list[Call], seconds: float) -> dict[str, Any]:
    statuses = Counter(str(c.status or "no answer") for c in calls)
    return {
        "requests": len(calls),
        "seconds": round(seconds, 1),
        "requests per second": round(len(calls) / seconds, 1) if seconds else 0.0,
        "statuses": dict(sorted(statuses.items())),
    }
