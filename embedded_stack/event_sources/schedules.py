"""EventBridge scheduled rules: run each enabled rule's Lambda targets on its schedule, as EventBridge does.

Rules and targets are read from the control plane (moto's events backend, filled by Terraform) every
few seconds, like the stream mappings. ``rate(...)`` rules start when they are first seen (AWS: "a
rate expression starts when you create the scheduled event rule") and run every period after;
``cron(...)`` rules run at each occurrence of EventBridge's six-field cron (UTC, via pyawscron). A
rule whose expression AWS would refuse (``rate(5 minute)``, a bad cron) never runs and is logged:
moto accepts what PutRule on AWS rejects.

Each run sends EventBridge's ``Scheduled Event`` (or the target's constant ``Input``) to the target
asynchronously, as EventBridge invokes Lambda: the invocation is retried per the function's event
invoke config (``MaximumRetryAttempts``, default 2, with Lambda's one- and two-minute waits) when
the function fails, retried with backoff while Lambda throttles or cannot run it (up to
``MaximumEventAgeInSeconds``), and then handed to the config's on-failure destination (the async
invocation record) or the function's dead-letter queue (the event).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from embedded_stack.lambda_runtime import InvokeResult

log = logging.getLogger("embedded.schedules")

REFRESH_INTERVAL_S = 2.0
TICK_S = 0.5
RETRY_DELAYS_S = (60.0, 120.0)  # Lambda's waits before the first and second retry of an async event
THROTTLE_BACKOFF_MAX_S = 60.0
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}

Invoke = Callable[..., InvokeResult]


class ScheduleError(ValueError):
    """A schedule expression EventBridge would refuse."""


@dataclass(frozen=True)
class Schedule:
    """A parsed ``rate(...)`` or ``cron(...)`` expression."""

    expression: str
    period_s: float | None = None  # rate
    cron: Any = None  # pyawscron.AWSCron

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        rate = _RATE.match(expression)
        if rate:
            value, unit = int(rate.group(1)), rate.group(2)
            if value < 1 or (value == 1) != (not unit.endswith("s")):
                raise ScheduleError(f"{expression}: 1 takes a singular unit, more than 1 a plural one")
            return cls(expression, period_s=float(value * _UNIT_S[unit.rstrip("s")]))
        if expression.startswith("cron(") and expression.endswith(")"):
            from pyawscron import AWSCron

            try:
                return cls(expression, cron=AWSCron(expression[5:-1]))
            except Exception as exc:  # pyawscron raises plain Exceptions for bad fields
                raise ScheduleError(f"{expression}: {exc}") from exc
        raise ScheduleError(f"{expression}: neither rate(value unit) nor cron(fields)")

    def first_run(self, seen_at: float) -> float:
        return seen_at if self.period_s is not None else self.next_run(seen_at)

    def next_run(self, after: float) -> float:
        if self.period_s is not None:
            return after + self.period_s
        moment = datetime.fromtimestamp(after, UTC)
        return float(self.cron.occurrence(moment).next().timestamp())


@dataclass
class _Rule:
    name: str
    arn: str
    schedule: Schedule
    targets: list[dict[str, Any]]
    due: float


class ScheduledRules:
    """Keeps the schedule of every enabled rule of the default bus and runs them when due."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        invoke: Invoke,
        *,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        def make(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
                config=Config(retries={"mode": "standard"}),
            )

        self._events, self._lambda, self._sqs, self._sns = (
            make(s) for s in ("events", "lambda", "sqs", "sns")
        )
        self._region = region
        self._invoke = invoke
        self._refresh = refresh_interval_s
        self._retry_delays = retry_delays_s
        self._clock = clock
        self._rules: dict[str, _Rule] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._runs: list[threading.Thread] = []
        self._refused: set[str] = set()
        self.invocations: list[tuple[str, InvokeResult]] = []  # (rule, final result), for tests and logs

    # -- the control plane ------------------------------------------------------------------

    def sync(self) -> None:
        """Read the enabled scheduled rules and their targets; new or changed rules start afresh."""
        now = self._clock()
        found: dict[str, tuple[str, str, list[dict[str, Any]]]] = {}
        for page in _pages(self._events.list_rules, "Rules"):
            expression = page.get("ScheduleExpression")
            if not expression or page.get("State") != "ENABLED":
                continue
            targets = self._events.list_targets_by_rule(Rule=page["Name"]).get("Targets", [])
            found[page["Name"]] = (expression, page["Arn"], targets)
        with self._lock:
            for name in set(self._rules) - set(found):
                del self._rules[name]
            for name, (expression, arn, targets) in found.items():
                current = self._rules.get(name)
                if current is not None and current.schedule.expression == expression:
                    current.targets = targets
                    continue
                try:
                    schedule = Schedule.parse(expression)
                except ScheduleError as exc:
                    if name not in self._refused:
                        self._refused.add(name)
                        log.error("rule %s never runs: %s (PutRule on AWS refuses it)", name, exc)
                    self._rules.pop(name, None)
                    continue
                self._rules[name] = _Rule(name, arn, schedule, targets, schedule.first_run(now))

    def rules(self) -> dict[str, str]:
        """Rule name -> schedule expression, of the rules that run."""
        with self._lock:
            return {name: rule.schedule.expression for name, rule in self._rules.items()}

    # -- running ----------------------------------------------------------------------------

    def start(self) -> ScheduledRules:
        self.sync()
        self._thread = threading.Thread(target=self._loop, name="scheduled-rules", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        last_sync = self._clock()
        while not self._stop.wait(TICK_S):
            if self._clock() - last_sync >= self._refresh:
                try:
                    self.sync()
                except Exception:
                    log.exception("could not refresh scheduled rules")
                last_sync = self._clock()
            now = self._clock()
            with self._lock:
                due = [rule for rule in self._rules.values() if rule.due <= now]
                for rule in due:
                    rule.due = rule.schedule.next_run(max(rule.due, now - 1))
            for rule in due:
                self.fire(rule.name, wait=False)

    def fire(self, rule_name: str, *, wait: bool = True) -> None:
        """Run a rule's targets now, as its schedule would (``wait``: until every invocation ended)."""
        with self._lock:
            rule = self._rules.get(rule_name)
        if rule is None:
            raise KeyError(f"no enabled scheduled rule {rule_name!r}")
        event = self._scheduled_event(rule)
        runs = []
        for target in rule.targets:
            if ":lambda:" not in target.get("Arn", ""):
                log.warning(
                    "rule %s: target %s is not a Lambda function; skipped", rule.name, target.get("Arn")
                )
                continue
            payload = json.loads(target["Input"]) if "Input" in target else event
            run = threading.Thread(
                target=self._invoke_async, args=(rule.name, target["Arn"], payload), daemon=True
            )
            run.start()
            runs.append(run)
        with self._lock:
            self._runs = [r for r in self._runs if r.is_alive()] + runs
        if wait:
            for run in runs:
                run.join()

    def _scheduled_event(self, rule: _Rule) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule.arn.split(":")[4],
            "time": datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [rule.arn],
            "detail": {},
        }

    def _invoke_async(self, rule: str, function_arn: str, payload: Any) -> None:
        """One asynchronous invocation with Lambda's retries, then its failure destination."""
        config = self._invoke_config(function_arn)
        retries = int(config.get("MaximumRetryAttempts", 2))
        max_age = float(config.get("MaximumEventAgeInSeconds", 21600))
        started, attempts, throttled = self._clock(), 0, 0
        result: InvokeResult | None = None
        while not self._stop.is_set():
            result = self._invoke(function_arn, None, payload)
            if result.status == "ok" and result.function_error is None:
                break
            if result.function_error is None:  # throttled or never ran: retried until the event expires
                throttled += 1
                if self._clock() - started >= max_age:
                    break
                self._stop.wait(min(2.0**throttled, THROTTLE_BACKOFF_MAX_S))
                continue
            attempts += 1
            if attempts > retries:
                break
            self._stop.wait(self._retry_delays[min(attempts, len(self._retry_delays)) - 1])
        if result is None:
            return
        with self._lock:
            self.invocations.append((rule, result))
        if result.status != "ok" or result.function_error is not None:
            self._give_up(function_arn, payload, result, attempts + throttled, config)

    def _invoke_config(self, function_arn: str) -> dict[str, Any]:
        name, _, qualifier = function_arn.partition(":function:")[2].partition(":")
        try:
            kwargs = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
            return self._lambda.get_function_event_invoke_config(**kwargs)
        except ClientError:
            return {}

    def _give_up(
        self, function_arn: str, payload: Any, result: InvokeResult, invokes: int, config: dict[str, Any]
    ) -> None:
        on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        log.warning("%s: scheduled event failed after %d attempt(s)", function_arn, invokes)
        if on_failure:
            record = {
                "version": "1.0",
                "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "requestContext": {
                    "requestId": result.request_id,
                    "functionArn": function_arn,
                    "condition": "RetriesExhausted" if result.function_error else "EventAgeExceeded",
                    "approximateInvokeCount": invokes,
                },
                "requestPayload": payload,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"}
                | ({"functionError": result.function_error} if result.function_error else {}),
                "responsePayload": result.payload,
            }
            self._send(on_failure, json.dumps(record))
            return
        name = function_arn.partition(":function:")[2].split(":")[0]
        dlq = (self._lambda.get_function_configuration(FunctionName=name).get("DeadLetterConfig") or {}).get(
            "TargetArn"
        )
        if dlq:
            self._send(dlq, json.dumps(payload))

    def _send(self, arn: str, body: str) -> None:
        service, account, name = arn.split(":")[2], arn.split(":")[4], arn.split(":")[5]
        try:
            if service == "sqs":
                url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                self._sqs.send_message(QueueUrl=url, MessageBody=body)
            elif service == "sns":
                self._sns.publish(TopicArn=arn, Message=body)
            else:
                log.error("async failure destination %s is not supported here (SQS and SNS are)", arn)
        except ClientError:
            log.exception("could not deliver a failed scheduled event to %s", arn)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        with self._lock:
            runs = list(self._runs)
        for run in runs:
            run.join(timeout=timeout_s)


def _pages(call: Callable[..., dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Every item of a NextToken-paginated list call."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = call(**kwargs)
        items.extend(page.get(key, []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token
