"""One measured Lambda container: runs under `python -I -S`, imports only what its spec's sys.path holds.

The benchmark process writes a JSON spec on stdin; the worker imports the handler module by name from
its task root (as the Lambda runtime does), optionally invokes it, and writes its measurements as JSON
to `result_path` (stdout belongs to the handler's logs, as in Lambda).
"""

import json
import sys
import time
import uuid
from typing import Any


class Context:
    """The attributes of Lambda's context object that handlers read."""

    def __init__(self, function_name: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = "1"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/11/25/[1]bench"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the (simulated) timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _ms(start_ns: int) -> float:
    return (time.perf_counter_ns() - start_ns) / 1e6


def _invoke(module: Any, spec: dict[str, Any], event: dict[str, Any]) -> tuple[float, int]:
    context = Context(spec["function_name"], spec.get("timeout_s", 29.0))
    if isinstance(event.get("requestContext"), dict):  # received now, as API Gateway stamps each request
        event["requestContext"]["requestTimeEpoch"] = int(time.time() * 1000)
    start = time.perf_counter_ns()
    response = module.handler(event, context)
    elapsed = _ms(start)
    return elapsed, int(response.get("statusCode", 0)) if isinstance(response, dict) else 0


WRITES = ("PutItem", "BatchWriteItem", "TransactWriteItems", "UpdateItem", "DeleteItem")


def _count_calls() -> dict[str, Any]:
    """Count DynamoDB API calls and HTTP attempts of every client created from now on, and keep what
    each write call sent (its write capacity is computed from the items, benchmarks/capacity.py)."""
    import botocore.client  # noqa: PLC0415 - only after sys.path points at the runtime

    counts: dict[str, Any] = {"calls": {}, "attempts": {}, "writes": []}
    original = botocore.client.ClientCreator.create_client

    def record(kind: str) -> Any:
        def hook(event_name: str, **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            counts[kind][operation] = counts[kind].get(operation, 0) + 1

        return hook

    def keep_write(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WRITES:  # the JSON body as sent: wire format, whatever SDK layer built it
            counts["writes"].append({"op": model.name, "params": json.loads(params["body"])})

    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-call.dynamodb", record("calls"))
        client.meta.events.register("before-send.dynamodb", record("attempts"))
        client.meta.events.register("before-call.dynamodb", keep_write)
        return client

    botocore.client.ClientCreator.create_client = create_client
    return counts


def _create_lazy_clients(services: list[str]) -> float:
    """Create the clients our layer would create on first use, so init is compared with clients ready.

    Baselines create theirs at import; our layer (apikit.clients) creates them lazily, which moves that
    cost into the first invocation. Zero when the handler does not use apikit.clients.
    """
    clients = sys.modules.get("apikit.clients")
    if clients is None or not services:
        return 0.0
    start = time.perf_counter_ns()
    for service in services:
        clients.client(service)
    return _ms(start)


def _bare_get_item(spec: dict[str, Any]) -> dict[str, Any]:
    import boto3  # noqa: PLC0415 - only after sys.path points at the runtime

    client = boto3.client("dynamodb")
    bare = spec["bare"]
    times = []
    for i in range(spec["warmup"] + spec["iterations"]):
        start = time.perf_counter_ns()
        found = client.get_item(TableName=bare["table"], Key=bare["key"])
        elapsed = _ms(start)
        if "Item" not in found:
            raise RuntimeError("bare get_item found no item: the benchmark's fixture is broken")
        if i >= spec["warmup"]:
            times.append(elapsed)
    return {"times_ms": times}


def main() -> None:
    """Run one spec and write its result."""
    spec = json.loads(sys.stdin.read())
    sys.path[:] = spec["sys_path"] + [p for p in sys.path if p not in spec["sys_path"]]
    for name in spec.get("prelude", []):
        __import__(name)  # the import statement's path, so `-X importtime` reports it
    mode = spec["mode"]
    result: dict[str, Any] = {"mode": mode}
    if mode == "bare":
        result.update(_bare_get_item(spec))
    else:
        counts = _count_calls() if mode == "calls" else None
        modules_before = len(sys.modules)
        start, cpu_start = time.perf_counter_ns(), time.process_time_ns()
        __import__(spec["module"])
        module = sys.modules[spec["module"]]
        result["init_ms"] = _ms(start)
        result["init_cpu_ms"] = (time.process_time_ns() - cpu_start) / 1e6
        result["modules_imported"] = len(sys.modules) - modules_before
        if mode == "cold":
            result["clients_ms"] = _create_lazy_clients(spec.get("services", []))
        if mode in ("first", "calls"):
            if counts is not None:
                for bucket in counts.values():
                    bucket.clear()  # count the requests' calls, not init's
            invocations = [_invoke(module, spec, event) for event in spec["events"]]
            result["first_ms"] = invocations[0][0]
            result["invoke_ms"] = [t for t, _ in invocations]
            result["statuses"] = [s for _, s in invocations]
            if counts is not None:
                result["dynamodb"] = counts
        elif mode == "warm":
            event = spec["events"][0]
            runs = [_invoke(module, spec, event) for _ in range(spec["warmup"] + spec["iterations"])]
            result["times_ms"] = [t for t, _ in runs[spec["warmup"] :]]
            result["statuses"] = sorted({s for _, s in runs})
    with open(spec["result_path"], "w", encoding="utf-8") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
