"""Over processes: EventBridge scheduled rules from moto's control plane invoke real functions in
worker processes, asynchronously, with Lambda's retries and failure destinations."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from embedded_stack.event_sources import ScheduledRules
from embedded_stack.event_sources.schedules import Schedule, ScheduleError

_names = itertools.count()

# Appends each event it receives to $OUT; raises when $FAIL is set.
RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as f:
        f.write(json.dumps(event) + "\\n")
    if os.environ.get("FAIL"):
        raise RuntimeError("scheduled job failed")
    return {"ok": True}
"""


class Clock:
    """A wall clock the test moves forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _events(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def _until(check, deadline_s: float = 30.0):
    end = time.monotonic() + deadline_s
    while not (result := check()):
        assert time.monotonic() < end, "not in time"
        time.sleep(0.05)
    return result


@pytest.fixture
def rule(aws):
    """Create a scheduled rule with one Lambda target; every rule is removed afterwards."""
    events = aws("events")
    made: list[str] = []

    def _rule(function: str, expression: str, **target) -> tuple[str, str]:
        name = f"schedule-{next(_names)}"
        arn = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
        function_arn = aws("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": function_arn, **target}])
        made.append(name)
        return name, arn

    yield _rule
    for name in made:
        events.remove_targets(Rule=name, Ids=["fn"])
        events.delete_rule(Name=name)


@pytest.fixture
def schedules(moto_server, runner):
    started: list[ScheduledRules] = []

    def _start(**kwargs) -> ScheduledRules:
        s = ScheduledRules(moto_server.endpoint_url, "eu-west-1", runner.invoke, **kwargs)
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


@pytest.mark.parametrize(
    "expression",
    ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "every 5 minutes", "cron(0 12 * * *)"],
)
def test_expressions_eventbridge_refuses_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError):
        Schedule.parse(expression)


def test_rate_starts_when_seen_and_cron_at_its_next_occurrence() -> None:
    seen = datetime(2026, 11, 25, 12, 7, 30, tzinfo=UTC).timestamp()
    rate = Schedule.parse("rate(5 minutes)")
    assert (rate.first_run(seen), rate.next_run(seen)) == (seen, seen + 300)
    cron = Schedule.parse("cron(0/15 * * * ? *)")
    assert datetime.fromtimestamp(cron.first_run(seen), UTC) == datetime(2026, 11, 25, 12, 15, tzinfo=UTC)
    weekday_noon = Schedule.parse("cron(0 12 ? * MON-FRI *)")  # 2026-11-28 is a Saturday
    saturday = datetime(2026, 11, 28, 13, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(weekday_noon.next_run(saturday), UTC) == datetime(
        2026, 11, 30, 12, tzinfo=UTC
    )


def test_a_rate_rule_runs_its_function_with_a_scheduled_event_on_its_schedule(
    deploy, rule, schedules, tmp_path
):
    out = tmp_path / "events.jsonl"
    function = deploy({"handler.py": RECORDER}, env={"OUT": str(out)})
    name, arn = rule(function, "rate(1 minute)")
    clock = Clock()
    s = schedules(clock=clock, refresh_interval_s=0.2).start()
    assert s.rules()[name] == "rate(1 minute)"
    first = _until(lambda: _events(out))  # a rate rule starts when it is created (seen)
    assert len(first) == 1
    event = first[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [arn] and event["detail"] == {} and event["region"] == "eu-west-1"
    assert event["time"].endswith("Z") and event["account"] == arn.split(":")[4]
    time.sleep(1.0)
    assert len(_events(out)) == 1  # not again before a minute has passed
    clock.now += 61
    _until(lambda: len(_events(out)) == 2)


def test_a_target_input_replaces_the_event_and_a_disabled_rule_stops(aws, deploy, rule, schedules, tmp_path):
    out = tmp_path / "events.jsonl"
    function = deploy({"handler.py": RECORDER}, env={"OUT": str(out)})
    name, _ = rule(function, "cron(0 0 1 1 ? 2099)", Input=json.dumps({"constant": 1}))
    s = schedules().start()
    s.fire(name)
    assert _events(out) == [{"constant": 1}]
    aws("events").disable_rule(Name=name)
    s.sync()
    assert name not in s.rules()


def test_a_failing_scheduled_invocation_is_retried_twice_then_sent_to_its_destination(
    aws, deploy, rule, schedules, tmp_path
):
    out = tmp_path / "events.jsonl"
    function = deploy({"handler.py": RECORDER}, env={"OUT": str(out), "FAIL": "1"}, alias="live")
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName=f"scheduled-failures-{next(_names)}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws("lambda").put_function_event_invoke_config(
        FunctionName=function,
        Qualifier="live",
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    events = aws("events")
    name = f"schedule-{next(_names)}"
    events.put_rule(Name=name, ScheduleExpression="rate(1 day)")
    alias_arn = aws("lambda").get_alias(FunctionName=function, Name="live")["AliasArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": alias_arn}])
    try:
        s = schedules(retry_delays_s=(0.05, 0.05))
        s.sync()
        s.fire(name)
        assert len(_events(out)) == 3  # the first attempt and Lambda's two retries
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
        record = json.loads(messages[0]["Body"])
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 3
        assert record["requestContext"]["functionArn"] == alias_arn
        assert record["requestPayload"]["resources"][0].endswith(f":rule/{name}")
        assert record["responseContext"]["functionError"] == "Unhandled"
    finally:
        events.remove_targets(Rule=name, Ids=["fn"])
        events.delete_rule(Name=name)


def test_a_rule_eventbridge_would_refuse_never_runs(aws, deploy, rule, schedules, tmp_path):
    out = tmp_path / "events.jsonl"
    function = deploy({"handler.py": RECORDER}, env={"OUT": str(out)})
    name, _ = rule(function, "rate(5 minute)")  # moto accepts it; PutRule on AWS does not
    s = schedules()
    s.sync()
    assert name not in s.rules()
    with pytest.raises(KeyError):
        s.fire(name)
