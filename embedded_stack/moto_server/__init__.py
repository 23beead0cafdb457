"""The AWS control plane: moto's server in our process, its patches, and fault injection.

- ``server``: ``start_moto()``, moto on 127.0.0.1 with the patches and fault injection installed.
- ``patches``: where moto must behave as AWS does for us (stream records left to our pollers,
  deployed code downloadable, Deny conditions, DynamoDB writes atomic per item); each patch fails
  loudly when the moto internals it replaces change.
- ``usage``: GetUsage, which moto lacks, answered from the embedded gateway's counters.
- ``faults``: Firehose failures switched on by a file, for the failure tests.
"""

from embedded_stack.moto_server.server import MotoServer, port_from_env, port_is_free, start_moto

__all__ = ["MotoServer", "port_from_env", "port_is_free", "start_moto"]
