"""Lambda's data plane: runs each function's deployed zip and layers in warm worker processes.

- ``runner``: ``Runner.invoke`` (name, ARN or qualified ARN), concurrency limits, timeouts, the
  public API the gateway and the stream pollers call.
- ``invocation``: ``InvokeResult`` and Lambda's error shapes for one invocation.
- ``deployment``: a function version as the control plane has it, and the CodeSha256-checked
  code cache.
- ``workers``: execution environments (worker processes, their environment, per-function pools).
- ``worker``: the in-process bootstrap each worker runs (by path, standard library only).
- ``interpreter``: the python3.12 venv functions run under; ``logs``: each function's log lines.
"""

from embedded_stack.lambda_runtime.deployment import CodeCache, RunnerError, split_function_ref
from embedded_stack.lambda_runtime.interpreter import DEFAULT_STATE_DIR, ensure_runtime
from embedded_stack.lambda_runtime.invocation import MAX_SYNC_PAYLOAD, InvokeResult
from embedded_stack.lambda_runtime.runner import Runner

__all__ = [
    "DEFAULT_STATE_DIR",
    "MAX_SYNC_PAYLOAD",
    "CodeCache",
    "InvokeResult",
    "Runner",
    "RunnerError",
    "ensure_runtime",
    "split_function_ref",
]
