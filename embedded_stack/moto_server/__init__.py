"""The AWS control plane: moto's server in our process, its patches, and fault injection.

- ``server``: ``start_moto()``, moto on 127.0.0.1 with the patches and fault injection installed.
- ``patches``: where moto must behave as AWS does for us (stream records left to our pollers,
  deployed code downloadable, Deny conditions, closed to browsers), with ``dynamodb_patches``
  (DynamoDB as safe under concurrency as DynamoDB); each patch fails loudly (``internals``) when the
  moto internals it replaces change.
- ``faults``: failures switched on by a file (Firehose, DynamoDB throttling in ``dynamodb_faults``,
  killed Lambda workers, crashed stream pollers), for the failure tests and the soak.
- ``transactions``: TransactWriteItems checking every condition before it writes (no table copies).
- ``usage``: GetUsage, which moto lacks, answered from the embedded gateway's counters.
"""

from embedded_stack.moto_server.server import MotoServer, port_from_env, port_is_free, start_moto

__all__ = ["MotoServer", "port_from_env", "port_is_free", "start_moto"]
