"""The soak: the embedded stack under sustained mixed load while faults are injected, then reconciled.

    python -m benchmarks.soak                      # `make soak`: starts its own stack on loopback
    python -m benchmarks.soak --requests 1500 --duration 30
    python -m benchmarks.soak --stack-json .local/stack.json --faults-file .local/faults.json

Many concurrent clients of several partners (each request with one of its partner's read-write keys:
the partner, not the key, owns the data) create items (with and without ``Idempotency-Key``), patch
them with ``If-Match``, delete them, write batches (some racing a create of the same id), read them
back and probe other partners' data, while the fault plan (``plan``) takes the stack through a
Firehose outage, DynamoDB throttling, a Lambda worker killed mid-batch and a stream poller crash, one
after the other, through the stack's fault spec file. Afterwards ``reconcile`` checks, from the table,
the stream and the audit log (replaying the batches parked in the failure bucket with
scripts/audit_replay.py when it holds any): every acknowledged write is in the table at its final
version and nothing unacknowledged appeared; no id was acknowledged as created twice (a batch never
writes over an item); every POST /batch answer says exactly what it wrote (201/207/503 and
``failed``); every change is in the audit log exactly once after dedupe; no 5xx the faults do not
explain; no partner saw another's data. It prints those figures and the request rate, and exits 1 on
any violation. The checks and what they found: docs/operations.md#soak-with-faults.

- ``stack``: the stack `make soak` starts in a child process; ``target``: the stack under test (that
  one, or one already running) and its AWS names;
- ``ledger``: what every request sent and got back, and what each write should have left behind;
- ``workload``: the clients; ``plan``: the fault phases; ``reconcile``: the checks and the report.
"""
