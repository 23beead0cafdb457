"""The embedded API Gateway REST data plane, configured from the (moto) control plane."""

from scripts.embedded.gateway.controlplane import ControlPlaneError
from scripts.embedded.gateway.server import Gateway

__all__ = ["ControlPlaneError", "Gateway"]
