"""Lambda's event source mappings: the pollers that feed functions from DynamoDB streams.

- ``dynamodb_streams``: ``StreamPollers``, one poller per (mapping, shard), following the control plane.
- ``shard_poller``: ``ShardPoller``, batching, retries, bisection and partial batch failures.
- ``records``: the records Lambda delivers and the on-failure record it sends.
- ``settings``: a mapping's settings; ``clients``: the shared clients and on-failure destinations.
"""

from embedded_stack.event_sources.dynamodb_streams import StreamPollers

__all__ = ["StreamPollers"]
