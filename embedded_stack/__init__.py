"""The embedded stack: the whole backend on 127.0.0.1 without Docker, from what Terraform deployed.

One subpackage for each part of AWS it stands in for (each ``__init__`` lists its modules):

- ``moto_server``: the control plane. moto's server in our process (``server``), patched where we
  rely on it (``patches``: moto must not consume DynamoDB streams; function and layer zips are
  downloadable), plus Firehose fault injection for the failure tests (``faults``).
- ``lambda_runtime``: Lambda's data plane. ``runner.Runner`` runs each function's deployed zip
  (``deployment``: checked against CodeSha256) and layers in warm worker processes (``workers``,
  ``worker``) under python3.12 (``interpreter``), with the function's environment only, reserved
  concurrency, timeouts and Lambda's error shapes (``invocation``); ``logs`` keeps each function's lines.
- ``event_sources``: Lambda's pollers for DynamoDB stream event source mappings
  (``dynamodb_streams``, ``shard_poller``, ``records``, ``settings``, ``clients``).
- ``apigateway``: API Gateway REST's data plane (``server``, ``pipeline``: keys, usage plans,
  validators, MOCK integrations; ``events``: the one builder of Lambda proxy events).
- ``stack`` / ``__main__``: `make run`, i.e. ``python -m embedded_stack [--ready-file PATH]
  [--no-reload]``; ``start_stack()`` for tests and benchmarks; ``stack_info``: the `.local/stack.json`
  document and the banner.
- ``reload``: the hot reload of `make run` (a saved file deployed as a deploy would, checked first);
  ``tail``: `make logs FN=<function>`.

Environment: EMBEDDED_API_PORT (8080; 0 = free port), EMBEDDED_AWS_PORT (4566 when free),
EMBEDDED_STATE_DIR (per-run state, default .local), LAMBDA_PYTHON (the runtime interpreter),
EMBEDDED_LAMBDA_CONCURRENCY (cap for functions without reserved concurrency, default 10),
EMBEDDED_LAMBDA_IDLE_S (idle workers are stopped after this, default 300).
"""
