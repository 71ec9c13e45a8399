# SPDX-License-Identifier: LGPL-2.1-or-later
"""Loopback sockets: free ports, waiting for a port to accept, exact reads."""
import socket
import time


def free_port(addr="127.0.0.1"):
    """A TCP port free on @addr whose UDP twin is free too (opentracker and
    the DHT use the same number for both)."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((addr, 0))
        port = s.getsockname()[1]
    with socket.socket(family, socket.SOCK_DGRAM) as u:
        u.bind((addr, port))
    return port


def wait_tcp(addr, port, timeout, proc=None):
    """True once (addr, port) accepts a connection; False at the deadline
    or when @proc (a procs.Proc that should open it) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=1):
                return True
        except OSError:
            if proc is not None and not proc.alive():
                return False
            time.sleep(0.05)
    return False


def recv_exact(sock, n):
    """Exactly @n bytes from @sock; EOFError if it closes first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def ipv6_loopback():
    """True when ::1 can be bound here."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False
