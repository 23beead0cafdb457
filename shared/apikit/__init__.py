"""apikit: the shared Lambda layer of the partner items API.

Each module has one job so that a handler imports only what it uses (cold start matters):
``http`` (events in, responses out), ``errors``, ``logs``, ``tracing``, ``clients``, ``codec``
(DynamoDB wire format), ``keys`` (single-table keys), ``validation`` (JSON Schema), ``items``
(the repository), ``idempotency``, ``cursor``, ``batch`` and ``retry``.
"""
