"""The moto server the embedded stack runs in its own process (so our patches apply to it)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from embedded_stack.moto_server import faults, usage
from embedded_stack.moto_server import patches as moto_patches

HOST = "127.0.0.1"
PORT_ENV = "EMBEDDED_AWS_PORT"


def port_from_env(name: str, default: int) -> int:
    """A TCP port from environment variable ``name`` (0 = any free port); a clear exit when malformed."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name}={raw!r} is not a port number") from exc
    if not 0 <= port <= 65535:
        raise SystemExit(f"{name}={raw!r} is out of range")
    return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now.

    Binds as the servers do (werkzeug and http.server set SO_REUSEADDR): connections of a stopped
    server linger in TIME_WAIT for a minute and would otherwise make its port look taken, so a
    restart could not get its port back.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass
class MotoServer:
    """A started moto server; ``endpoint_url`` is what AWS_ENDPOINT_URL should say."""

    server: ThreadedMotoServer
    endpoint_url: str

    def stop(self) -> None:
        self.server.stop()


def start_moto(port: int | None = None, before_serving: Callable[[], None] | None = None) -> MotoServer:
    """Patch moto, start it on 127.0.0.1 (port: argument, else $EMBEDDED_AWS_PORT, else 4566 or free).

    ``before_serving`` runs once patched and before the first request (a restart loads saved state)."""
    moto_patches.install()
    moto_patches.serialize_dynamodb_writes()
    usage.install()
    faults.install()
    if before_serving is not None:
        before_serving()
    if port is None:
        port = port_from_env(PORT_ENV, default=4566 if port_is_free(4566) else 0)
    if port and not port_is_free(port):
        # ThreadedMotoServer would wait forever for a server that failed to bind.
        raise SystemExit(f"port {port} on {HOST} is in use; set {PORT_ENV} to a free port (0 = any)")
    # werkzeug logs every request at INFO; the stack's console is for function logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    endpoint = f"http://{host}:{bound}"
    moto_patches.set_endpoint_url(endpoint)
    return MotoServer(server=server, endpoint_url=endpoint)
