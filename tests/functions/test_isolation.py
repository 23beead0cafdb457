"""Tenant isolation: partner B can neither read, list, update, delete nor batch partner A's items."""

from __future__ import annotations

import pytest

from tests.support.events import body_of


@pytest.fixture
def a_item(api):
    return body_of(api.create({"id": "shared-id", "userId": "u1", "name": "A's secret", "info": {"s": 1}}))


def test_get_is_404_like_absent(a_item, other):
    assert other.get("shared-id")["body"] == other.get("never-existed")["body"]
    assert other.get("shared-id")["statusCode"] == 404


def test_list_is_empty(a_item, other):
    assert body_of(other.list({"userId": "u1"})) == {"items": [], "nextCursor": None}


def test_patch_is_404_and_changes_nothing(api, a_item, other):
    assert other.patch("shared-id", {"name": "hijack"})["statusCode"] == 404
    assert other.patch("shared-id", {"name": "hijack"}, headers={"If-Match": "1"})["statusCode"] == 404
    assert body_of(api.get("shared-id")) == a_item


def test_delete_is_404_and_deletes_nothing(api, a_item, other):
    assert other.delete("shared-id")["statusCode"] == 404
    assert api.get("shared-id")["statusCode"] == 200


def test_same_id_can_exist_for_both_partners(api, a_item, other):
    resp = other.create({"id": "shared-id", "userId": "u1", "name": "B's own"})
    assert resp["statusCode"] == 201
    assert body_of(api.get("shared-id"))["name"] == "A's secret"
    assert body_of(other.get("shared-id"))["name"] == "B's own"


def test_batch_get_reports_missing(a_item, other):
    assert body_of(other.batch_get("shared-id")) == {"items": [], "missing": ["shared-id"]}


def test_batch_write_does_not_see_or_touch_a(api, a_item, other):
    resp = other.batch_write({"items": [{"id": "shared-id", "userId": "u1", "name": "B"}]})
    assert resp["statusCode"] == 201
    resp = other.batch_write({"items": [{"id": "shared-id", "userId": "u1", "name": "B2"}], "atomic": True})
    assert resp["statusCode"] == 409  # B's own item now exists
    assert body_of(api.get("shared-id"))["name"] == "A's secret"


def test_atomic_batch_of_b_is_not_blocked_by_a(a_item, other):
    resp = other.batch_write({"items": [{"id": "shared-id", "userId": "u1", "name": "B"}], "atomic": True})
    assert resp["statusCode"] == 201


def test_idempotency_records_do_not_cross(api, other):
    api.create({"userId": "u1", "name": "a"}, headers={"Idempotency-Key": "k"})
    assert other.create({"userId": "u1", "name": "b"}, headers={"Idempotency-Key": "k"})["statusCode"] == 201


@pytest.mark.parametrize("bad_partner", ["", "has#hash", "x" * 129, "with space"])
def test_unusable_api_key_ids_are_403(api, bad_partner):
    assert api.get("x", partner=bad_partner)["statusCode"] == 403
