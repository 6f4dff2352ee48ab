"""A minimal client for rtpengine's ng control protocol (bencode over UDP).

Used by the process launcher to tell that rtpengine is ready (`ping` ->
`pong`) and by lab experiments. Hand-written: the protocol is a cookie, a
space and a bencoded dictionary, and no maintained library covers it.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from harness.net import udp_socket

Bencodable = bytes | str | int | list[Any] | dict[str, Any]


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
