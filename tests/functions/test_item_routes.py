"""GET, PATCH and DELETE /items/{id}: found/absent, optimistic locking, ETags, bad ids."""

from __future__ import annotations

import threading

import pytest

from tests.support.events import body_of


@pytest.fixture
def item(api):
    return body_of(api.create({"id": "it-1", "userId": "u1", "name": "before", "info": {"a": 1}}))


def test_get_found_and_absent(api, item):
    resp = api.get("it-1")
    assert resp["statusCode"] == 200 and body_of(resp) == item and resp["headers"]["ETag"] == '"1"'
    resp = api.get("nope")
    assert resp["statusCode"] == 404 and body_of(resp) == {"message": "item not found"}


@pytest.mark.parametrize("bad", ["has space", "x" * 65, "", "a#b", "ü", "x\n"])
def test_bad_ids_are_400_on_every_item_route(api, bad):
    for resp in (api.get(bad), api.delete(bad), api.patch(bad, {"name": "x"})):
        assert resp["statusCode"] == 400
        assert body_of(resp)["errors"][0]["field"] == "id"


def test_patch_updates_only_given_fields_and_bumps_version(api, item):
    resp = api.patch("it-1", {"name": "after"})
    assert resp["statusCode"] == 200
    updated = body_of(resp)
    assert updated["name"] == "after" and updated["info"] == {"a": 1}
    assert updated["version"] == 2 and resp["headers"]["ETag"] == '"2"'
    assert updated["createdAt"] == item["createdAt"] and updated["updatedAt"] > item["updatedAt"]
    assert body_of(api.patch("it-1", {"info": {"b": [1, None]}}))["info"] == {"b": [1, None]}
    assert body_of(api.get("it-1"))["version"] == 3


@pytest.mark.parametrize("if_match", ["1", '"1"', "*"])
def test_patch_with_matching_if_match(api, item, if_match):
    resp = api.patch("it-1", {"name": "x"}, headers={"If-Match": if_match})
    assert resp["statusCode"] == 200 and body_of(resp)["version"] == 2


def test_patch_with_stale_if_match_is_412_and_changes_nothing(api, item):
    api.patch("it-1", {"name": "second"})
    resp = api.patch("it-1", {"name": "lost"}, headers={"If-Match": '"1"'})
    assert resp["statusCode"] == 412
    assert body_of(api.get("it-1"))["name"] == "second"


def test_patch_absent_item_is_404_with_or_without_if_match(api):
    assert api.patch("ghost", {"name": "x"})["statusCode"] == 404
    assert api.patch("ghost", {"name": "x"}, headers={"If-Match": "1"})["statusCode"] == 404
    assert api.get("ghost")["statusCode"] == 404  # an update never creates


@pytest.mark.parametrize("if_match", ["abc", 'W/"1"', "-1", "1.5", '"1'])
def test_patch_with_malformed_if_match_is_400(api, item, if_match):
    resp = api.patch("it-1", {"name": "x"}, headers={"If-Match": if_match})
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "If-Match"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({}, "body", "must not be empty"),
        ({"userId": "u2"}, "userId", "unknown field"),
        ({"id": "other"}, "id", "unknown field"),
        ({"version": 7}, "version", "unknown field"),
        ({"name": ""}, "name", "must be at least 1 characters"),
        ({"name": "x" * 257}, "name", "must be at most 256 characters"),
        ({"info": "str"}, "info", "must be of type object"),
    ],
)
def test_patch_accepts_only_mutable_fields(api, item, body, field, reason):
    resp = api.patch("it-1", body)
    assert resp["statusCode"] == 400
    assert {"field": field, "reason": reason} in body_of(resp)["errors"]
    assert body_of(api.get("it-1"))["version"] == 1


def test_patch_needs_json_content_type(api, item):
    assert api.patch("it-1", {"name": "x"}, content_type="text/plain")["statusCode"] == 415


def test_patch_info_limit(api, item):
    resp = api.patch("it-1", {"info": {"p": "x" * (32 * 1024)}})
    assert resp["statusCode"] == 413


def test_delete_then_absent(api, item):
    resp = api.delete("it-1")
    assert resp["statusCode"] == 204 and resp["body"] == ""
    assert api.get("it-1")["statusCode"] == 404
    assert api.delete("it-1")["statusCode"] == 404


def test_racing_patches_with_same_if_match_exactly_one_wins(api, item):
    """Real threads, one If-Match: DynamoDB (and moto, serialized like DynamoDB) lets one through."""
    from embedded_stack.moto_server.patches import serialize_dynamodb_writes

    serialize_dynamodb_writes()
    workers = 8
    barrier = threading.Barrier(workers)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        barrier.wait()
        resp = api.patch("it-1", {"name": f"writer-{n}"}, headers={"If-Match": '"1"'})
        with lock:
            results.append((resp["statusCode"], f"writer-{n}"))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [412] * (workers - 1)
    winner = next(name for s, name in results if s == 200)
    final = body_of(api.get("it-1"))
    assert final["version"] == 2 and final["name"] == winner


def test_concurrent_unconditional_patches_lose_no_version(api, item):
    from embedded_stack.moto_server.patches import serialize_dynamodb_writes

    serialize_dynamodb_writes()
    threads = [threading.Thread(target=api.patch, args=("it-1", {"name": f"n{n}"})) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert body_of(api.get("it-1"))["version"] == 7


def test_412_and_404_without_old_image_fall_back_to_one_read(api, item):
    """Where DynamoDB does not return ALL_OLD (older emulators), one consistent read decides."""
    from apikit import clients

    ddb = clients.client("dynamodb")
    reads = []

    def strip_old_image(parsed, **kwargs):
        parsed.pop("Item", None)

    def count_reads(params, **kwargs):
        reads.append(params)

    ddb.meta.events.register("after-call.dynamodb.UpdateItem", strip_old_image)
    ddb.meta.events.register("provide-client-params.dynamodb.GetItem", count_reads)
    try:
        api.patch("it-1", {"name": "v2"})
        assert not reads
        assert api.patch("it-1", {"name": "x"}, headers={"If-Match": "1"})["statusCode"] == 412
        assert api.patch("ghost", {"name": "x"}, headers={"If-Match": "1"})["statusCode"] == 404
        assert api.patch("ghost", {"name": "x"})["statusCode"] == 404
    finally:
        ddb.meta.events.unregister("after-call.dynamodb.UpdateItem", strip_old_image)
        ddb.meta.events.unregister("provide-client-params.dynamodb.GetItem", count_reads)
    assert len(reads) == 2 and all(r["ConsistentRead"] for r in reads)
