"""Open sockets inside a network namespace from the one harness process.

A socket belongs to the namespace it was created in, whatever the creating
thread does afterwards. So the harness switches the *current thread* into a
host's namespace with setns(2), creates and binds the socket, and switches
back at once; asyncio then drives sockets of every host from one loop.

Python 3.11 has no `os.setns` (3.12 does), hence the small ctypes call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from harness.errors import LabError, SetupError

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        if err == errno.EPERM:
            raise SetupError("setns(2) was refused: the harness must run as root (CAP_SYS_ADMIN)")
        raise LabError(f"setns(2) failed: {os.strerror(err)}")


@contextmanager
def netns(name: str | None) -> Iterator[None]:
    """Run the body with this thread inside network namespace `name` (None: stay where we are).

    `name` is a name under /run/netns, or a path such as /proc/<pid>/ns/net.
    """
    if name is None:
        yield
        return
    path = name if name.startswith("/") else f"/run/netns/{name}"
    try:
        target = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if name.startswith("/proc/"):
            raise LabError(f"the process that held network namespace {name} has exited "
                           "(did the target's container stop?)") from None
        raise LabError(f"network namespace {name!r} does not exist (is the lab up?)") from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def udp_socket(ns: str | None, address: str, port: int = 0) -> socket.socket:
    """A non-blocking UDP socket bound to (address, port) inside namespace `ns`.

    Port 0 picks a free port. A port already taken raises SetupError naming it.
    """
    with netns(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        where = f" in namespace {ns}" if ns else ""
        if exc.errno == errno.EADDRINUSE:
            raise SetupError(f"UDP port {address}:{port}{where} is already in use") from None
        raise LabError(f"cannot bind UDP {address}:{port}{where}: {exc.strerror}") from None
    sock.setblocking(False)
    return sock
