"""A minimal client for rtpengine's ng control protocol (bencode over UDP).

Used by the process launcher to tell that rtpengine is ready (`ping` ->
`pong`), by the plugin to read the calls a target holds after each case (`list`,
`ng_list_calls`) and by lab experiments. Hand-written: the protocol is a cookie, a
space and a bencoded dictionary, and no maintained library covers it.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from harness.errors import HarnessError
from harness.net import udp_socket

Bencodable = bytes | str | int | list[Any] | dict[str, Any]


class NgError(HarnessError):
    """An ng control socket could not be read: unreachable, silent, or an odd reply (the
    harness cannot tell what the target holds: BROKEN, never a verdict on the target)."""


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode(), v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes) -> Any:
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencoded value at offset {end}")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    if i >= len(data):
        raise ValueError("bencoded value is truncated")
    head = data[i : i + 1]
    if head == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if head == b"l":
        items: list[Any] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        return items, i + 1
    if head == b"d":
        result: dict[str, Any] = {}
        i += 1
        while data[i : i + 1] != b"e":
            key, i = _decode(data, i)
            result[key.decode()], i = _decode(data, i)
        return result, i + 1
    if head.isdigit():
        colon = data.index(b":", i)
        length = int(data[i:colon])
        start = colon + 1
        if start + length > len(data):
            raise ValueError("bencoded string is truncated")
        return data[start : start + length], start + length
    raise ValueError(f"unexpected byte {head!r} at offset {i}")


async def ng_command(
    netns: str | None, address: tuple[str, int], command: dict[str, Any], timeout: float = 1.0
) -> dict[str, Any]:
    """Send one ng command from inside `netns` and return the decoded reply dictionary."""
    loop = asyncio.get_running_loop()
    sock = udp_socket(netns, "127.0.0.1", 0)
    try:
        cookie = secrets.token_hex(6).encode()
        await loop.sock_sendto(sock, cookie + b" " + bencode(command), address)
        while True:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout)
            got_cookie, _, body = data.partition(b" ")
            if got_cookie == cookie:
                reply = bdecode(body)
                if not isinstance(reply, dict):
                    raise ValueError("ng reply is not a dictionary")
                return reply
    finally:
        sock.close()


#: How many call-ids `ng_list_calls` asks for: rtpengine's default is 32; a thousand
#: call-ids of the harness's length (~30 bytes) still fit one UDP datagram.
LIST_LIMIT = 1000


async def ng_list_calls(netns: str | None, address: str, *, limit: int = LIST_LIMIT,
                        timeout: float = 1.0) -> list[str]:
    """The call-ids rtpengine at `address` ("host:port", reached from `netns`) holds now,
    from its ``list`` command (at most `limit`). An unreachable socket, a silence or a
    reply without a list raises `NgError`, in words naming the address."""
    host, _, port = address.rpartition(":")
    try:
        reply = await ng_command(netns, (host, int(port)), {"command": "list", "limit": limit},
                                 timeout)
    except TimeoutError:
        raise NgError(f"ng control socket {address}: no reply to 'list' within "
                      f"{timeout:.1f} s") from None
    except (OSError, ValueError) as exc:
        raise NgError(f"ng control socket {address}: {exc}") from None
    calls = reply.get("calls")
    if reply.get("result") != b"ok" or not isinstance(calls, list):
        raise NgError(f"ng control socket {address}: 'list' was answered with "
                      f"{_words(reply)}, not a list of calls")
    return [c.decode(errors="replace") if isinstance(c, bytes) else str(c) for c in calls]


def _words(reply: dict[str, Any]) -> str:
    """A reply's result and reason, for an error message."""
    result = reply.get("result", b"?")
    reason = reply.get("error-reason", b"")
    text = result.decode(errors="replace") if isinstance(result, bytes) else str(result)
    if isinstance(reason, bytes) and reason:
        text += f" ({reason.decode(errors='replace')})"
    return repr(text)

