"""apikit: the shared Lambda layer of the partner items API.

Each module has one job so that a handler imports only what it uses (cold start matters):
``http`` (events in, responses out), ``errors``, ``logs``, ``tracing``, ``clients``, ``codec``
(DynamoDB wire format), ``keys`` (single-table keys), ``validation`` (JSON Schema), ``items``
(single-item operations), ``idempotency``, ``cursor``, ``batch_items`` (the /batch routes),
``dynamodb_batch`` (DynamoDB batch and transaction calls within AWS's limits), ``retry``, and for
the audit stream ``audit`` (stream record -> audit event) and ``firehose`` (delivery).
"""
