"""Loopback sockets for the servers a test starts."""

from __future__ import annotations

import socket


def free_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1, handed to the server itself: no window in
    which another test could take the port between choosing it and listening on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock
