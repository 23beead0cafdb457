"""API Gateway REST's data plane, configured from the (moto) control plane: what a deployed stage serves.

- ``server``: ``Gateway``, the HTTP server for one stage; ``pipeline``: one request through API
  Gateway's checks in its order (route, API key, throttle, quota, validation, integration).
- ``controlplane``: the stage as the control plane has it (methods, keys, plans, models, responses).
- ``framing``: the request body read by HTTP/1.1's framing rules, strictly (400 when it cannot be).
- ``request``: the request as received; ``events``: ``rest_proxy_event``, the Lambda proxy event
  (the gateway, the unit tests and the benchmarks all build theirs with it).
- ``routing``, ``limits`` (token buckets, quotas), ``validation`` (with ``validation_messages``, the
  validator's wording), ``responses`` (proxy responses, gateway responses), ``accesslog``, ``mock``
  with ``vtl``/``vtl_parser`` (MOCK integrations).
"""

from embedded_stack.apigateway.controlplane import ControlPlaneError
from embedded_stack.apigateway.events import rest_proxy_event
from embedded_stack.apigateway.server import Gateway

__all__ = ["ControlPlaneError", "Gateway", "rest_proxy_event"]
