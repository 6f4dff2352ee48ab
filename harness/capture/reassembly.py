"""IPv4 reassembly (RFC 791) for the capture reader, by hand.

Hand-written for the same reason as the reader (`harness.capture.pcap`): the harness
judges the target from exactly the bytes on the wire, so which frames make up a
datagram, which repeated fragment is harmless and which overlap is a conflict are
decided here byte by byte, where a test can see every choice, not inside a dissector.

Within one capture file, fragments (MF set or a non-zero offset) are held by
(source, destination, protocol, identification). A datagram is complete when its
pieces cover offset 0 up to the end of the piece with MF clear without a hole.
Pieces may overlap as long as their bytes agree (a fragment seen twice is a
duplicate, nothing more); bytes that disagree, two different ends, or data past the
end make the datagram fail with ``"ip_fragment_overlap"``, and a datagram longer
than 65535 bytes (header included) fails with ``"malformed_ipv4"``. A failed
datagram keeps every later fragment with its key, so all its frames are reported
with its reason. A fragment that repeats part of a datagram already complete (a
late duplicate) joins that datagram instead of opening a new one. There is no
reassembly timeout: nothing is given up before the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Datagram", "Fragment", "Key", "MAX_DATAGRAM", "Reassembler"]

#: (source address, destination address, IP protocol, identification).
Key = tuple[str, str, int, int]
#: The largest IPv4 datagram, header included (the total length field is 16 bits).
MAX_DATAGRAM = 0xFFFF


@dataclass(frozen=True)
class Fragment:
    """One fragment frame: its frame number and time, and where its data goes."""

    frame: int
    ts: float
    offset: int  # in bytes (the header's offset field times 8)
    data: bytes
    more: bool  # the MF flag

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass
class Datagram:
    """The fragments held under one key, and once complete the rebuilt data.

    `data` is the IP payload (what follows the header of the first fragment), None
    until complete. `failure` is why it never will be. `outcome` is left to the
    reader: what it made of the complete datagram (None until it has decided).
    """

    key: Key
    fragments: list[Fragment] = field(default_factory=list)
    header_len: int = 20
    length: int | None = None  # of the data, known once a piece with MF clear is in
    failure: str | None = None
    data: bytes | None = None
    outcome: int | str | None = None

    def frames(self) -> tuple[int, ...]:
        """The frame numbers of the fragments in offset order (duplicates by frame)."""
        return tuple(f.frame for f in sorted(self.fragments, key=lambda f: (f.offset, f.frame)))

    def take(self, fragment: Fragment, header_len: int) -> None:
        """Hold `fragment`, failing the datagram if it conflicts with what is held."""
        held = self.fragments
        self.fragments = [*held, fragment]
        if self.failure is not None:
            return
        if fragment.offset == 0:
            self.header_len = header_len
        if not fragment.more:
            if self.length is not None and self.length != fragment.end:
                self.failure = "ip_fragment_overlap"
                return
            self.length = fragment.end
        if self.length is not None and max(f.end for f in self.fragments) > self.length:
            self.failure = "ip_fragment_overlap"
            return
        if self.header_len + max(f.end for f in self.fragments) > MAX_DATAGRAM:
            self.failure = "malformed_ipv4"
            return
        for other in held:
            lo, hi = max(other.offset, fragment.offset), min(other.end, fragment.end)
            if lo < hi and (other.data[lo - other.offset : hi - other.offset]
                            != fragment.data[lo - fragment.offset : hi - fragment.offset]):
                self.failure = "ip_fragment_overlap"
                return

    def assemble(self) -> bytes | None:
        """The data if the pieces cover 0 to `length` without a hole, else None."""
        if self.length is None or self.failure is not None:
            return None
        covered = 0
        for f in sorted(self.fragments, key=lambda f: f.offset):
            if f.offset > covered:
                return None
            covered = max(covered, f.end)
        if covered < self.length:
            return None
        data = bytearray(self.length)
        for f in self.fragments:  # they agree wherever they overlap
            data[f.offset : f.end] = f.data
        return bytes(data)

    def repeats(self, fragment: Fragment) -> bool:
        """Whether `fragment` is a copy of part of this complete datagram."""
        data = self.data
        return (data is not None and fragment.end <= len(data)
                and fragment.more == (fragment.end < len(data))
                and data[fragment.offset : fragment.end] == fragment.data)


class Reassembler:
    """The fragments of one capture file, held until their datagrams are complete."""

    def __init__(self) -> None:
        self.pending: dict[Key, Datagram] = {}
        self.complete: dict[Key, list[Datagram]] = {}

    def add(self, key: Key, fragment: Fragment, header_len: int) -> Datagram | None:
        """Hold `fragment` (sent with an IP header of `header_len` bytes).

        Return its datagram when `fragment` completes it (`outcome` still None) or
        repeats part of one complete before (`outcome` already set); else None.
        """
        for done in self.complete.get(key, ()):
            if done.repeats(fragment):
                done.fragments.append(fragment)
                return done
        datagram = self.pending.setdefault(key, Datagram(key))
        datagram.take(fragment, header_len)
        data = datagram.assemble()
        if data is None:
            return None
        datagram.data = data
        del self.pending[key]
        self.complete.setdefault(key, []).append(datagram)
        return datagram

    def leftovers(self) -> list[tuple[Key, Fragment, str]]:
        """Every fragment of a datagram never completed, with the reason it stays unread:
        the datagram's failure, else ``"ip_fragment"``."""
        return [(d.key, f, d.failure or "ip_fragment")
                for d in self.pending.values() for f in d.fragments]
