"""What invokes functions besides the API: stream event source mappings and scheduled rules.

- ``dynamodb_streams``: ``StreamPollers``, one poller per (mapping, shard), following the control plane.
- ``shard_poller``: ``ShardPoller``, batching, retries, bisection and partial batch failures.
- ``records``: the records Lambda delivers and the on-failure record it sends.
- ``settings``: a mapping's settings; ``clients``: the shared clients and on-failure destinations.
- ``schedules``: ``ScheduledRules``, EventBridge's rate and cron rules invoking Lambda targets.
- ``sqs_queues``: ``QueuePollers``, SQS mappings (batches, partial batch responses; moto redrives).
"""

from embedded_stack.event_sources.dynamodb_streams import StreamPollers
from embedded_stack.event_sources.schedules import ScheduledRules
from embedded_stack.event_sources.sqs_queues import QueuePollers

__all__ = ["QueuePollers", "ScheduledRules", "StreamPollers"]
