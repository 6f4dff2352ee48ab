"""SIPp (Debian ``sip-tester``) as the signalling load generator of ``sbc-harness load``.

Python cannot place hundreds of calls a second; SIPp can. The harness writes
its own two scenarios instead of using SIPp's built-in ``uac``/``uas``, because
those ignore Record-Route (LAB-NOTES: they fail behind a record-routing proxy):
here the caller stores the route set from the 200 (``rrs``) and sends ACK and
BYE along it (``[routes]``, ``[next_url]``), and the callee copies the
Record-Route into its 200.

With media, each side streams a G.711 u-law WAV with SIPp's ``rtp_stream``
(SIPp 3.6 sends every call's stream from the one ``-mp`` port) toward the
address the other side's SDP named, so a relaying target carries real RTP for
every call.

Both SIPp processes run inside the lab's namespaces, are registered with the
lab (a crashed run's SIPp is stopped by the next run's clean-up), are bounded
by ``-m`` (calls) and ``-timeout`` (seconds), and are stopped by PID.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError, MissingToolError
from harness.lab import Lab
from harness.lab.netns import stop_process
from harness.media.g711 import tone, ulaw_encode

SIPP = "sipp"
SIPP_PACKAGE = "sip-tester"

_SDP = """v=0
o=sipp-load [pid][call_number] 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
a=sendrecv
"""


def _stream(wav: Path | None) -> str:
    if wav is None:
        return ""
    return (f'  <nop><action><exec rtp_stream="{wav},-1,0"/></action></nop>\n')


def uac_scenario(request_uri: str, hold_ms: int, wav: Path | None) -> str:
    """INVITE with SDP, optional 1xx, 200 (route set stored), ACK, media, hold, BYE.

    The setup time SIPp measures (rtd "setup") is only a cross-check: SIPp rounds
    it (LAB-NOTES), so the figures come from the capture.
    """
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sbc-harness load caller">
  <send retrans="500" start_rtd="setup">
    <![CDATA[
INVITE {request_uri} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "load" <sip:load@[local_ip]:[local_port]>;tag=[pid]L[call_number]
To: <{request_uri}>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:load@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: sbc-harness load (SIPp)
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="setup"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: "load" <sip:load@[local_ip]:[local_port]>;tag=[pid]L[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:load@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
{_stream(wav)}  <pause milliseconds="{hold_ms}"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
[routes]
From: "load" <sip:load@[local_ip]:[local_port]>;tag=[pid]L[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:load@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""


def uas_scenario(wav: Path | None) -> str:
    """Answer every INVITE with 200 and SDP (Record-Route copied), await ACK and BYE."""
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="sbc-harness load callee">
  <recv request="INVITE" crlf="true"/>
  <send retrans="500">
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_Record-Route:]
[last_From:]
[last_To:];tag=[pid]U[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP}
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
{_stream(wav)}  <recv request="BYE"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

    ]]>
  </send>
</scenario>
"""


def write_ulaw_wav(path: Path, seconds: float = 2.0, tone_hz: float = 440.0) -> Path:
    """A mono 8 kHz G.711 u-law WAV (format tag 7) holding a tone, for ``rtp_stream``."""
    n = int(8000 * seconds)
    data = ulaw_encode(tone(tone_hz, n))
    fmt = struct.pack("<HHIIHHH", 7, 1, 8000, 8000, 1, 8, 0)
    fact = struct.pack("<I", n)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"fact" + struct.pack("<I", len(fact)) + fact
            + b"data" + struct.pack("<I", len(data)) + data)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@dataclass(frozen=True)
class SippStats:
    """The last line of SIPp's statistics file (``-trace_stat``), the fields we use."""

    created: int
    successful: int
    failed: int
    retransmissions: int
    failures: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SippStats:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) < 2:
            raise HarnessError(f"SIPp's statistics file has no data line ({len(lines)} lines)")
        names = lines[0].rstrip(";").split(";")
        values = dict(zip(names, lines[-1].rstrip(";").split(";"), strict=False))

        def num(name: str) -> int:
            try:
                return int(values.get(name, "0") or 0)
            except ValueError:
                raise HarnessError(f"SIPp's statistics: {name} is not a number: "
                                   f"{values.get(name)!r}") from None

        failures = {k.removeprefix("Failed").removesuffix("(C)"): num(k) for k in names
                    if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)"
                    and num(k)}
        return cls(num("TotalCallCreated"), num("SuccessfulCall(C)"), num("FailedCall(C)"),
                   num("Retransmissions(C)"), failures)


@dataclass
class SippProcess:
    """One SIPp process in a lab namespace, registered with the lab, stopped by PID."""

    lab: Lab
    host: str
    name: str
    argv: list[str]
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.out"

    def start(self) -> None:
        if shutil.which(SIPP) is None:
            raise MissingToolError(SIPP, SIPP_PACKAGE)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.lab.netns(self.host), SIPP, *self.argv],
                cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self._record = self.lab.register_process(self.proc.pid, f"sipp {self.name}")

    async def wait(self, timeout: float) -> int | None:
        """The exit status, or None if it was still running after `timeout` s (then stopped)."""
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.proc.poll() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        code = self.proc.poll()
        if code is None:
            await self.stop()
        return code

    async def stop(self) -> None:
        if self.proc is None:
            return
        await asyncio.to_thread(stop_process, self._record)
        self.proc.poll()
        self.lab.forget_process(self._record)

    def output_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stats(self) -> SippStats:
        files = sorted(self.workdir.glob(f"{self.name}*_.csv"))
        if not files:
            raise HarnessError(f"SIPp ({self.name}) wrote no statistics file in {self.workdir}; "
                               f"its output:\n{self.output_tail()}")
        return SippStats.parse(files[-1].read_text(errors="replace"))
