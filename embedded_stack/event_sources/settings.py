"""An event source mapping's settings, as the control plane reports them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MappingSettings:
    """The deployed mapping, as list_event_source_mappings reports it."""

    uuid: str
    function_arn: str
    stream_arn: str
    batch_size: int
    batching_window_s: float
    starting_position: str
    bisect: bool
    max_retries: int  # -1 = until the record expires
    max_record_age_s: int  # -1 = until the record expires
    report_item_failures: bool
    on_failure: str | None

    @classmethod
    def from_api(cls, m: dict[str, Any]) -> MappingSettings:
        def _int(key: str, default: int) -> int:
            value = m.get(key)
            return default if value is None else int(value)

        return cls(
            uuid=m["UUID"],
            function_arn=m["FunctionArn"],
            stream_arn=m["EventSourceArn"],
            batch_size=_int("BatchSize", 100),
            batching_window_s=float(m.get("MaximumBatchingWindowInSeconds") or 0),
            starting_position=m.get("StartingPosition") or "LATEST",
            bisect=bool(m.get("BisectBatchOnFunctionError")),
            max_retries=_int("MaximumRetryAttempts", -1),
            max_record_age_s=_int("MaximumRecordAgeInSeconds", -1),
            report_item_failures="ReportBatchItemFailures" in (m.get("FunctionResponseTypes") or []),
            on_failure=((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
        )


def is_dynamodb_stream(arn: str) -> bool:
    return arn.startswith("arn:") and ":dynamodb:" in arn and "/stream/" in arn
