"""The embedded API Gateway REST data plane, configured from the (moto) control plane."""

from embedded_stack.apigateway.controlplane import ControlPlaneError
from embedded_stack.apigateway.server import Gateway

__all__ = ["ControlPlaneError", "Gateway"]
