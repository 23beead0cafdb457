"""Usage plans at request time: the key a request presents, then its plan's throttle and quota.

The key comes from where the API's ``apiKeySource`` says: the ``x-api-key`` header (HEADER) or
the Lambda authorizer's ``usageIdentifierKey`` (AUTHORIZER). Either way it must be a known,
enabled key in a usage plan of this stage, or the answer is 403 ``Forbidden``: an in-memory lookup
in the snapshot, which the gateway re-reads every couple of seconds (a disabled key stops working
without a deploy). GetUsage reads the same counters (``usage``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.controlplane import ApiKey, Method, Plan, Snapshot
from embedded_stack.apigateway.limits import BucketRegistry, Quota, QuotaCounter, Throttle


class UsagePlans:
    """Key checks and limits; the buckets and counters outlive configuration reloads."""

    def __init__(self, buckets: BucketRegistry, quotas: QuotaCounter) -> None:
        self.buckets = buckets
        self.quotas = quotas

    @staticmethod
    def authenticate(snapshot: Snapshot, value: str | None) -> tuple[ApiKey, Plan]:
        """A known, enabled key in a usage plan of this stage, or 403 Forbidden."""
        key = snapshot.keys_by_value.get(value) if value else None
        plan = snapshot.plans_by_key.get(key.id) if key is not None and key.enabled else None
        if key is None or plan is None:
            raise r.Rejected(r.INVALID_API_KEY)
        return key, plan

    def limit(self, snapshot: Snapshot, method: Method, key: ApiKey | None, plan: Plan | None) -> None:
        """Usage-plan throttle, then stage method throttle, then the plan's quota (AWS's order)."""
        method_key = f"{method.resource_path}/{method.http_method}"
        if key is not None and plan is not None:
            throttle = plan.method_throttles.get(method_key) or plan.throttle
            scope = method_key if method_key in plan.method_throttles else "*"
            if throttle is not None and not self.buckets.try_acquire(
                ("plan", plan.id, key.id, scope), throttle
            ):
                raise r.Rejected(r.THROTTLED)
        stage_throttle: Throttle | None = snapshot.method_throttles.get(method_key)
        stage_scope = method_key
        if stage_throttle is None:
            stage_throttle, stage_scope = snapshot.method_throttles.get("*/*"), "*/*"
        if stage_throttle is not None and not self.buckets.try_acquire(
            ("stage", snapshot.api_id, snapshot.stage, stage_scope), stage_throttle
        ):
            raise r.Rejected(r.THROTTLED)
        if key is not None and plan is not None and not self.quotas.try_consume(plan.id, key.id, plan.quota):
            raise r.Rejected(r.QUOTA_EXCEEDED)

    def usage(
        self, plan_id: str, quota: dict[str, Any] | None, key_ids: list[str], start: date, end: date
    ) -> dict[str, list[list[int]]]:
        """GetUsage's ``items`` from this gateway's counters: keys with requests counted in the range.

        ``quota`` is the plan's QuotaSettings as the control plane has it now (limit, period, offset).
        """
        settings = (
            Quota(limit=int(quota["limit"]), period=str(quota["period"]), offset=int(quota.get("offset", 0)))
            if quota and "limit" in quota and "period" in quota
            else None
        )
        items: dict[str, list[list[int]]] = {}
        for key_id in key_ids:
            days = self.quotas.daily_usage(plan_id, key_id, settings, start, end)
            if days is not None:
                items[key_id] = [[used, remaining] for used, remaining in days]
        return items
