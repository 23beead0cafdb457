"""Webhook signing, endpoint checks and item events (apikit.webhook_*): what partners rely on."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from apikit import webhook_delivery, webhook_events, webhook_signing, webhook_urls
from standardwebhooks import Webhook, WebhookVerificationError

# ---- signing: verified by the reference library partners use -------------------------------------


def test_a_signed_delivery_verifies_with_the_standardwebhooks_library() -> None:
    secret = webhook_signing.new_secret()
    body = b'{"type":"item.created","data":{"id":"x"}}'
    now = int(time.time())
    headers = webhook_signing.headers(secret, "msg_abc", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook_signing.new_secret()).verify(body, headers)  # another secret
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"x", b"y"), headers)  # a changed body


def test_secrets_are_fresh_and_carry_32_bytes() -> None:
    import base64

    first, second = webhook_signing.new_secret(), webhook_signing.new_secret()
    assert first != second and first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_signature_is_the_specifications_hmac() -> None:
    # The Standard Webhooks specification's own example values.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        webhook_signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


# ---- endpoint checks ------------------------------------------------------------------------------


def resolver(table: dict[str, list[str]]) -> Any:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise webhook_urls.UnsafeUrl(f"host {host!r} does not resolve")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "0.0.0.0", "169.254.169.254",
        "100.64.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1",
        "fd00:ec2::254", "ff02::1", "::", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2002:0a00:0001::1",
        "64:ff9b::a00:1", "198.18.0.1", "192.0.2.1",
    ],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not webhook_urls.is_public(address)
    with pytest.raises(webhook_urls.UnsafeUrl, match="non-public"):
        webhook_urls.check(
            "https://hooks.example.com/x",
            allow_loopback_http=False,
            resolver=resolver({"hooks.example.com": [address]}),
        )


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_accepted(address: str) -> None:
    assert webhook_urls.is_public(address)


def test_a_name_with_any_private_address_is_refused_and_the_checked_address_is_the_one_used() -> None:
    mixed = resolver({"rebind.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(webhook_urls.UnsafeUrl, match=r"10\.0\.0\.7"):
        webhook_urls.check("https://rebind.example.com/", allow_loopback_http=False, resolver=mixed)
    ok = webhook_urls.check(
        "https://hooks.example.com:8443/in?x=1",
        allow_loopback_http=False,
        resolver=resolver({"hooks.example.com": ["93.184.215.14"]}),
    )
    assert (ok.address, ok.host, ok.port, ok.path) == ("93.184.215.14", "hooks.example.com", 8443, "/in?x=1")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "must use https"),
        ("ftp://example.com/", "must use https"),
        ("http://example.com/hook", "must use https"),
        ("http://127.0.0.1:9000/hook", "must use https"),  # outside local
        ("https://user:pw@example.com/", "credentials"),
        ("https:///nohost", "must name a host"),
        ("https://example.com/#frag", "fragment"),
        ("https://exa mple.com/", "whitespace"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://[::1]/", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
        ("https://" + "a" * 2050 + ".com/", "at most 2048"),
        ("https://nowhere.invalid/", "does not resolve"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(webhook_urls.UnsafeUrl, match=reason):
        webhook_urls.check(url, allow_loopback_http=False, resolver=resolver({}))


def test_the_local_stage_also_accepts_http_on_127_0_0_1_and_nothing_else_over_http() -> None:
    target = webhook_urls.check("http://127.0.0.1:9000/hook", allow_loopback_http=True, resolver=resolver({}))
    assert (target.address, target.port, target.path) == ("127.0.0.1", 9000, "/hook")
    for url in ("http://localhost:9000/", "http://10.0.0.1/", "http://127.0.0.2/"):
        with pytest.raises(webhook_urls.UnsafeUrl, match="must use https"):
            webhook_urls.check(url, allow_loopback_http=True, resolver=resolver({"localhost": ["127.0.0.1"]}))
    with pytest.raises(webhook_urls.UnsafeUrl, match="non-public"):  # https to loopback: still refused
        webhook_urls.check("https://127.0.0.1/", allow_loopback_http=True, resolver=resolver({}))


# ---- retry schedule -------------------------------------------------------------------------------


def test_backoff_doubles_from_30_s_to_6_h_and_the_manifests_receive_count_spans_more_than_a_day() -> None:
    from pathlib import Path

    delays = [webhook_delivery.backoff_seconds(n, jitter=0) for n in range(1, 15)]
    assert delays[:4] == [30, 60, 120, 240] and max(delays) == 6 * 3600
    manifest = json.loads(
        (Path(__file__).resolve().parents[2] / "functions/webhook_delivery/function.json").read_text()
    )
    sqs = manifest["events"]["sqs"]
    span = webhook_delivery.schedule_span_seconds(sqs["max_receive_count"])
    assert 24 * 3600 < span < sqs["message_retention_seconds"]
    assert all(webhook_delivery.backoff_seconds(n) <= 43_200 for n in range(1, 40))  # SQS's maximum


# ---- item events ---------------------------------------------------------------------------------


def _image(**values: Any) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        out[k] = {"N": str(v)} if isinstance(v, int) else {"M": {}} if isinstance(v, dict) else {"S": v}
    return out


def _record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    change: dict[str, Any] = {"SequenceNumber": "100", "ApproximateCreationDateTime": 1764460800}
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    return {"eventID": "e1d2", "eventName": name, "dynamodb": change}


ITEM = dict(
    PK="P#pa#I#i1", SK="ITEM", GSI1PK="P#pa#U#u1", GSI1SK="t#i1", entity="item", partnerId="pa",
    id="i1", userId="u1", name="n", info={}, version=2, createdAt="2026-11-29T00:00:00.000000Z",
    updatedAt="2026-11-29T00:00:01.000000Z",
)  # fmt: skip


def test_changes_map_to_typed_events_with_the_public_item_and_a_stable_id() -> None:
    created = webhook_events.envelope(_record("INSERT", None, _image(**ITEM)))
    assert created is not None
    assert created["partner"] == "pa" and created["group"] == "pa#i1" and created["webhookId"] == "msg_e1d2"
    event = created["event"]
    assert event["type"] == "item.created" and event["timestamp"] == ITEM["updatedAt"]
    assert event["data"]["id"] == "i1" and event["data"]["userId"] == "u1" and event["data"]["version"] == 2
    assert set(event["data"]["item"]) == {"id", "userId", "name", "info", "version", "createdAt", "updatedAt"}
    updated = webhook_events.envelope(_record("MODIFY", _image(**ITEM), _image(**{**ITEM, "version": 3})))
    assert updated and updated["event"]["type"] == "item.updated" and updated["event"]["data"]["version"] == 3
    deleted = webhook_events.envelope(_record("REMOVE", _image(**ITEM), None))
    assert deleted and deleted["event"]["type"] == "item.deleted"
    assert deleted["event"]["data"]["item"] is None and deleted["event"]["data"]["version"] == 2
    assert deleted["event"]["timestamp"] == "2025-11-30T00:00:00.000000Z"


def test_records_that_are_not_items_map_to_nothing() -> None:
    hook = _image(PK="P#pa#WEBHOOK", SK="WEBHOOK", entity="webhook", partnerId="pa", url="https://x")
    assert webhook_events.envelope(_record("INSERT", None, hook)) is None
    assert webhook_events.envelope(_record("INSERT", None, _image(PK="CANARY", entity="canary"))) is None
    with pytest.raises(ValueError, match="no partner"):
        webhook_events.envelope(_record("INSERT", None, _image(entity="item", id="x")))


def test_an_event_too_large_for_sqs_is_sent_without_its_item_never_dropped() -> None:
    big = {**ITEM, "name": "x" * (260 * 1024)}
    envelope = webhook_events.envelope(_record("INSERT", None, _image(**big)))
    assert envelope and envelope["event"]["data"]["item"] is None and envelope["event"]["data"]["itemOmitted"]
    assert len(webhook_events.encode(envelope)) < 256 * 1024


def test_the_twenty_line_verifier_in_the_api_docs_accepts_our_signatures_and_nothing_else() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", doc, re.S) if "def verify(" in block]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # our own documentation, run so that it cannot rot
    verify = namespace["verify"]
    secret, body = webhook_signing.new_secret(), b'{"type":"item.deleted"}'
    headers = webhook_signing.headers(secret, "msg_1", int(time.time()), body)
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(webhook_signing.new_secret(), headers, body)
    stale = webhook_signing.headers(secret, "msg_1", int(time.time()) - 600, body)
    assert not verify(secret, stale, body)
